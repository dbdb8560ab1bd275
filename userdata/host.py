"""A whole LXD host described in one value, and the user_data it boots with.

`HostSpec` -> `build_cloud_config` -> `CloudConfig` -> `render_host` text. The first boot writes
the bridge files, installs what is missing and initialises LXD. Then the bridge takes the NIC's
address in one of two ways (`bring_up`):

- `reboot` (the blog's): `power_state` reboots once cloud-init has finished, and the second
  boot starts with the address on the bridge;
- `in-place`: runcmd's first command applies the bridge files in the running boot, and waits
  until the bridge holds the NIC's address and MAC. No second boot.

Either way the files on disk are the same, so a later reboot brings the host up the same way.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from userdata.cloudconfig import (
    CloudConfig,
    Command,
    Lxd,
    PowerState,
    StorageBackend,
    WriteFile,
    check_size,
    command_problems,
    is_lxd_name,
    package_problems,
    render_cloud_config,
    ssh_key_problems,
)
from userdata.lxd import (
    PRIVATE_KEY_LABELS,
    TRUST_PATH,
    LxdProfile,
    LxdTrust,
    https_address,
    module_form,
    pem_problem,
    preseed,
)
from userdata.network import BRING_UP_PATH, READY_PATH, HostBridge, NetworkRenderer
from userdata.options import HostOption, host_options, option
from userdata.validation import Problem, UserDataError, Validated, raise_problems

Distro = Literal["ubuntu", "debian"]
LxdInitForm = Literal["preseed", "module"]
BringUp = Literal["reboot", "in-place"]

# What each distro's images bridge with when `host_network` is not given.
DEFAULT_HOST_NETWORK: dict[str, NetworkRenderer] = {"ubuntu": "netplan", "debian": "ifupdown"}


@dataclass(frozen=True)
class HostSpec(Validated):
    """Everything that decides an LXD host's user_data; the defaults are the blog's choices.

    Each field is a host option (`userdata.options`): a host file's key, and where declared
    `stack=True` a stack's `lxdhost:` key too.
    """

    distro: Distro = option(
        "ubuntu",
        "Distribution of the host's image: decides how the bridge is written by default and "
        "which packages the host adds",
        stack=True,
    )
    host_network: NetworkRenderer | None = option(
        None,
        "How the host's bridge is written: `netplan` or `ifupdown`; unset: the distro's own "
        "(ubuntu: netplan, debian: ifupdown)",
        stack=True,
    )
    interface: str | None = option(
        None,
        "The NIC bridged into the bridge, by name; unset: the NIC with `macaddress` (on a "
        "stack, its host's Neutron port's MAC), whatever the guest named it, or `ens3` without "
        "one",
        stack=True,
    )
    bridge: str = option("br0", "The bridge that takes the NIC's DHCP address")
    mtu: int | None = option(
        None,
        "MTU of the host's NIC and bridge (and of a stack's container slots); unset: the "
        "network's, as Neutron reports it",
        stack=True,
    )
    macaddress: str | None = option(
        None, "The Neutron port's MAC, pinned on the bridge (port security drops any other)"
    )
    # The blog did neither (its interfaces file simply shadows cloud-init's); seed.yaml says so.
    disable_cloud_init_network: bool = option(
        True,
        "Write 99-disable-network-config.cfg and neutralise cloud-init's own network file",
    )
    # The blog did not: its hosts' sudo warned that it could not resolve the host's name.
    manage_etc_hosts: bool = option(
        True,
        "Keep the host's own name in /etc/hosts (cloud-init's `manage_etc_hosts: localhost`)",
    )
    # The blog did not: its host rebooted into the bridge whatever cloud-init had managed.
    fail_safe: bool = option(
        True,
        "Bring the bridge up (at the reboot, or in place) only once the layout's tools and LXD "
        "are installed; otherwise the host keeps the network it booted with",
    )
    lxd_init: LxdInitForm = option(
        "preseed",
        "How LXD is initialised: `preseed` (a full `lxd init --preseed`: pool, default profile "
        "and extra profiles) or `module` (cloud-init's lxd `init` + `bridge`, the blog's form)",
        stack=True,
    )
    storage_backend: StorageBackend = option(
        "dir", "Driver of LXD's storage pool (cloud-init's `storage_backend`)", stack=True
    )
    storage_pool: str = option("default", "Name of LXD's storage pool")
    # Preseed: core.https_address; module: init.network_address/network_port.
    lxd_api_address: str | None = option(
        None,
        "IP address LXD's API listens on for remote `lxc` clients; unset: the local socket only",
    )
    lxd_api_port: int = option(
        8443,
        "TCP port of LXD's API for remote `lxc` clients, when it listens on the network (on a "
        "stack: when `lxdApiIngress` opens it)",
        stack=True,
    )
    lxd_server_certificate: str | None = option(
        None,
        "PEM certificate LXD serves its API with, written before LXD first starts; unset: LXD "
        "makes its own",
        kind="PEM text",
    )
    lxd_server_key: str | None = option(
        None,
        "PEM private key of `lxd_server_certificate` (it travels in the user_data, which the "
        "project's members can read through Nova)",
        kind="PEM text",
    )
    lxd_trusted_certificates: tuple[str, ...] = option(
        (),
        "PEM client certificates LXD trusts (`lxc config trust add`, once LXD is up): with no "
        "trust password, the only clients its API lets in over the network; needs "
        "`lxd_server_certificate`",
        kind="list of PEM texts",
    )
    packages: tuple[str, ...] = option(
        (), "Extra Debian/Ubuntu packages to install on the host", stack=True
    )
    package_update: bool = option(False, "Run apt-get update even with no packages to install")
    package_upgrade: bool = option(False, "Upgrade the installed packages on the first boot")
    ssh_authorized_keys: tuple[str, ...] = option((), "Public keys for the default user")
    profiles: tuple[LxdProfile, ...] = option(
        (),
        "Other LXD profiles: {name, description, config: {key: string}, devices: {name: "
        "{key: string}}}; bridged NICs without a parent get the bridge",
        kind="list of mappings",
    )
    runcmd: tuple[Command, ...] = option(
        (), "Extra commands (shell lines or argv lists), run last", kind="list of commands"
    )
    bring_up: BringUp = option(
        "reboot",
        "How the bridge takes the NIC's address on the first boot: `reboot` (once cloud-init "
        "has finished) or `in-place` (applied from runcmd's first command, no second boot)",
        stack=True,
    )
    reboot_message: str = option(
        "Bye Bye", "power_state's message for the one reboot (`bring_up`: `reboot`)"
    )
    reboot_timeout: int = option(
        60, "Seconds power_state waits for cloud-init to finish (`bring_up`: `reboot`)"
    )

    def __post_init__(self) -> None:
        # Callers build lists (YAML, Pulumi config): keep the value immutable and comparable.
        for spec_field in dataclasses.fields(self):
            value = getattr(self, spec_field.name)
            if isinstance(value, list):
                frozen = tuple(tuple(v) if isinstance(v, list) else v for v in value)
                object.__setattr__(self, spec_field.name, frozen)

    @property
    def effective_host_network(self) -> NetworkRenderer:
        return self.host_network or DEFAULT_HOST_NETWORK.get(self.distro, "netplan")

    def lxd_https_address(self) -> str | None:
        if self.lxd_api_address is None:
            return None
        return https_address(self.lxd_api_address, self.lxd_api_port)

    def host_bridge(self) -> HostBridge:
        return HostBridge(
            renderer=self.effective_host_network,
            interface=self.interface,
            bridge=self.bridge,
            mtu=self.mtu,
            macaddress=self.macaddress,
            disable_cloud_init_network=self.disable_cloud_init_network,
            # Debian's image bridges with ifupdown, which would read cloud-init's interfaces.d.
            replace_interfaces=self.distro == "debian" and self.effective_host_network == "netplan",
        )

    def value_problems(self, where: str = "") -> list[Problem]:
        # Types are checked already (Validated.problems): distro, lxd_init, storage_backend and
        # host_network are Literal choices, so only values beyond the types are left here.
        found = self.host_bridge().problems()
        if not is_lxd_name(self.storage_pool):
            found.append(Problem("storage_pool", f"{self.storage_pool!r} is not an LXD name"))
        names = [profile.name for profile in self.profiles]
        for index, profile in enumerate(self.profiles):
            at = f"profiles[{index}]"
            found.extend(profile.problems(at, bridge=self.bridge))
            if profile.name == "default":
                found.append(
                    Problem(f"{at}.name", "'default' is the profile the host builds itself")
                )
            elif profile.name in names[:index]:
                found.append(Problem(f"{at}.name", f"{profile.name!r} is declared twice"))
        hwaddrs = [
            (index, device.get("hwaddr"))
            for index, profile in enumerate(self.profiles)
            if isinstance(profile.devices, Mapping)
            for device in profile.devices.values()
            if isinstance(device, Mapping) and device.get("hwaddr")
        ]
        seen: dict[object, int] = {}
        for index, hwaddr in hwaddrs:
            if hwaddr in seen:
                found.append(
                    Problem(
                        f"profiles[{index}]", f"hwaddr {hwaddr} is also profiles[{seen[hwaddr]}]'s"
                    )
                )
            seen.setdefault(hwaddr, index)
            if hwaddr == self.macaddress:
                found.append(
                    Problem(f"profiles[{index}]", f"hwaddr {hwaddr} is the host's own macaddress")
                )
        if self.lxd_api_address is not None:
            try:
                ipaddress.ip_address(self.lxd_api_address)
            except ValueError:
                found.append(
                    Problem("lxd_api_address", f"{self.lxd_api_address!r} is not an IP address")
                )
        if not 0 < self.lxd_api_port < 65536:
            found.append(
                Problem("lxd_api_port", f"{self.lxd_api_port!r} is not a TCP port (1-65535)")
            )
        found.extend(self._trust_problems())
        found.extend(package_problems(self.packages, "packages"))
        found.extend(ssh_key_problems(self.ssh_authorized_keys, "ssh_authorized_keys"))
        found.extend(command_problems(self.runcmd, "runcmd"))
        if self.reboot_timeout < 0:
            found.append(
                Problem("reboot_timeout", f"{self.reboot_timeout!r} is not whole seconds >= 0")
            )
        return found

    def _trust_problems(self) -> list[Problem]:
        found = []
        certificate, key = self.lxd_server_certificate, self.lxd_server_key
        if (certificate is None) != (key is None):
            missing = "lxd_server_key" if key is None else "lxd_server_certificate"
            found.append(Problem(missing, "set lxd_server_certificate and lxd_server_key together"))
        if certificate is not None:
            problem = pem_problem(certificate, "lxd_server_certificate", "CERTIFICATE")
            found.extend([problem] if problem else [])
        if key is not None:
            problem = pem_problem(key, "lxd_server_key", *PRIVATE_KEY_LABELS)
            found.extend([problem] if problem else [])
        if self.lxd_trusted_certificates and certificate is None:
            found.append(
                Problem(
                    "lxd_trusted_certificates",
                    "needs lxd_server_certificate: a client pins the certificate it trusts",
                )
            )
        for index, trusted in enumerate(self.lxd_trusted_certificates):
            problem = pem_problem(trusted, f"lxd_trusted_certificates[{index}]", "CERTIFICATE")
            found.extend([problem] if problem else [])
        return found

    def lxd_trust(self) -> LxdTrust | None:
        """LXD's own certificate and the clients it trusts, when the spec sets them."""
        if self.lxd_server_certificate is None or self.lxd_server_key is None:
            return None
        return LxdTrust(
            server_certificate=self.lxd_server_certificate,
            server_key=self.lxd_server_key,
            trusted_certificates=tuple(self.lxd_trusted_certificates),
            distro=self.distro,
        )


# Every HostSpec field as a user sets it: the host file's keys, and the stack's host options.
HOST_OPTIONS: tuple[HostOption, ...] = host_options(HostSpec)


def required_packages(spec: HostSpec) -> tuple[str, ...]:
    """Packages the host's own setup needs, before the user's."""
    needed = []
    if spec.effective_host_network == "ifupdown":
        needed.append("bridge-utils")  # ifupdown's bridge_ports comes from bridge-utils' hooks
    if spec.distro == "debian":
        if spec.effective_host_network == "netplan":
            needed.append("netplan.io")
        # Debian 12 packages LXD 5.0; Ubuntu's lxd module installs the snap when lxd is missing.
        needed.append("lxd")
    return tuple(needed)


def build_cloud_config(spec: HostSpec) -> CloudConfig:
    """The cloud-config document for a host; raises UserDataError listing every bad field."""
    raise_problems(spec.problems())
    bridge = spec.host_bridge()
    # The bridge comes up (at the reboot, or in place) only once the layout's tools and LXD are
    # installed: a host whose packages failed keeps the network it booted with.
    write_files: list[WriteFile] = list(bridge.files())
    if spec.fail_safe:
        write_files.append(bridge.ready_file("lxd"))
    runcmd: list[Command] = []
    bootcmd: list[Command] = []
    power_state = None
    if spec.bring_up == "in-place":
        # First in runcmd: after the packages (bridge-utils, netplan.io) and before phone-home.
        # cloud-init runs runcmd as one script whose status is its last command's, so a failed
        # bring-up stops it here rather than being hidden by the commands after it.
        write_files.append(bridge.bring_up_file(fail_safe=spec.fail_safe))
        runcmd.append(f"{BRING_UP_PATH} || exit 1")
    else:
        # The bridge files take effect on this one reboot, once cloud-init has finished.
        power_state = PowerState(
            delay="now",
            mode="reboot",
            message=spec.reboot_message,
            timeout=spec.reboot_timeout,
            condition=READY_PATH if spec.fail_safe else True,
        )
    if spec.lxd_init == "preseed":
        lxd = Lxd(
            preseed=preseed(
                bridge=spec.bridge,
                storage_backend=spec.storage_backend,
                storage_pool=spec.storage_pool,
                profiles=spec.profiles,
                https_address=spec.lxd_https_address(),
            )
        )
    else:
        form = module_form(
            bridge=spec.bridge,
            storage_backend=spec.storage_backend,
            storage_pool=spec.storage_pool,
            profiles=spec.profiles,
            network_address=spec.lxd_api_address,
            network_port=spec.lxd_api_port,
            macaddress=spec.macaddress,
            # Debian 12's LXD 5.0 makes lxdbr0 in `lxd init --auto` (seen booting it); the
            # seed example keeps the blog's Ubuntu 16.04 document, of the LXD 2.0 era.
            lxd_init_creates_lxdbr0=spec.distro == "debian",
        )
        lxd = form.lxd
        write_files.extend(form.write_files)
        runcmd.extend(form.runcmd)
        bootcmd.extend(form.bootcmd)
    trust = spec.lxd_trust()
    if trust is not None:
        # Its certificate before LXD first starts (write_files runs before the packages and the
        # lxd module); its trust once LXD is initialised, before the user's own commands.
        write_files.extend(trust.files())
        runcmd.append(f"{TRUST_PATH} || exit 1")
    runcmd.extend(spec.runcmd)
    # Each package once, the host's own first: a repeat is harmless, so it is not an error.
    packages = tuple(dict.fromkeys((*required_packages(spec), *spec.packages)))
    return CloudConfig(
        manage_etc_hosts="localhost" if spec.manage_etc_hosts else False,
        package_update=spec.package_update,
        package_upgrade=spec.package_upgrade,
        packages=packages,
        ssh_authorized_keys=tuple(spec.ssh_authorized_keys),
        write_files=tuple(write_files),
        # cloud-init lists lxd as verified on ubuntu only and silently skips it elsewhere.
        unverified_modules=("lxd",) if spec.distro == "debian" else (),
        bootcmd=tuple(bootcmd),
        lxd=lxd,
        runcmd=tuple(runcmd),
        power_state=power_state,
    )


def render_host(spec: HostSpec) -> str:
    """The host's user_data: deterministic `#cloud-config` text within Nova's size limit."""
    text = render_cloud_config(build_cloud_config(spec))
    check_size(text)
    return text


__all__ = [
    "DEFAULT_HOST_NETWORK",
    "HOST_OPTIONS",
    "BringUp",
    "HostSpec",
    "UserDataError",
    "build_cloud_config",
    "render_host",
    "required_packages",
]

"""LXD on the host: a preseed for `lxd init --preseed` (the default) or the blog's `lxd:` module.

Both leave LXD's default profile with `eth0` bridged to the host bridge, so containers sit
directly on the tenant network. Extra profiles ("slots": a fixed MAC and a static address for a
container) go into the preseed; in the module form, where cloud-init's lxd module cannot declare
profiles, each is written as a file and loaded by `runcmd`, which runs after the lxd module.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from userdata.cloudconfig import (
    Command,
    Lxd,
    LxdBridge,
    LxdInit,
    RenderedPreseed,
    StorageBackend,
    WriteFile,
    is_interface_name,
    is_lxd_name,
)
from userdata.network import MAX_MTU, MIN_MTU, is_mtu, mac_problem, render_template
from userdata.validation import Problem, Validated, raise_problems
from userdata.yamltext import dump_yaml

PROFILE_DIR = "/etc/lxd-profiles"
# LXD 5.0 rejects unknown `cloud-init.*` keys; every LXD passes `user.network-config` on.
NETWORK_CONFIG_KEY = "user.network-config"


@dataclass(frozen=True)
class LxdProfile:
    """An LXD profile as `lxc profile show` prints it (config and devices are string maps).

    A bridged NIC device without `parent` is bound to the host's bridge when the host renders.
    """

    name: str
    devices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    config: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def bound_to(self, bridge: str) -> LxdProfile:
        """This profile with every bridged NIC that names no parent attached to `bridge`."""
        devices = {
            name: (
                {**device, "parent": bridge}
                if device.get("nictype") == "bridged" and "parent" not in device
                else device
            )
            for name, device in self.devices.items()
        }
        return replace(self, devices=devices)

    def problems(self, where: str, bridge: str | None = None) -> list[Problem]:
        found = []
        if not isinstance(self.name, str) or not is_lxd_name(self.name):
            found.append(Problem(f"{where}.name", f"{self.name!r} is not an LXD profile name"))
        if not isinstance(self.description, str):
            found.append(Problem(f"{where}.description", f"{self.description!r} is not a string"))
        if not isinstance(self.devices, Mapping) or not isinstance(self.config, Mapping):
            found.append(Problem(where, "devices and config must be mappings"))
            return found
        for device_name, device in sorted(self.devices.items(), key=lambda item: str(item[0])):
            at = f"{where}.devices.{device_name}"
            if not isinstance(device, Mapping) or "type" not in device:
                found.append(Problem(at, "a device needs a type (nic, disk, ...)"))
                continue
            for key, value in sorted(device.items()):
                if not isinstance(value, str):
                    found.append(
                        Problem(f"{at}.{key}", f"{value!r} must be a string (LXD device keys are)")
                    )
            if device.get("type") == "nic" and "hwaddr" in device:
                problem = mac_problem(device["hwaddr"], f"{at}.hwaddr")
                if problem:
                    found.append(problem)
            parent = device.get("parent")
            if (
                bridge is not None
                and device.get("nictype") == "bridged"
                and parent is not None
                and parent != bridge
            ):
                found.append(
                    Problem(f"{at}.parent", f"{parent!r} is not the host's bridge {bridge!r}")
                )
        for key, value in sorted(self.config.items(), key=lambda item: str(item[0])):
            if not isinstance(value, str):
                found.append(Problem(f"{where}.config.{key}", f"{value!r} must be a string"))
        return found

    def to_dict(self) -> dict[str, Any]:
        """Keys sorted as LXD prints them, whatever order the caller built the maps in."""
        return {
            "name": self.name,
            "description": self.description,
            "config": {key: self.config[key] for key in sorted(self.config)},
            "devices": {
                name: {key: self.devices[name][key] for key in sorted(self.devices[name])}
                for name in sorted(self.devices)
            },
        }


def container_network_config(
    address: str,
    gateway: str | None,
    nameservers: tuple[str, ...] = (),
    *,
    hwaddr: str | None = None,
    interface: str = "eth0",
    mtu: int | None = None,
) -> str:
    """A container's cloud-init network config, version 1 (every cloud-init reads it)."""
    subnet: dict[str, Any] = {"type": "static", "address": address}
    if gateway:
        subnet["gateway"] = gateway
    if nameservers:
        subnet["dns_nameservers"] = list(nameservers)
    nic: dict[str, Any] = {"type": "physical", "name": interface}
    if hwaddr:
        nic["mac_address"] = hwaddr
    if mtu:
        nic["mtu"] = mtu
    nic["subnets"] = [subnet]
    return dump_yaml({"version": 1, "config": [nic]})


# Every slot of a host names the same gateway and nameservers: parse each text once.
_ip_address = functools.lru_cache(maxsize=256)(ipaddress.ip_address)


@dataclass(frozen=True)
class ContainerSlotProfile(Validated):
    """What a container slot profile is made from (a host file's `slots` items)."""

    name: str
    hwaddr: str
    address: str  # IP/prefix
    gateway: str | None = None
    nameservers: tuple[str, ...] = ()
    mtu: int | None = None
    bridge: str | None = None  # None: the host's, filled in when the host renders
    interface: str = "eth0"

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if not is_lxd_name(self.name):
            found.append(Problem(f"{where}.name", f"{self.name!r} is not an LXD profile name"))
        problem = mac_problem(self.hwaddr, f"{where}.hwaddr")
        if problem:
            found.append(problem)
        network = None
        try:
            own = ipaddress.ip_interface(self.address)
            if "/" in self.address:
                network = own.network
            else:
                found.append(
                    Problem(
                        f"{where}.address",
                        f"{self.address!r} needs a prefix length (192.168.0.101/24)",
                    )
                )
        except ValueError:
            found.append(
                Problem(f"{where}.address", f"{self.address!r} is not an address with a prefix")
            )
        if self.gateway is not None:
            try:
                gateway = _ip_address(self.gateway)
                if network is not None and gateway not in network:
                    found.append(Problem(f"{where}.gateway", f"{gateway} is outside {network}"))
                if network is not None and gateway == own.ip:
                    found.append(
                        Problem(f"{where}.gateway", f"{gateway} is the slot's own address")
                    )
            except ValueError:
                found.append(Problem(f"{where}.gateway", f"{self.gateway!r} is not an IP address"))
        for index, server in enumerate(self.nameservers):
            try:
                _ip_address(server)
            except ValueError:
                found.append(
                    Problem(f"{where}.nameservers[{index}]", f"{server!r} is not an IP address")
                )
        if self.mtu is not None and not is_mtu(self.mtu):
            found.append(Problem(f"{where}.mtu", f"{self.mtu} is outside {MIN_MTU}-{MAX_MTU}"))
        for key in ("bridge", "interface"):
            value = getattr(self, key)
            if value is not None and not is_interface_name(value):
                found.append(Problem(f"{where}.{key}", f"{value!r} is not an interface name"))
        return found

    def profile(self) -> LxdProfile:
        """The profile; raise_problems(self.problems(...)) first."""
        nic = {"type": "nic", "nictype": "bridged", "name": self.interface, "hwaddr": self.hwaddr}
        if self.bridge is not None:
            nic["parent"] = self.bridge
        if self.mtu is not None:
            nic["mtu"] = str(self.mtu)
        network_config = container_network_config(
            self.address,
            self.gateway,
            tuple(self.nameservers),
            hwaddr=self.hwaddr,
            interface=self.interface,
            mtu=self.mtu,
        )
        return LxdProfile(
            name=self.name,
            description=f"container slot {self.address}",
            devices={self.interface: nic},
            config={NETWORK_CONFIG_KEY: network_config},
        )


def container_slot_profile(
    name: str,
    hwaddr: str,
    address: str,
    gateway: str | None,
    nameservers: tuple[str, ...] = (),
    *,
    bridge: str | None = None,
    interface: str = "eth0",
    mtu: int | None = None,
) -> LxdProfile:
    """A profile that gives a container a fixed MAC and a static address on the host bridge.

    Launched as `lxc launch IMAGE NAME -p default -p slot-01`, the slot's `eth0` replaces the
    default profile's whole device, so it is complete here. `bridge=None` leaves `parent` to the
    host: `render_host` binds it to `HostSpec.bridge`. Raises UserDataError on bad values.
    """
    slot = ContainerSlotProfile(
        name, hwaddr, address, gateway, tuple(nameservers), mtu, bridge, interface
    )
    raise_problems(slot.problems(f"profiles[{name}]"))
    return slot.profile()


def https_address(address: str, port: int) -> str:
    """LXD's `core.https_address` for an IP address and a port: `[::]:8443`, `10.0.0.5:8443`."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def default_profile(bridge: str, storage_pool: str) -> LxdProfile:
    """LXD's default profile: root disk on the pool, eth0 bridged onto the host bridge."""
    return LxdProfile(
        name="default",
        description="Default LXD profile",
        devices={
            "eth0": {"type": "nic", "nictype": "bridged", "parent": bridge, "name": "eth0"},
            "root": {"type": "disk", "path": "/", "pool": storage_pool},
        },
    )


def preseed(
    *,
    bridge: str,
    storage_backend: StorageBackend,
    storage_pool: str,
    profiles: tuple[LxdProfile, ...] = (),
    https_address: str | None = None,
) -> RenderedPreseed:
    """The YAML for `lxd init --preseed`: a storage pool, the default profile, extra profiles."""
    document: dict[str, Any] = {}
    if https_address:
        document["config"] = {"core.https_address": https_address}
    document["storage_pools"] = [
        {"name": storage_pool, "driver": storage_backend, "description": "", "config": {}}
    ]
    document["profiles"] = [
        profile.to_dict()
        for profile in (
            default_profile(bridge, storage_pool),
            *(p.bound_to(bridge) for p in profiles),
        )
    ]
    return RenderedPreseed(dump_yaml(document))


@dataclass(frozen=True)
class ModuleForm:
    """The blog's `lxd: {init, bridge}` (or `bridge` and commands), and the extra profiles."""

    lxd: Lxd
    write_files: tuple[WriteFile, ...] = ()
    runcmd: tuple[Command, ...] = ()
    bootcmd: tuple[Command, ...] = ()


def module_form(
    *,
    bridge: str,
    storage_backend: StorageBackend,
    storage_pool: str,
    profiles: tuple[LxdProfile, ...] = (),
    network_address: str | None = None,
    network_port: int | None = None,
    lxd_init_creates_lxdbr0: bool = False,
    macaddress: str | None = None,
) -> ModuleForm:
    """`lxd init --auto` with the storage backend, the existing bridge on the default profile.

    `lxd_init_creates_lxdbr0`: the blog's `init` + `bridge: {mode: existing}` cannot work where
    `lxd init --auto` creates a NAT bridge `lxdbr0` (LXD 3.0 and later; Debian 12 has 5.0.2):
    it puts `eth0` on lxdbr0 in the default profile (unless that profile has a NIC, which
    nothing can add before the lxd module: bootcmd runs before LXD's socket is up), so the
    module's `lxc network attach-profile br0 default eth0` fails ("Device already exists:
    eth0"); without iptables or nft, `lxd init --auto` fails outright; and on the first boot
    br0 does not exist yet ("Network not found"). There the module keeps `bridge: existing`
    and drops `init`, whose storage pool and root disk runcmd creates instead.

    Extra profiles: one YAML file each under /etc/lxd-profiles/, loaded by runcmd lines, which
    cloud-init runs in its final stage after the lxd module (scripts-user comes after lxd).
    """
    existing_bridge = LxdBridge(mode="existing", name=bridge, ipv4_nat=False)
    commands: list[Command] = []
    bootcmd: tuple[Command, ...] = ()
    if lxd_init_creates_lxdbr0:
        # No `init`: the module only attaches the bridge, and runcmd (after the lxd module)
        # makes the pool and the root disk `lxd init --auto` would have made. bootcmd runs
        # before LXD can be reached but after the network: it makes an empty br0 on the first
        # boot so that the attach finds it. The layout's own br0 replaces it at the reboot, or
        # takes it over when the bridge comes up in place.
        lxd = Lxd(bridge=existing_bridge)
        # With the port's MAC: a renderer that finds the bridge there (systemd-networkd, when
        # the bridge comes up in place) takes it as it is and sets no MAC of its own.
        address = f" address {macaddress}" if macaddress else ""
        bootcmd = (
            f"ip link show {bridge} >/dev/null 2>&1 || ip link add {bridge}{address} type bridge",
        )
        commands.append(f"lxc storage create {storage_pool} {storage_backend}")
        commands.append(f"lxc profile device add default root disk path=/ pool={storage_pool}")
        if network_address:
            listen = https_address(network_address, network_port or 8443)
            commands.append(f"lxc config set core.https_address {listen}")
    else:
        lxd = Lxd(
            init=LxdInit(
                storage_backend=storage_backend,
                # `lxd init --auto` names its pool "default" already: say so only when it
                # differs.
                storage_pool=None if storage_pool == "default" else storage_pool,
                network_address=network_address,
                network_port=network_port if network_address else None,
            ),
            bridge=existing_bridge,
        )
    files = []
    for profile in profiles:
        body = profile.bound_to(bridge).to_dict()
        del body["name"]
        path = f"{PROFILE_DIR}/{profile.name}.yaml"
        files.append(WriteFile(path, dump_yaml(body), permissions="0600"))
        commands.append(f"lxc profile create {profile.name}")
        commands.append(f"lxc profile edit {profile.name} < {path}")
    return ModuleForm(
        lxd=lxd,
        write_files=tuple(files),
        runcmd=tuple(commands),
        bootcmd=bootcmd,
    )


# Where LXD keeps its server certificate, by how the distro packages it: Debian's deb, Ubuntu's
# snap. LXD uses server.crt and server.key when both exist as it starts, and makes its own
# only when they are missing.
LXD_VAR_DIR = {"debian": "/var/lib/lxd", "ubuntu": "/var/snap/lxd/common/lxd"}
LXD_RESTART = {"debian": "systemctl restart lxd.service", "ubuntu": "snap restart lxd"}
TRUST_PATH = "/usr/local/sbin/lxdhost-trust"
PRIVATE_KEY_LABELS = ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")
TRUST_DIR = "/etc/lxdhost/trust"
# Seconds `lxd waitready` waits: LXD's first start on a slow host (a TCG VM) takes a minute.
TRUST_TIMEOUT = 600

_PEM = re.compile(
    r"\A-----BEGIN (?P<label>[A-Z ]+)-----\n"
    r"(?P<body>[A-Za-z0-9+/=\n]+)"
    r"-----END (?P=label)-----\n?\Z"
)


def pem_problem(text: object, where: str, *labels: str) -> Problem | None:
    """Why `text` is not one PEM block labelled one of `labels` (`CERTIFICATE`), or None."""
    match = _PEM.match(text) if isinstance(text, str) else None
    if match is None or match["label"] not in labels:
        wanted = " or ".join(f"-----BEGIN {label}-----" for label in labels)
        return Problem(where, f"not one PEM block ({wanted} ... -----END ...-----)")
    try:
        base64.b64decode(match["body"].replace("\n", ""), validate=True)
    except binascii.Error:
        return Problem(where, "the PEM block's body is not base64")
    return None


def certificate_fingerprint(certificate_pem: str) -> str:
    """SHA-256 of the certificate's DER, as LXD prints it; pem_problem(...) first."""
    match = _PEM.match(certificate_pem)
    if match is None:
        raise ValueError("not a PEM block")
    der = base64.b64decode(match["body"].replace("\n", ""))
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class LxdTrust:
    """LXD's API certificate and the clients it trusts, written before LXD first starts."""

    server_certificate: str
    server_key: str
    trusted_certificates: tuple[str, ...]
    distro: str

    def files(self) -> tuple[WriteFile, ...]:
        var_dir = LXD_VAR_DIR[self.distro]
        files = [
            WriteFile(f"{var_dir}/server.crt", _with_newline(self.server_certificate)),
            WriteFile(f"{var_dir}/server.key", _with_newline(self.server_key), permissions="0600"),
        ]
        files.extend(
            WriteFile(path, _with_newline(certificate))
            for path, certificate in zip(
                self.trusted_paths(), self.trusted_certificates, strict=True
            )
        )
        files.append(
            WriteFile(
                TRUST_PATH,
                render_template(
                    "lxd-trust.sh.j2",
                    certificate=f"{var_dir}/server.crt",
                    fingerprint=certificate_fingerprint(self.server_certificate),
                    restart=LXD_RESTART[self.distro],
                    trusted=self.trusted_paths(),
                    trust_dir=TRUST_DIR,
                    timeout=TRUST_TIMEOUT,
                ),
                permissions="0755",
            )
        )
        return tuple(files)

    def trusted_paths(self) -> tuple[str, ...]:
        return tuple(
            f"{TRUST_DIR}/client-{index}.crt"
            for index in range(1, len(self.trusted_certificates) + 1)
        )


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else f"{text}\n"

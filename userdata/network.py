"""The host's bridge: the files that move the NIC's DHCP address onto a bridge LXD can use.

Two renderers, both from jinja2 templates shipped in `templates/`:

- `ifupdown`: the blog's `/etc/network/interfaces` (bridge on dhcp, NIC manual and promiscuous)
  and its systemd `.link` file that keeps the bridge's name;
- `netplan`: one netplan file bridging the NIC, mode 0600 as netplan wants.

The NIC is named (`interface`, the blog's `ens3`), or found by the Neutron port's MAC
(`macaddress`) whatever the guest named it: the name follows the cloud's virtual hardware (a
guest without a video device has its first NIC in PCI slot 2, `ens2`). netplan matches it
(`match: macaddress`, which networkd applies to NICs, never to the bridge that takes the same
MAC); ifupdown has no such match, so the bridge's `pre-up` finds it (`bridge_port_file`).

The files take effect at the next boot. A host brought up in place does not wait for one: a
script per renderer (`bring_up_file`) applies them from runcmd, with the renderer's own tools,
and checks that the bridge holds the NIC's address and MAC. `/etc/cloud/cloud.cfg.d/
99-disable-network-config.cfg` keeps cloud-init from writing its own config back, and the
renderer makes sure the config cloud-init already wrote on the first boot (which would keep
DHCP on the NIC itself) is not read.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from functools import cache
from typing import Literal

import jinja2

from userdata.cloudconfig import WriteFile, is_interface_name
from userdata.validation import Problem

NetworkRenderer = Literal["netplan", "ifupdown"]

# The MTUs a host's bridge and its containers may have: from IPv4's minimum datagram size up to
# the largest jumbo frame switches and Neutron's networks carry.
MIN_MTU, MAX_MTU = 576, 9216


def is_mtu(value: int) -> bool:
    return MIN_MTU <= value <= MAX_MTU


NETWORK_RENDERERS: tuple[NetworkRenderer, ...] = typing.get_args(NetworkRenderer)

INTERFACES_PATH = "/etc/network/interfaces"
DISABLE_NETWORK_CONFIG_PATH = "/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg"
CLOUD_INIT_NETPLAN_PATH = "/etc/netplan/50-cloud-init.yaml"
BRIDGE_LINK_PATH = "/etc/systemd/network/10-bridge.link"  # the blog's name; one bridge per host
BRING_UP_PATH = "/usr/local/sbin/lxdhost-bring-up"
BRIDGE_PORT_PATH = "/usr/local/sbin/lxdhost-bridge-port"
# The netplan id of the NIC found by the port's MAC (netplan's ids are free-form under `match`).
PORT_NIC_ID = "neutron-port"
# The NIC's name where there is neither a name nor a MAC to find it by: the blog's.
DEFAULT_INTERFACE = "ens3"
READY_PATH = "/usr/local/sbin/lxdhost-ready"
DHCLIENT_CONF_PATH = "/etc/dhcp/dhclient.conf"
# What each renderer needs installed to bring the bridge up (bridge-utils gives ifupdown's
# `bridge_ports` its hook, and brctl).
RENDERER_COMMANDS: dict[NetworkRenderer, tuple[str, ...]] = {
    "ifupdown": ("ifup", "brctl"),
    "netplan": ("netplan",),
}
# How long the bring-up waits for the bridge's lease: a DHCP exchange takes seconds, but a
# client that missed the first offer retries after several.
BRING_UP_TIMEOUT = 120

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def mac_problem(mac: str, where: str) -> Problem | None:
    """Why `mac` is not a unicast MAC written as six lower-case hex pairs, or None."""
    if not isinstance(mac, str) or not _MAC.match(mac):
        return Problem(
            where, f"{mac!r} is not a MAC address (six lower-case hex pairs: fa:16:3e:12:34:56)"
        )
    if int(mac[:2], 16) & 1:
        return Problem(where, f"{mac!r} is a multicast MAC (the first octet must be even)")
    return None


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("userdata", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(name: str, **values: object) -> str:
    return _templates().get_template(name).render(**values)


def nic_name(interface: str | None, macaddress: str | None) -> str | None:
    """The host's NIC by name: `interface`; unset, None when it is found by `macaddress`, or
    `DEFAULT_INTERFACE` without a MAC either."""
    if interface is not None:
        return interface
    return None if macaddress is not None else DEFAULT_INTERFACE


@dataclass(frozen=True)
class HostBridge:
    """The host's NIC bridged into `bridge`, which takes the NIC's DHCP address (and its MAC).

    The NIC is `interface` by name; unset, the NIC whose MAC is `macaddress`, whatever its name,
    or `ens3` when there is no MAC either.
    """

    renderer: NetworkRenderer
    interface: str | None = None
    bridge: str = "br0"
    mtu: int | None = None
    macaddress: str | None = None  # the Neutron port's MAC: the only one its port security passes
    # Write 99-disable-network-config.cfg and neutralise cloud-init's own network file.
    disable_cloud_init_network: bool = True
    # Also replace /etc/network/interfaces, which on Debian's images would still read
    # cloud-init's interfaces.d/50-cloud-init (DHCP on the NIC) next to netplan.
    replace_interfaces: bool = False

    def problems(self, where: str = "") -> list[Problem]:
        found = []
        if self.renderer not in NETWORK_RENDERERS:
            # Named as the host option a user sets (HostSpec.host_network), not as this field.
            found.append(
                Problem(
                    f"{where}host_network",
                    f"{self.renderer!r} is not one of {', '.join(NETWORK_RENDERERS)}",
                )
            )
        for key in ("interface", "bridge"):
            name = getattr(self, key)
            if key == "interface" and name is None:
                continue
            if not isinstance(name, str) or not is_interface_name(name):
                found.append(
                    Problem(
                        f"{where}{key}",
                        f"{name!r} is not a Linux interface name "
                        "(1-15 letters, digits, '_', '.', '-')",
                    )
                )
        if self.interface is not None and self.interface == self.bridge:
            found.append(Problem(f"{where}interface", f"{self.interface!r} is the bridge's name"))
        elif self.name == self.bridge:
            found.append(Problem(f"{where}bridge", f"{self.bridge!r} is also the interface's name"))
        if self.mtu is not None and (
            isinstance(self.mtu, bool) or not isinstance(self.mtu, int) or not is_mtu(self.mtu)
        ):
            found.append(Problem(f"{where}mtu", f"{self.mtu!r} is outside {MIN_MTU}-{MAX_MTU}"))
        if self.macaddress is not None:
            problem = mac_problem(self.macaddress, f"{where}macaddress")
            if problem:
                found.append(problem)
        return found

    @property
    def netplan_path(self) -> str:
        return f"/etc/netplan/60-{self.bridge}.yaml"

    @property
    def by_mac(self) -> bool:
        """The NIC is found by the port's MAC, not named."""
        return self.interface is None and self.macaddress is not None

    @property
    def name(self) -> str | None:
        """The NIC's name, or None when it is found by the port's MAC."""
        return nic_name(self.interface, self.macaddress)

    def _values(self) -> dict[str, object]:
        """What the templates are rendered with. `interface` is the NIC's name, or None when it
        is found by `macaddress`: then `nic` is the shell variable the scripts set to its name
        (`port_nic`), quoted, `nic_text` the same inside a quoted string or a comment,
        `nic_label` names it in prose and `nic_id` is its netplan id. Named, all are its name,
        and the files are the ones a named NIC always had, byte for byte (a host made before the
        NIC could be found by its MAC keeps its user_data with `interface: ens3`)."""
        name = self.name
        return {
            "interface": name,
            "nic": name or '"$nic"',
            "nic_text": name or "$nic",
            "nic_label": name or "the Neutron port's NIC",
            "nic_id": name or PORT_NIC_ID,
            "bridge": self.bridge,
            "mtu": self.mtu,
            "macaddress": self.macaddress,
        }

    def files(self) -> tuple[WriteFile, ...]:
        """The write_files items, in the order they are written."""
        values = self._values()
        files: list[WriteFile]
        if self.renderer == "ifupdown":
            # The interfaces file has no `source` line: cloud-init's interfaces.d/50-cloud-init
            # (DHCP on the NIC itself) is not read, so there is nothing to neutralise.
            files = [
                WriteFile(
                    INTERFACES_PATH,
                    render_template("interfaces.j2", bridge_port=BRIDGE_PORT_PATH, **values),
                ),
                WriteFile(BRIDGE_LINK_PATH, render_template("bridge.link.j2", **values)),
            ]
            if self.by_mac:
                files.append(self.bridge_port_file())
            if self.mtu:
                # dhclient would set the MTU Neutron's DHCP sends on the bridge at every lease.
                files.append(
                    WriteFile(
                        DHCLIENT_CONF_PATH,
                        render_template("dhclient-mtu.conf.j2", **values),
                        append=True,
                    )
                )
        else:
            files = [
                WriteFile(
                    self.netplan_path,
                    render_template("netplan-bridge.yaml.j2", **values),
                    permissions="0600",
                )
            ]
            if self.disable_cloud_init_network:
                # cloud-init wrote DHCP on the NIC here on the first boot, before write_files.
                files.append(
                    WriteFile(
                        CLOUD_INIT_NETPLAN_PATH,
                        render_template(
                            "netplan-neutralised.yaml.j2", bridge_file=self.netplan_path, **values
                        ),
                        permissions="0600",
                    )
                )
            if self.replace_interfaces:
                files.append(
                    WriteFile(
                        INTERFACES_PATH,
                        render_template(
                            "interfaces-loopback.j2", bridge_file=self.netplan_path, **values
                        ),
                    )
                )
        if self.disable_cloud_init_network:
            files.append(
                WriteFile(
                    DISABLE_NETWORK_CONFIG_PATH,
                    render_template("99-disable-network-config.cfg.j2", **values),
                )
            )
        return tuple(files)

    def bridge_port_file(self) -> WriteFile:
        """ifupdown's `pre-up` for the bridge, when the NIC is found by its MAC: makes the
        bridge and puts the NIC in it, as bridge-utils' `bridge_ports` does for a named one."""
        return WriteFile(
            BRIDGE_PORT_PATH,
            render_template("bridge-port.sh.j2", **self._values()),
            permissions="0755",
        )

    def ready_file(self, *also: str) -> WriteFile:
        """The script that says whether the renderer's tools (and the commands `also` names)
        are installed: the bridge is brought up only when they are."""
        return WriteFile(
            READY_PATH,
            render_template(
                "ready.sh.j2",
                bridge=self.bridge,
                commands=(*RENDERER_COMMANDS[self.renderer], *also),
            ),
            permissions="0755",
        )

    def bring_up_file(self, *, fail_safe: bool = True) -> WriteFile:
        """The script that moves the NIC's address onto the bridge now, in the running boot."""
        return WriteFile(
            BRING_UP_PATH,
            render_template(
                f"bring-up-{self.renderer}.sh.j2",
                **self._values(),
                bridge_file=self.netplan_path,
                ready=READY_PATH if fail_safe else None,
                timeout=BRING_UP_TIMEOUT,
            ),
            permissions="0755",
        )

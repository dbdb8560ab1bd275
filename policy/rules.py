"""The policy pack's rules, as plain functions over one resource's inputs.

Inputs use the engine's property names (`remoteIpPrefix`, `allowedAddressPairs`, `userData`),
which is what a policy sees during `pulumi preview` and what `lxdhost.offline` records, so the
tests feed these functions the program's own resources. Each rule returns one message per
problem (none when the resource is fine); `policy/__main__.py` reports them to Pulumi.

During a preview, an input that depends on a resource not created yet (a new security group's
id, a new port's MAC in a server's user_data) is `UNKNOWN`. A rule reads such a value only if it
needs it, and then judges what is known instead or raises `UnknownInputError`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from lxdhost import tokens

# Nova rejects user_data whose base64 encoding is longer than this.
NOVA_USER_DATA_LIMIT = 65535
# Neutron's `max_allowed_address_pair` default.
NEUTRON_MAX_ADDRESS_PAIRS = 10
SSH_PORT = 22
LXD_API_PORT = 8443

# Neutron's names for "any protocol" and for TCP in a security group rule.
_ANY_PROTOCOL = {None, "", "any"}
_TCP = {"tcp", "6"}


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


# An input the engine knows only once the resources it depends on exist: during a preview.
UNKNOWN: Final = _Unknown()


class UnknownInputError(Exception):
    """A rule needs an input that is `UNKNOWN` during this preview; `pulumi up` judges it."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def stack_of(urn: str) -> str:
    """The stack a resource belongs to: `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def is_production(stack: str) -> bool:
    """Stacks named prod* get the strict rules; the prefix is compared without case."""
    return stack.lower().startswith("prod")


def parent_types(urn: str) -> list[str]:
    """The types of a resource's ancestors, outermost first, as its URN spells them."""
    qualified_type = urn.split("::")[2]
    return qualified_type.split("$")[:-1]


def is_lxd_host_port(resource_type: str, urn: str) -> bool:
    return resource_type == tokens.PORT and tokens.LXD_HOST in parent_types(urn)


def is_lxd_host_server(resource_type: str, urn: str) -> bool:
    return resource_type == tokens.INSTANCE and tokens.LXD_HOST in parent_types(urn)


@dataclass(frozen=True)
class AdminPort:
    """A TCP port no stack should open to the world, and the stack key that opens it."""

    name: str
    config_key: str


def admin_ports(lxd_api_port: int = LXD_API_PORT) -> dict[int, AdminPort]:
    """SSH, and LXD's API on the port the stack's lxdhost:lxdApiPort names."""
    return {
        SSH_PORT: AdminPort("SSH", "lxdhost:sshIngress"),
        lxd_api_port: AdminPort("LXD's API", "lxdhost:lxdApiIngress"),
    }


def world_open_admin_ingress(rule: Mapping[str, Any], ports: Mapping[int, AdminPort]) -> list[str]:
    """An ingress rule that lets any address reach SSH or LXD's API.

    Neutron reads a rule with neither `remoteIpPrefix` nor a remote group as "from anywhere", a
    rule without a protocol as "any protocol" and one without a port range as "every port".
    """
    if _known(rule, "direction") != "ingress":
        return []
    source = _world_source(rule)
    if source is None or _protocol(rule) not in _ANY_PROTOCOL | _TCP:
        return []
    low, high = _port(_known(rule, "portRangeMin")), _port(_known(rule, "portRangeMax"))
    exposed = [
        (number, port)
        for number, port in sorted(ports.items())
        if (low is None or low <= number) and (high is None or number <= high)
    ]
    if not exposed:
        return []
    services = " and ".join(f"{port.name} ({number}/tcp)" for number, port in exposed)
    keys = ", ".join(port.config_key for _, port in exposed)
    return [
        f"security group rule opens {services} to {source}: list only the CIDRs that need it "
        f"in {keys}"
    ]


def user_data_within_nova_limit(server: Mapping[str, Any], *, bounded: bool = False) -> list[str]:
    """A server's user_data, base64-encoded as Nova stores it, within Nova's limit.

    While a new host's port does not exist, its user_data (which embeds the port's MAC) is
    `UNKNOWN`. A server that is `bounded` belongs to an `LxdHost`, whose own input
    `userDataMaxBytes` is judged instead (`user_data_bound_within_nova_limit`); `pulumi up`
    judges the real user_data before Nova gets it.
    """
    user_data = server.get("userData")
    if user_data is UNKNOWN and bounded:
        return []
    user_data = _known(server, "userData")
    if not user_data:
        return []
    encoded = _base64_length(len(str(user_data).encode()))
    if encoded <= NOVA_USER_DATA_LIMIT:
        return []
    return [f"user_data is {encoded} bytes base64-encoded, {_over_nova_limit(encoded)}"]


def user_data_bound_within_nova_limit(host: Mapping[str, Any]) -> list[str]:
    """An `LxdHost`'s `userDataMaxBytes`, the most bytes its server's user_data can have, known
    before the host's port exists: base64-encoded, within Nova's limit."""
    max_bytes = _known(host, "userDataMaxBytes")
    if max_bytes is None:
        return []
    # Numbers reach policies as floats (protobuf's Struct has no integers).
    encoded = _base64_length(int(max_bytes))
    if encoded <= NOVA_USER_DATA_LIMIT:
        return []
    return [
        f"user_data can be up to {encoded} bytes base64-encoded (the host's userDataMaxBytes), "
        f"{_over_nova_limit(encoded)}"
    ]


def _over_nova_limit(encoded: int) -> str:
    return (
        f"{encoded - NOVA_USER_DATA_LIMIT} over Nova's limit of {NOVA_USER_DATA_LIMIT}: Nova will "
        "refuse to boot the server"
    )


def address_pairs_acceptable(port: Mapping[str, Any], max_pairs: int) -> list[str]:
    """Allowed address pairs only with port security on, and no more than Neutron accepts."""
    pairs: Sequence[Any] = _known(port, "allowedAddressPairs") or []
    if not pairs:
        return []
    problems = []
    if _known(port, "portSecurityEnabled") is False:
        problems.append(
            f"{len(pairs)} allowed address pairs on a port with port security off: Neutron "
            "refuses pairs without port security (choose lxdhost:containerAccess "
            "address-pairs or port-security-off, not both)"
        )
    if len(pairs) > max_pairs:
        problems.append(
            f"{len(pairs)} allowed address pairs, over the limit of {max_pairs} "
            "(Neutron's max_allowed_address_pair): lower lxdhost:slotsPerHost"
        )
    return problems


def lxd_host_port_lets_containers_through(port: Mapping[str, Any]) -> list[str]:
    """An LXD host's port must pass its containers' frames: address pairs, or no port security.

    Containers on the host's bridge send with their own MAC and address; Neutron's anti-spoofing
    drops those unless each is an allowed address pair (with its MAC: a pair without one stands
    for the port's own MAC) or port security is off.
    """
    if _known(port, "portSecurityEnabled") is False:
        return []
    pairs: Sequence[Any] = _known(port, "allowedAddressPairs") or []
    if not pairs:
        return [
            "LXD host port with port security on and no allowed address pairs: Neutron will "
            "drop every container's traffic (lxdhost:containerAccess)"
        ]
    without_mac = [str(pair.get("ipAddress")) for pair in pairs if not pair.get("macAddress")]
    if without_mac:
        return [
            f"allowed address pairs without a MAC ({', '.join(without_mac)}): Neutron pairs them "
            "with the port's own MAC, and drops the containers, which send with theirs"
        ]
    return []


def server_on_port_has_no_security_groups(server: Mapping[str, Any]) -> list[str]:
    """A server booted on pre-created ports takes its security groups from the ports."""
    groups: Sequence[Any] = _known(server, "securityGroups") or []
    if not groups:
        return []
    networks: Sequence[Any] = _known(server, "networks") or []
    # A new port's id is UNKNOWN during a preview: still a port.
    if not any(network.get("port") for network in networks):
        return []
    return [
        f"server booted on a port also sets security groups ({', '.join(map(str, groups))}): "
        "they belong on the port; on the server they fight with it on every update"
    ]


def _known(inputs: Mapping[str, Any], key: str) -> Any:
    """The input `key`, which the rule cannot judge without: `UnknownInputError` if UNKNOWN."""
    value = inputs.get(key)
    if value is UNKNOWN:
        raise UnknownInputError(key)
    return value


def _world_source(rule: Mapping[str, Any]) -> str | None:
    prefix = _known(rule, "remoteIpPrefix")
    if prefix:
        try:
            network = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            return None
        return str(network) if network.prefixlen == 0 else None
    # A group's id is UNKNOWN while the group is new: still a group, not the world.
    if rule.get("remoteGroupId") or rule.get("remoteAddressGroupId"):
        return None
    return "any address (no remote prefix or group)"


def _protocol(rule: Mapping[str, Any]) -> str | None:
    protocol = _known(rule, "protocol")
    return None if protocol is None else str(protocol).lower()


def _port(value: Any) -> int | None:
    # Numbers reach policies as floats (protobuf's Struct has no integers); 0 means unset.
    return int(value) if value else None


def _base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)

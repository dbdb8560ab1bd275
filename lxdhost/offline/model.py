"""The offline plan's model: what a stack will build, read from the real program run under mocks.

`python -m lxdhost plan` runs the project's own `__main__.py` through `lxdhost.offline.engine`
(Neutron- and Nova-like mocks, the stack's own configuration and validation) and turns what it
registered into an `OfflinePlan`: the address table, every resource with its inputs, and each
server's user-data.

Values only the cloud knows (ids, a port's MAC and fixed IP, a floating address) are given by
the mocks, deterministically. In the plan's resource inputs each one is replaced by a reference
to where it comes from, such as `<Port:lxd-1-port.mac_address>`, the way `pulumi preview` shows
values known only after create; the user-data documents themselves keep the mocks' values, so
that they are real cloud-config (`cloud-init schema` accepts them) and `--out` writes files a
user can boot by hand. `cloud_values` maps each reference to the mock's value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import Any

from lxdhost import tokens
from lxdhost.offline.engine import ProgramRun, RecordedInvoke, RecordedResource
from userdata import NOVA_USER_DATA_LIMIT, encoded_size

# Mock values shorter than this are never substituted: a short string (a port number, "4") would
# match unrelated text. Ids, MACs and IPv4 addresses are all longer.
_SHORTEST_CLOUD_VALUE = 7


@dataclass(frozen=True)
class CloudValue:
    """A value only the cloud knows, as the mocks gave it, and where it comes from."""

    reference: str  # `<Port:lxd-1-port.mac_address>`
    resource: str | None  # the key of the resource that produces it; None for a data source
    mock_value: str


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program declares, with its inputs as the engine received them."""

    key: str  # the URN without stack and project: a resource's identity from one plan to the next
    type: str
    name: str
    parent: str | None  # the parent's key; None for children of the stack
    custom: bool
    inputs: Mapping[str, Any]  # engine (camelCase) names; cloud values replaced by references
    options: Mapping[str, Any]

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class ServerUserData:
    """One server's rendered user-data and its size against Nova's limit."""

    server: str  # the Instance's resource name
    host: str | None  # the LxdHost component it belongs to
    user_data: str  # as rendered, with the mocks' values (a real cloud-config document)
    base64_size: int

    @property
    def within_limit(self) -> bool:
        return self.base64_size <= NOVA_USER_DATA_LIMIT


@dataclass(frozen=True)
class SlotRow:
    """One container slot in the address table."""

    host: str
    name: str
    ip_address: str
    mac_address: str


@dataclass(frozen=True)
class AddressRangeRow:
    """An inclusive range of addresses and how many it holds."""

    start: str
    end: str

    @property
    def size(self) -> int:
        return int(ip_address(self.end)) - int(ip_address(self.start)) + 1


@dataclass(frozen=True)
class AddressTable:
    """The subnet's address plan as the program exports it."""

    cidr: str
    gateway_ip: str
    allocation_pool: AddressRangeRow
    reserved_range: AddressRangeRow
    slots: tuple[SlotRow, ...]


@dataclass(frozen=True)
class OfflinePlan:
    """Everything `plan` shows, in a form that survives a round trip through JSON."""

    stack: str
    address_table: AddressTable | None
    resources: tuple[PlannedResource, ...]
    user_data: tuple[ServerUserData, ...]
    cloud_values: tuple[CloudValue, ...] = field(default=())
    outputs: Mapping[str, Any] = field(default_factory=dict)


def resource_key(urn: str) -> str:
    """`urn:pulumi:dev::lxdhost::A$B::name` -> `A$B::name`: the same resource in any stack."""
    return urn.split("::", 2)[2]


def build_plan(run: ProgramRun) -> OfflinePlan:
    """Turn a recorded run of the program into a plan."""
    cloud_values = _cloud_values(run)
    substitute = _Substitute(cloud_values)
    # Registration order follows the event loop, not the program text: sort for stable output.
    resources = tuple(
        sorted((_planned(record, substitute) for record in run.resources), key=display_order)
    )
    return OfflinePlan(
        stack=run.stack,
        address_table=address_table(run),
        resources=resources,
        user_data=tuple(sorted(_server_user_data(run), key=lambda u: natural_key(u.server))),
        cloud_values=tuple(sorted(cloud_values.values(), key=lambda v: v.reference)),
        outputs=substitute(run.exports),
    )


# How the tree lists siblings: the network first, then what attaches to it, then the hosts.
_TYPE_ORDER = (
    tokens.TENANT_NETWORK,
    tokens.HOST_SECURITY_GROUP,
    tokens.NETWORK,
    tokens.SUBNET,
    tokens.ROUTER,
    tokens.ROUTER_INTERFACE,
    tokens.SEC_GROUP,
    tokens.SEC_GROUP_RULE,
    tokens.KEYPAIR,
    tokens.LXD_HOST,
    tokens.PORT,
    tokens.INSTANCE,
    tokens.FLOATING_IP,
)


def display_order(resource: PlannedResource) -> tuple[int, list[tuple[int, str]], str]:
    """Known types in `_TYPE_ORDER`, others after; names in natural order (lxd-2 before lxd-10)."""
    rank = _TYPE_ORDER.index(resource.type) if resource.type in _TYPE_ORDER else len(_TYPE_ORDER)
    return rank, natural_key(resource.name), resource.type


def natural_key(text: str) -> list[tuple[int, str]]:
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", text)]


def address_table(run: ProgramRun) -> AddressTable | None:
    """The address plan as the program exports it, with the CIDR and gateway of its subnet.

    None when the program exports no plan (a stack that fails before declaring one).
    """
    subnets = run.of_type(tokens.SUBNET)
    exports = run.exports
    if len(subnets) != 1 or "allocationPool" not in exports or "reservedRange" not in exports:
        return None
    subnet = subnets[0]
    pool, reserved = exports["allocationPool"], exports["reservedRange"]
    hosts: Mapping[str, Any] = exports.get("hosts") or {}
    slots = sorted(
        (
            SlotRow(host, str(name), str(slot["ip"]), str(slot["mac"]))
            for host, addresses in hosts.items()
            for name, slot in (addresses.get("containerSlots") or {}).items()
        ),
        key=lambda row: (int(IPv4Address(row.ip_address)), row.host),
    )
    return AddressTable(
        cidr=str(subnet.inputs.get("cidr") or subnet.outputs.get("cidr")),
        gateway_ip=str(subnet.inputs.get("gatewayIp") or subnet.outputs.get("gatewayIp")),
        allocation_pool=AddressRangeRow(str(pool["start"]), str(pool["end"])),
        reserved_range=AddressRangeRow(str(reserved["start"]), str(reserved["end"])),
        slots=tuple(slots),
    )


def _server_user_data(run: ProgramRun) -> Iterator[ServerUserData]:
    by_urn = {record.urn: record for record in run.resources}
    for record in run.resources:
        user_data = record.inputs.get("userData")
        if record.type != tokens.INSTANCE or not isinstance(user_data, str):
            continue
        yield ServerUserData(
            server=record.name,
            host=_host_of(record, by_urn),
            user_data=user_data,
            base64_size=encoded_size(user_data),
        )


def _host_of(record: RecordedResource, by_urn: Mapping[str, RecordedResource]) -> str | None:
    parent = by_urn.get(record.parent or "")
    while parent is not None:
        if parent.type == tokens.LXD_HOST:
            return parent.name
        parent = by_urn.get(parent.parent or "")
    return None


def _planned(record: RecordedResource, substitute: _Substitute) -> PlannedResource:
    options = record.options
    return PlannedResource(
        key=resource_key(record.urn),
        type=record.type,
        name=record.name,
        parent=None if record.parent is None else resource_key(record.parent),
        custom=record.custom,
        inputs=substitute(dict(record.inputs)),
        options={
            "delete_before_replace": bool(options.get("delete_before_replace")),
            "retain_on_delete": bool(options.get("retain_on_delete")),
            "protect": bool(options.get("protect")),
            "import_id": options.get("import_id"),
            "ignore_changes": sorted(options.get("ignore_changes") or []),
            "replace_on_changes": sorted(options.get("replace_on_changes") or []),
            "depends_on": sorted(resource_key(u) for u in options.get("depends_on") or []),
        },
    )


# --- values only the cloud knows -------------------------------------------------------------


@functools.cache
def snake_case(name: str) -> str:
    """`macAddress` -> `mac_address`, `accessIpV4` -> `access_ip_v4`: the Python SDK's names."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _cloud_values(run: ProgramRun) -> dict[str, CloudValue]:
    """Every string the mocks made up (not one the program passed in), keyed by value."""
    found: dict[str, CloudValue] = {}

    def add(value: object, reference: str, resource: str | None) -> None:
        if isinstance(value, str) and len(value) >= _SHORTEST_CLOUD_VALUE and value not in found:
            found[value] = CloudValue(reference, resource, value)

    for record in run.resources:
        if not record.custom:
            continue
        key = resource_key(record.urn)
        label = f"{record.type.rsplit(':', 1)[-1]}:{record.name}"
        # An imported resource's id is the one the user wrote in the stack, not a cloud value.
        if record.id != record.options.get("import_id"):
            add(record.id, f"<{label}.id>", key)
        given = dict(_leaves(record.inputs))
        for path, value in sorted(_leaves(record.outputs)):
            if given.get(path) != value:
                add(value, f"<{label}.{path}>", key)
    for invoke in run.invokes:
        call = _invoke_label(invoke)
        for name, value in sorted(invoke.result.items()):
            if value not in invoke.args.values():
                add(value, f"<{call}.{snake_case(name)}>", None)
    return found


def _invoke_label(invoke: RecordedInvoke) -> str:
    function = snake_case(invoke.token.rsplit(":", 1)[-1])
    args = ",".join(f"{snake_case(k)}={v}" for k, v in sorted(invoke.args.items()))
    return f"{function}({args})"


_Path = tuple[str | int, ...]


def _leaves(value: Any, path: _Path = ()) -> Iterator[tuple[str, Any]]:
    """(`fixed_ips[0].ip_address`, value) for every scalar inside `value`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield _format_path(path), value


def _format_path(path: _Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{snake_case(part)}"
    return text.lstrip(".")


# What a cloud value looks like inside a longer string (a MAC in user_data, an address in an
# SSH command): an id, a certificate's fingerprint, a MAC or an IPv4 address, not inside a
# longer word or address.
_EMBEDDED_CLOUD_VALUE = re.compile(
    r"(?<![\w.:-])"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9a-f]{64}"
    r"|(?:[0-9a-f]{2}:){5}[0-9a-f]{2}"
    r"|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?![\w:-]|\.\d)"
)


class _Substitute:
    """Replaces every cloud value inside strings (user_data included) by its reference.

    A whole string that is a cloud value becomes its reference; inside longer strings, every
    id, MAC or address that is one does. One pass of one pattern and a dict lookup: an
    alternation of a thousand values (200 hosts) would rescan each string once per value.
    """

    def __init__(self, values: Mapping[str, CloudValue]) -> None:
        self._references = {value: cloud.reference for value, cloud in values.items()}

    def _reference(self, match: re.Match[str]) -> str:
        return self._references.get(match.group(0), match.group(0))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = self._references.get(value)
            if whole is not None:
                return whole
            return _EMBEDDED_CLOUD_VALUE.sub(self._reference, value)
        if isinstance(value, Mapping):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self(item) for item in value]
        # The engine's wire format has one number type: 22 arrives as 22.0.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


def references_in(value: Any) -> Iterator[str]:
    """Every `<Type:name.property>` reference inside `value`."""
    if isinstance(value, str):
        yield from re.findall(r"<[^<>\s]+>", value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references_in(item)
    elif isinstance(value, Sequence):
        for item in value:
            yield from references_in(item)

"""The offline plan: what a stack will build, read from the real program run under mocks.

`python -m lxdhost plan` runs the project's own `__main__.py` through `lxdhost.offline` (Neutron-
and Nova-like mocks, the stack's own configuration and validation) and turns what it registered
into a `Plan`: the address plan, every resource with its inputs, and each server's user-data.

Values only the cloud knows (ids, a port's MAC and fixed IP, a floating address) are given by
the mocks, deterministically. In the plan's resource inputs each one is replaced by a reference
to where it comes from, such as `<Port:lxd-1-port.mac_address>`, the way `pulumi preview` shows
values known only after create; the user-data documents themselves keep the mocks' values, so
that they are real cloud-config (`cloud-init schema` accepts them) and `--out` writes files a
user can boot by hand. `cloud_values` maps each reference to the mock's value.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import Any

from lxdhost.offline import ProgramRun, RecordedInvoke, RecordedResource
from userdata import NOVA_USER_DATA_LIMIT, encoded_size

PLAN_FORMAT_VERSION = 1

INSTANCE_TYPE = "openstack:compute/instance:Instance"
LXD_HOST_TYPE = "lxdhost:index:LxdHost"
SUBNET_TYPE = "openstack:networking/subnet:Subnet"

# Mock values shorter than this are never substituted: a short string (a port number, "4") would
# match unrelated text. Ids, MACs and IPv4 addresses are all longer.
_SHORTEST_CLOUD_VALUE = 7


class PlanFormatError(ValueError):
    """A saved plan (`--diff BASE.json`) is not a plan this version reads."""


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
class Plan:
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


def build_plan(run: ProgramRun) -> Plan:
    """Turn a recorded run of the program into a plan."""
    cloud_values = _cloud_values(run)
    substitute = _Substitute(cloud_values)
    # Registration order follows the event loop, not the program text: sort for stable output.
    resources = tuple(
        sorted((_planned(record, substitute) for record in run.resources), key=display_order)
    )
    return Plan(
        stack=run.stack,
        address_table=address_table(run),
        resources=resources,
        user_data=tuple(sorted(_server_user_data(run), key=lambda u: natural_key(u.server))),
        cloud_values=tuple(sorted(cloud_values.values(), key=lambda v: v.reference)),
        outputs=substitute(run.exports),
    )


# How the tree lists siblings: the network first, then what attaches to it, then the hosts.
_TYPE_ORDER = (
    "lxdhost:index:TenantNetwork",
    "lxdhost:index:HostSecurityGroup",
    "openstack:networking/network:Network",
    "openstack:networking/subnet:Subnet",
    "openstack:networking/router:Router",
    "openstack:networking/routerInterface:RouterInterface",
    "openstack:networking/secGroup:SecGroup",
    "openstack:networking/secGroupRule:SecGroupRule",
    "openstack:compute/keypair:Keypair",
    LXD_HOST_TYPE,
    "openstack:networking/port:Port",
    INSTANCE_TYPE,
    "openstack:networking/floatingIp:FloatingIp",
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
    subnets = run.of_type(SUBNET_TYPE)
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
        if record.type != INSTANCE_TYPE or not isinstance(user_data, str):
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
        if parent.type == LXD_HOST_TYPE:
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
# SSH command): an id, a MAC or an IPv4 address, not inside a longer word or address.
_EMBEDDED_CLOUD_VALUE = re.compile(
    r"(?<![\w.:-])"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
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


# --- JSON ------------------------------------------------------------------------------------


_RANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["start", "end", "size"],
    "additionalProperties": False,
    "properties": {
        "start": {"type": "string", "format": "ipv4"},
        "end": {"type": "string", "format": "ipv4"},
        "size": {"type": "integer", "minimum": 1},
    },
}

# The shape of `plan --json` (version 1), as JSON Schema: docs/review.md explains each field.
PLAN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "lxdhost offline plan",
    "type": "object",
    "required": [
        "version",
        "stack",
        "address_plan",
        "resources",
        "user_data",
        "cloud_values",
        "outputs",
    ],
    "additionalProperties": False,
    "properties": {
        "version": {"const": PLAN_FORMAT_VERSION},
        "stack": {"type": "string"},
        "address_plan": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": [
                        "cidr",
                        "gateway_ip",
                        "allocation_pool",
                        "reserved_range",
                        "slots",
                    ],
                    "additionalProperties": False,
                    "properties": {
                        "cidr": {"type": "string"},
                        "gateway_ip": {"type": "string", "format": "ipv4"},
                        "allocation_pool": _RANGE_SCHEMA,
                        "reserved_range": _RANGE_SCHEMA,
                        "slots": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["host", "name", "ip_address", "mac_address"],
                                "additionalProperties": False,
                                "properties": {
                                    "host": {"type": "string"},
                                    "name": {"type": "string"},
                                    "ip_address": {"type": "string", "format": "ipv4"},
                                    "mac_address": {
                                        "type": "string",
                                        "pattern": "^([0-9a-f]{2}:){5}[0-9a-f]{2}$",
                                    },
                                },
                            },
                        },
                    },
                },
            ]
        },
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "type", "name", "parent", "custom", "inputs", "options"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string"},
                    "type": {"type": "string", "pattern": "^[^:]+:[^:]+:[^:]+$"},
                    "name": {"type": "string"},
                    "parent": {"type": ["string", "null"]},
                    "custom": {"type": "boolean"},
                    "inputs": {"type": "object"},
                    "options": {
                        "type": "object",
                        "required": [
                            "delete_before_replace",
                            "retain_on_delete",
                            "protect",
                            "import_id",
                            "ignore_changes",
                            "replace_on_changes",
                            "depends_on",
                        ],
                        "additionalProperties": False,
                        "properties": {
                            "delete_before_replace": {"type": "boolean"},
                            "retain_on_delete": {"type": "boolean"},
                            "protect": {"type": "boolean"},
                            "import_id": {"type": ["string", "null"]},
                            "ignore_changes": {"type": "array", "items": {"type": "string"}},
                            "replace_on_changes": {"type": "array", "items": {"type": "string"}},
                            "depends_on": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        },
        "user_data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["server", "host", "base64_size", "limit", "user_data"],
                "additionalProperties": False,
                "properties": {
                    "server": {"type": "string"},
                    "host": {"type": ["string", "null"]},
                    "base64_size": {"type": "integer", "minimum": 0},
                    "limit": {"const": NOVA_USER_DATA_LIMIT},
                    "user_data": {"type": "string"},
                },
            },
        },
        "cloud_values": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["reference", "resource", "mock_value"],
                "additionalProperties": False,
                "properties": {
                    "reference": {"type": "string", "pattern": "^<[^<>\\s]+>$"},
                    "resource": {"type": ["string", "null"]},
                    "mock_value": {"type": "string"},
                },
            },
        },
        "outputs": {"type": "object"},
    },
}


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as one JSON document (shape: `PLAN_JSON_SCHEMA`, documented in docs/review.md)."""
    table = plan.address_table
    return {
        "version": PLAN_FORMAT_VERSION,
        "stack": plan.stack,
        "address_plan": None
        if table is None
        else {
            "cidr": table.cidr,
            "gateway_ip": table.gateway_ip,
            "allocation_pool": _range_json(table.allocation_pool),
            "reserved_range": _range_json(table.reserved_range),
            "slots": [
                {
                    "host": s.host,
                    "name": s.name,
                    "ip_address": s.ip_address,
                    "mac_address": s.mac_address,
                }
                for s in table.slots
            ],
        },
        "resources": [
            {
                "key": r.key,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "inputs": r.inputs,
                "options": r.options,
            }
            for r in plan.resources
        ],
        "user_data": [
            {
                "server": u.server,
                "host": u.host,
                "base64_size": u.base64_size,
                "limit": NOVA_USER_DATA_LIMIT,
                "user_data": u.user_data,
            }
            for u in plan.user_data
        ],
        "cloud_values": [
            {"reference": c.reference, "resource": c.resource, "mock_value": c.mock_value}
            for c in plan.cloud_values
        ],
        "outputs": plan.outputs,
    }


def _range_json(row: AddressRangeRow) -> dict[str, Any]:
    return {"start": row.start, "end": row.end, "size": row.size}


def plan_from_json(document: Any) -> Plan:
    """Read a plan saved by `plan --json`; `PlanFormatError` says what is wrong with it."""
    if not isinstance(document, Mapping) or "version" not in document:
        raise PlanFormatError("not a plan saved by `python -m lxdhost plan --json` (no `version`)")
    if document["version"] != PLAN_FORMAT_VERSION:
        raise PlanFormatError(
            f"plan format version {document['version']!r}; this version reads {PLAN_FORMAT_VERSION}"
        )
    try:
        table_doc = document.get("address_plan")
        table = (
            None
            if table_doc is None
            else AddressTable(
                cidr=table_doc["cidr"],
                gateway_ip=table_doc["gateway_ip"],
                allocation_pool=AddressRangeRow(
                    table_doc["allocation_pool"]["start"], table_doc["allocation_pool"]["end"]
                ),
                reserved_range=AddressRangeRow(
                    table_doc["reserved_range"]["start"], table_doc["reserved_range"]["end"]
                ),
                slots=tuple(
                    SlotRow(s["host"], s["name"], s["ip_address"], s["mac_address"])
                    for s in table_doc["slots"]
                ),
            )
        )
        return Plan(
            stack=str(document["stack"]),
            address_table=table,
            resources=tuple(
                PlannedResource(
                    key=r["key"],
                    type=r["type"],
                    name=r["name"],
                    parent=r["parent"],
                    custom=bool(r["custom"]),
                    inputs=r["inputs"],
                    options=r["options"],
                )
                for r in document["resources"]
            ),
            user_data=tuple(
                ServerUserData(u["server"], u["host"], u["user_data"], int(u["base64_size"]))
                for u in document["user_data"]
            ),
            cloud_values=tuple(
                CloudValue(c["reference"], c["resource"], c["mock_value"])
                for c in document["cloud_values"]
            ),
            outputs=document.get("outputs") or {},
        )
    except (KeyError, TypeError) as error:
        raise PlanFormatError(f"a plan of version 1 is missing {error}") from error


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


# --- text ------------------------------------------------------------------------------------


def render_plan_text(plan: Plan) -> str:
    """The plan for a terminal: address table, resource tree, user-data sizes."""
    lines = [
        f"Offline plan for stack {plan.stack!r} (the program run under Neutron/Nova-like mocks)",
        "",
    ]
    lines += _address_lines(plan.address_table)
    imported = sum(1 for r in plan.resources if r.options.get("import_id"))
    counts = f"{len(plan.resources) - imported} to create" + (
        f", {imported} to import" if imported else ""
    )
    lines += [
        "",
        f"Resources: {counts} ('=' marks an import)" if imported else f"Resources: {counts}",
        "",
    ]
    lines += [f"+ pulumi:pulumi:Stack  lxdhost-{plan.stack}"]
    lines += _tree_lines(plan.resources)
    lines += ["", "User-data (base64 size against Nova's limit of 65535 bytes)", ""]
    lines += _user_data_lines(plan.user_data)
    for item in plan.user_data:
        lines += ["", f"--- {item.server} ({item.host or 'no LxdHost'}): user-data ---"]
        lines += item.user_data.rstrip("\n").splitlines()
    if plan.outputs:
        lines += ["", "Outputs", ""]
        lines += _output_lines(plan.outputs)
    if plan.cloud_values:
        lines += [
            "",
            "<Type:name.property> marks a value only the cloud knows (known after create).",
            "The user-data above holds the mocks' stand-ins for them (a fa:16:3e port MAC, the",
            "network's MTU): the real port's MAC differs; the rest is byte for byte what boots.",
        ]
    return "\n".join(lines) + "\n"


def _address_lines(table: AddressTable | None) -> list[str]:
    if table is None:
        return ["Address plan: not exported by the program"]
    pool, reserved = table.allocation_pool, table.reserved_range
    lines = [
        "Address plan",
        f"  CIDR             {table.cidr}",
        f"  Gateway          {table.gateway_ip}",
        f"  Allocation pool  {pool.start} - {pool.end}  ({pool.size} addresses, Neutron DHCP)",
        f"  Reserved range   {reserved.start} - {reserved.end}  ({reserved.size} static addresses)",
        "",
    ]
    rows = [("HOST", "SLOT", "IP", "MAC")] + [
        (s.host, s.name, s.ip_address, s.mac_address) for s in table.slots
    ]
    lines += _columns(rows, indent="  ")
    return lines


def _columns(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (
            indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _tree_lines(resources: Sequence[PlannedResource]) -> list[str]:
    children: dict[str | None, list[PlannedResource]] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        siblings = children.get(parent, [])
        for index, resource in enumerate(siblings):
            last = index == len(siblings) - 1
            mark = "=" if resource.options.get("import_id") else "+"
            branch = "└─ " if last else "├─ "
            lines.append(f"{mark} {prefix}{branch}{resource.type}  {resource.name}")
            inner = prefix + ("   " if last else "│  ")
            below = "│  " if children.get(resource.key) else "   "
            lines.extend(f"  {inner}{below}{text}" for text in _input_lines(resource))
            walk(resource.key, inner)

    walk(None, "  ")
    return lines


def _input_lines(resource: PlannedResource) -> list[str]:
    lines = []
    for key in sorted(resource.inputs):
        value = resource.inputs[key]
        if key == "userData" and isinstance(value, str):
            lines.append(f"{snake_case(key)}: <cloud-config: see User-data below>")
        elif (
            isinstance(value, list)
            and len(value) > 1
            and all(isinstance(v, Mapping) for v in value)
        ):
            # One item a line: a port's address pairs are what a reviewer checks slot by slot.
            lines.append(f"{snake_case(key)}:")
            lines.extend(f"  - {_compact(item)}" for item in value)
        else:
            lines.append(f"{snake_case(key)}: {_compact(value)}")
    flags = [
        name
        for name in ("delete_before_replace", "retain_on_delete", "protect")
        if resource.options.get(name)
    ]
    if resource.options.get("import_id"):
        flags.append(f"import_id={resource.options['import_id']}")
    if flags:
        lines.append(f"options: {', '.join(flags)}")
    return lines


def _compact(value: Any, *, engine_names: bool = True) -> str:
    """One line for a value; `engine_names` spells the provider's camelCase keys as Python's."""
    if isinstance(value, str):
        return value if value.startswith("<") and value.endswith(">") else json_string(value)
    if isinstance(value, Mapping):
        items = (
            f"{snake_case(str(k)) if engine_names else k}: {_compact(v, engine_names=engine_names)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_compact(v, engine_names=engine_names) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _output_lines(outputs: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(outputs):
        value = outputs[name]
        if (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, Mapping | str) for v in value.values())
        ):
            lines.append(f"  {name}:")
            lines.extend(
                f"    {key}: {_compact(value[key], engine_names=False)}"
                for key in sorted(value, key=natural_key)
            )
        else:
            lines.append(f"  {name}: {_compact(value, engine_names=False)}")
    return lines


def _user_data_lines(user_data: Sequence[ServerUserData]) -> list[str]:
    if not user_data:
        return ["  (no servers)"]
    rows = [("SERVER", "HOST", "BYTES", "BASE64", "OF LIMIT")]
    for item in user_data:
        share = f"{100 * item.base64_size / NOVA_USER_DATA_LIMIT:.1f}%"
        if not item.within_limit:
            share += f"  OVER by {item.base64_size - NOVA_USER_DATA_LIMIT} bytes"
        rows.append(
            (
                item.server,
                item.host or "-",
                str(len(item.user_data.encode())),
                str(item.base64_size),
                share,
            )
        )
    return _columns(rows, indent="  ")


def render_plan_markdown(plan: Plan) -> str:
    """The plan for a pull-request comment or a wiki page: the text form in a code block."""
    return f"### Offline plan for `{plan.stack}`\n\n```text\n{render_plan_text(plan)}```\n"

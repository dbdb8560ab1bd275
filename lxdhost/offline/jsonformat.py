"""The offline plan and its diff as JSON (`plan --json`): the format, its schema, and reading a
saved plan back (`--diff BASE.json`). docs/review.md explains each field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxdhost.offline.diff import PlanDiff
from lxdhost.offline.model import (
    AddressRangeRow,
    AddressTable,
    CloudValue,
    OfflinePlan,
    PlannedResource,
    ServerUserData,
    SlotRow,
)
from userdata import NOVA_USER_DATA_LIMIT

PLAN_FORMAT_VERSION = 1


class PlanFormatError(ValueError):
    """A saved plan (`--diff BASE.json`) is not a plan this version reads."""


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


def plan_to_json(plan: OfflinePlan) -> dict[str, Any]:
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


def plan_from_json(document: Any) -> OfflinePlan:
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
        return OfflinePlan(
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


def diff_to_json(diff: PlanDiff) -> dict[str, Any]:
    """The diff as JSON (documented in docs/review.md)."""
    return {
        "version": 1,
        "base_stack": diff.base_stack,
        "stack": diff.stack,
        "replaces": [c.name for c in diff.disruptive],
        "changes": [
            {
                "key": c.key,
                "type": c.type,
                "name": c.name,
                "action": c.action.value,
                "disruptive": c.disruptive,
                "reasons": c.reasons(),
                "inputs": [
                    {
                        "name": i.name,
                        "paths": list(i.paths),
                        "because_of": i.because_of,
                        "effect": i.effect.value,
                    }
                    for i in c.inputs
                ],
                "options": list(c.options),
            }
            for c in diff.changes
        ],
        "user_data_diffs": dict(diff.user_data_diffs),
    }

"""The offline plan and its diff for people: text for a terminal, Markdown for a pull request."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lxdhost.offline.diff import Action, PlanDiff
from lxdhost.offline.model import (
    AddressTable,
    OfflinePlan,
    PlannedResource,
    ServerUserData,
    natural_key,
    snake_case,
)
from userdata import NOVA_USER_DATA_LIMIT

# The verdict line names at most this many replaced resources.
_MOST_NAMED = 8


def render_plan_text(plan: OfflinePlan) -> str:
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
            "network's MTU, the certificates a stack with lxdManagement: api makes once): the",
            "real port's MAC and certificates differ; the rest is byte for byte what boots.",
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


def render_plan_markdown(plan: OfflinePlan) -> str:
    """The plan for a pull-request comment or a wiki page: the text form in a code block."""
    return f"### Offline plan for `{plan.stack}`\n\n```text\n{render_plan_text(plan)}```\n"


def summary_line(diff: PlanDiff) -> str:
    counts = ", ".join(
        f"{diff.count(action)} to {action.value}"
        for action in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.REBUILD, Action.DELETE)
        if diff.count(action) or action in (Action.CREATE, Action.REPLACE, Action.DELETE)
    )
    return counts


def verdict_line(diff: PlanDiff) -> str:
    disruptive = diff.disruptive
    if not disruptive:
        return "Nothing will be replaced."
    # The per-resource lines above name them all; the verdict stays one readable line.
    listed = [f"{c.name} ({c.short_type}, {c.action.value})" for c in disruptive[:_MOST_NAMED]]
    if len(disruptive) > _MOST_NAMED:
        listed.append(f"and {len(disruptive) - _MOST_NAMED} more")
    return f"WILL REPLACE: {', '.join(listed)}"


def render_diff_text(diff: PlanDiff) -> str:
    """One line per reason: `lxd-2  REPLACE  user_data changed (write_files[0].content)`."""
    lines = [f"Offline plan diff for stack {diff.stack!r} against its base plan", ""]
    if not diff.changes:
        lines.append("No changes.")
    rows = [
        (change.name, change.action.name, reason, change.short_type)
        for change in diff.changes
        for reason in change.reasons()
    ]
    if rows:
        name_width = max(len(r[0]) for r in rows)
        seen: set[tuple[str, str]] = set()
        for name, action, reason, short_type in rows:
            first = (name, short_type) not in seen
            seen.add((name, short_type))
            label = (
                f"{name.ljust(name_width)}  {action.ljust(7)}" if first else " " * (name_width + 9)
            )
            suffix = f"  [{short_type}]" if first else ""
            lines.append(f"  {label}  {reason}{suffix}")
    lines += ["", summary_line(diff) + ".", verdict_line(diff)]
    for servers, body in grouped_user_data_diffs(diff):
        lines += ["", f"user_data of {', '.join(servers)}:", body.rstrip("\n")]
    return "\n".join(lines) + "\n"


def grouped_user_data_diffs(diff: PlanDiff) -> list[tuple[list[str], str]]:
    """Servers whose user_data changed the same way share one diff (four hosts, one package)."""
    groups: dict[str, list[str]] = {}
    for server, text in diff.user_data_diffs.items():
        # The first two lines name the server; the hunks are what may repeat.
        body = "".join(text.splitlines(keepends=True)[2:])
        groups.setdefault(body, []).append(server)
    return [(servers, body) for body, servers in groups.items()]


def render_diff_markdown(diff: PlanDiff) -> str:
    """The diff as a pull-request comment: a verdict, a table, user_data diffs folded away."""
    disruptive = diff.disruptive
    title = (
        f"{len(disruptive)} resource(s) will be replaced"
        if disruptive
        else "nothing will be replaced"
    )
    lines = [f"### Offline plan for `{diff.stack}`: {title}", ""]
    lines += [f"{summary_line(diff)}. {verdict_line(diff)}", ""]
    if diff.changes:
        lines += ["| Resource | Type | Action | Why |", "|---|---|---|---|"]
        for change in diff.changes:
            action = change.action.name
            if change.disruptive:
                action = f"**{action}**"
            why = "<br>".join(_escape_cell(reason) for reason in change.reasons())
            lines.append(f"| `{change.name}` | {change.short_type} | {action} | {why} |")
    for servers, body in grouped_user_data_diffs(diff):
        names = ", ".join(f"<code>{server}</code>" for server in servers)
        lines += [
            "",
            f"<details><summary>{names} user_data</summary>",
            "",
            "```diff",
            body.rstrip("\n"),
            "```",
            "",
            "</details>",
        ]
    lines += [
        "",
        "<sub>Computed without a cloud by `python -m lxdhost plan --diff`: the real program under "
        "Neutron/Nova-like mocks. `<Type:name.property>` marks a value only the cloud knows.</sub>",
    ]
    return "\n".join(lines) + "\n"


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

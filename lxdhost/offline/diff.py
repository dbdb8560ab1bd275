"""Compare two offline plans: what is added, removed, changed, and which changes replace what.

OpenStack replaces a resource when an argument its provider marks `ForceNew` changes; for the
LXD hosts that is the costly surprise (a new server, its disk and its containers gone). The
rules below are terraform-provider-openstack's schema (which pulumi-openstack 5.x wraps), as the
installed SDK's own docstrings state them: "Changing this creates a new server". A server's
image is the exception: changing it *rebuilds* the server in place, which wipes its root disk
just the same, so the diff reports it as REBUILD and counts it with the replacements.

A replaced resource gets new ids and, for a port, a new MAC: every input of another resource
that refers to one of its values (`<Port:lxd-1-port.mac_address>` inside a server's user_data)
changes too, as `pulumi preview` would show it, and may replace that resource in turn.

A component's inputs (an LxdHost's `userDataMaxBytes`, which the policy pack judges) reach no
cloud: `pulumi preview` shows a change to them as an update of the component that only the
stack's state records. The diff leaves them out; it is about what the cloud does.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from lxdhost import tokens
from lxdhost.lxdresources import CERTIFICATE_REPLACES, CONTAINER_REPLACES, PROFILE_REPLACES
from lxdhost.offline.model import (
    OfflinePlan,
    PlannedResource,
    display_order,
    references_in,
    snake_case,
)
from userdata.yamltext import load_yaml

# Inputs (the engine's camelCase names) whose change replaces the resource: the provider's
# ForceNew arguments. `region` forces a new resource everywhere; so do `tenantId` and
# `valueSpecs` on the resources that have them.
_REGION = frozenset({"region"})
_PROJECT_OWNED = _REGION | {"tenantId", "valueSpecs"}
REPLACING_INPUTS: Mapping[str, frozenset[str]] = {
    tokens.INSTANCE: _REGION
    | {
        "userData",
        "keyPair",
        "networks",
        "blockDevices",
        "availabilityZone",
        "availabilityZoneHints",
        "configDrive",
        "hypervisorHostname",
        "schedulerHints",
        "networkMode",
    },
    tokens.SUBNET: _PROJECT_OWNED
    | {
        "networkId",
        "cidr",
        "ipVersion",
        "prefixLength",
        "subnetpoolId",
        "ipv6AddressMode",
        "ipv6RaMode",
    },
    tokens.PORT: _PROJECT_OWNED | {"networkId", "macAddress", "deviceId", "deviceOwner"},
    tokens.NETWORK: _PROJECT_OWNED | {"availabilityZoneHints"},
    tokens.ROUTER: _PROJECT_OWNED | {"availabilityZoneHints"},
    tokens.ROUTER_INTERFACE: _REGION | {"routerId", "subnetId", "portId"},
    tokens.FLOATING_IP: _PROJECT_OWNED
    | {"pool", "address", "subnetId", "subnetIds", "dnsName", "dnsDomain"},
    tokens.SEC_GROUP: _REGION | {"tenantId", "deleteDefaultRules"},
    tokens.SEC_GROUP_RULE: _REGION
    | {
        "tenantId",
        "direction",
        "ethertype",
        "protocol",
        "portRangeMin",
        "portRangeMax",
        "remoteIpPrefix",
        "remoteGroupId",
        "remoteAddressGroupId",
        "securityGroupId",
        "description",
    },
    tokens.KEYPAIR: _REGION | {"name", "publicKey", "userId", "valueSpecs"},
    # The dynamic resources: what their own providers' diff replaces on.
    tokens.CERTIFICATE: frozenset(CERTIFICATE_REPLACES),
    tokens.LXD_PROFILE: frozenset(PROFILE_REPLACES),
    tokens.LXD_CONTAINER: frozenset(CONTAINER_REPLACES),
}

# Inputs that rebuild a server in place: same id, same port, but its root disk is re-imaged.
REBUILDING_INPUTS: Mapping[str, frozenset[str]] = {
    tokens.INSTANCE: frozenset({"imageName", "imageId", "personalities"}),
}

# What an in-place update does, where a reviewer should know.
UPDATE_NOTES: Mapping[tuple[str, str], str] = {
    (tokens.INSTANCE, "flavorName"): "resize: the server reboots",
    (tokens.INSTANCE, "flavorId"): "resize: the server reboots",
}

# A reason line names at most this many paths; more are shortened to their common parents.
_MOST_PATHS = 4

# Replacing these costs nothing a user would notice (a rule is created before the old one is
# deleted): they are reported, but do not make the exit status say "something is replaced".
HARMLESS_REPLACEMENTS = frozenset({tokens.SEC_GROUP_RULE})


class Action(enum.Enum):
    CREATE = "create"
    DELETE = "delete"
    UPDATE = "update"
    REBUILD = "rebuild"
    REPLACE = "replace"


@dataclass(frozen=True)
class InputChange:
    """One top-level input that differs, and where inside it."""

    name: str  # the engine's name, `userData`
    paths: tuple[str, ...]  # inside the value: `write_files[0].content`; empty if the whole
    because_of: str | None = None  # the replaced resource whose new values change it
    effect: Action = Action.UPDATE
    note: str | None = None

    def describe(self) -> str:
        text = f"{snake_case(self.name)} changed"
        details = list(summarise_paths(self.paths))
        if self.because_of is not None:
            details.append(f"{self.because_of} is replaced")
        if self.note is not None:
            details.append(self.note)
        return f"{text} ({'; '.join(details)})" if details else text


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource."""

    key: str
    type: str
    name: str
    action: Action
    inputs: tuple[InputChange, ...] = ()
    options: tuple[str, ...] = ()  # resource options that changed (protect, retain_on_delete...)

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def disruptive(self) -> bool:
        """A replacement (or rebuild) that loses something: a server's disk, an address, an id."""
        return (
            self.action in (Action.REPLACE, Action.REBUILD)
            and self.type not in HARMLESS_REPLACEMENTS
        )

    def reasons(self) -> list[str]:
        if self.action is Action.CREATE:
            return ["new"]
        if self.action is Action.DELETE:
            return ["removed from the program"]
        ranked = sorted(self.inputs, key=lambda c: _EFFECT_RANK[c.effect], reverse=True)
        found = [change.describe() for change in ranked]
        found += [f"option {option} changed" for option in self.options]
        return found


_EFFECT_RANK = {Action.UPDATE: 0, Action.REBUILD: 1, Action.REPLACE: 2}


@dataclass(frozen=True)
class PlanDiff:
    """Every resource that differs between a base plan and the current one."""

    base_stack: str
    stack: str
    changes: tuple[ResourceChange, ...]
    user_data_diffs: Mapping[str, str]  # server name -> unified diff of its cloud-config

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    @property
    def disruptive(self) -> tuple[ResourceChange, ...]:
        return tuple(change for change in self.changes if change.disruptive)


def diff_plans(base: OfflinePlan, current: OfflinePlan) -> PlanDiff:
    """What applying `current` to a stack built from `base` would do."""
    before = {r.key: r for r in base.resources}
    after = {r.key: r for r in current.resources}
    produced_by = _producers(base) | _producers(current)

    input_changes: dict[str, list[InputChange]] = {}
    for key, resource in after.items():
        if key in before:
            custom = resource.custom
            input_changes[key] = list(_input_changes(before[key], resource)) if custom else []

    # A replacement changes the replaced resource's ids and MAC, so whatever refers to them
    # changes too: repeat until no new replacement appears (chains are short: port -> server).
    replaced: set[str] = set()
    while True:
        newly = {
            key
            for key, changes in input_changes.items()
            if key not in replaced and any(c.effect is Action.REPLACE for c in changes)
        }
        if not newly:
            break
        replaced |= newly
        for key, resource in after.items():
            if key not in before or not resource.custom:
                continue
            known = {c.name for c in input_changes[key]}
            for name, value in resource.inputs.items():
                if name in known:
                    continue
                if _matches(name, set(resource.options.get("ignore_changes") or [])):
                    continue
                culprit = _replaced_reference(value, replaced, produced_by)
                if culprit is not None:
                    effect, note = _effect(resource, name)
                    culprit_name = after[culprit].name
                    input_changes[key].append(InputChange(name, (), culprit_name, effect, note))

    changes: list[ResourceChange] = []
    for key, resource in after.items():
        if key not in before:
            changes.append(ResourceChange(key, resource.type, resource.name, Action.CREATE))
            continue
        inputs = tuple(sorted(input_changes[key], key=lambda c: c.name))
        options = tuple(_option_changes(before[key], resource))
        if not inputs and not options:
            continue
        action = max(
            (c.effect for c in inputs), key=_EFFECT_RANK.__getitem__, default=Action.UPDATE
        )
        changes.append(ResourceChange(key, resource.type, resource.name, action, inputs, options))
    for key, resource in before.items():
        if key not in after:
            changes.append(ResourceChange(key, resource.type, resource.name, Action.DELETE))

    by_key = {**before, **after}
    changes.sort(key=lambda c: display_order(by_key[c.key]))
    return PlanDiff(
        base_stack=base.stack,
        stack=current.stack,
        changes=tuple(changes),
        user_data_diffs=_user_data_diffs(before, after, changes),
    )


def _producers(plan: OfflinePlan) -> dict[str, str]:
    return {value.reference: value.resource for value in plan.cloud_values if value.resource}


def _effect(resource: PlannedResource, name: str) -> tuple[Action, str | None]:
    replace_on_changes = set(resource.options.get("replace_on_changes") or [])
    if name in REPLACING_INPUTS.get(resource.type, ()) or _matches(name, replace_on_changes):
        return Action.REPLACE, None
    if name in REBUILDING_INPUTS.get(resource.type, ()):
        return Action.REBUILD, "rebuild: the root disk is re-imaged"
    return Action.UPDATE, UPDATE_NOTES.get((resource.type, name))


def _matches(name: str, option_paths: set[str]) -> bool:
    """Whether an `ignore_changes`/`replace_on_changes` entry names this input (either spelling)."""
    return "*" in option_paths or name in option_paths or snake_case(name) in option_paths


def _input_changes(before: PlannedResource, after: PlannedResource) -> Iterator[InputChange]:
    ignored = set(after.options.get("ignore_changes") or [])
    for name in sorted(set(before.inputs) | set(after.inputs)):
        old, new = before.inputs.get(name), after.inputs.get(name)
        if old == new or _matches(name, ignored):
            continue
        if name == "userData" and isinstance(old, str) and isinstance(new, str):
            paths = tuple(cloud_config_changes(old, new))
        else:
            inner = [p for p in value_changes(old, new) if not _ignored_path(name, p, ignored)]
            if not inner:
                continue
            # Inside a provider argument, name fields as the Python SDK does (`ip_address`).
            paths = tuple(_snake_path(p) for p in inner if p)
        effect, note = _effect(after, name)
        yield InputChange(name, paths, None, effect, note)


def _ignored_path(name: str, path: str, ignored: set[str]) -> bool:
    """Whether an `ignore_changes` entry names a path inside an input (`blockDevices[0].uuid`),
    in either spelling."""
    if not path:
        return False
    return _matches(f"{name}{path}" if path.startswith("[") else f"{name}.{path}", ignored)


def _snake_path(path: str) -> str:
    return ".".join(snake_case(part) for part in path.split("."))


def _replaced_reference(
    value: Any, replaced: set[str], produced_by: Mapping[str, str]
) -> str | None:
    for reference in references_in(value):
        producer = produced_by.get(reference)
        if producer in replaced:
            return producer
    return None


def _option_changes(before: PlannedResource, after: PlannedResource) -> Iterator[str]:
    for option in ("delete_before_replace", "retain_on_delete", "protect", "import_id"):
        if before.options.get(option) != after.options.get(option):
            yield option


# --- structural diff of values and cloud-config documents -----------------------------------


def summarise_paths(paths: Sequence[str], most: int = _MOST_PATHS) -> list[str]:
    """At most `most` paths: cut back to their parents until few enough remain.

    Ten changed slot profiles read better as `lxd.preseed > profiles` than as forty leaves; an
    empty result means "the whole value".
    """
    current = list(dict.fromkeys(paths))
    while len(current) > most:
        current = list(dict.fromkeys(p for p in (_parent_path(p) for p in current) if p))
    return current


def _parent_path(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["), path.rfind(" > "))
    return path[:cut] if cut > 0 else ""


def cloud_config_changes(before: str, after: str) -> Iterator[str]:
    """Paths inside two cloud-config documents that differ: `write_files[0].content`, `packages`.

    Both are parsed as YAML and compared structurally, so re-ordering a mapping's keys or
    re-flowing a string is no change; a string that is itself YAML (the LXD preseed, a netplan
    file) is parsed and compared in turn: `lxd.preseed > profiles[1].devices.eth0.hwaddr`.
    """
    try:
        old, new = load_yaml(before), load_yaml(after)
    except yaml.YAMLError:
        yield "not YAML"
        return
    yield from value_changes(old, new)


def value_changes(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """Paths at which two JSON-like values differ, as deep as they are both containers."""
    if before == after:
        return
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in before or key not in after:
                yield child
            else:
                yield from value_changes(before[key], after[key], child)
    elif _is_list(before) and _is_list(after) and _all_containers(before, after):
        for index in range(max(len(before), len(after))):
            child = f"{path}[{index}]"
            if index >= len(before) or index >= len(after):
                yield child
            else:
                yield from value_changes(before[index], after[index], child)
    elif isinstance(before, str) and isinstance(after, str) and "\n" in before + after:
        inner = list(_embedded_yaml_changes(before, after))
        yield from (f"{path} > {p}" for p in inner) if inner else [path]
    else:
        # Scalars, or lists of scalars (`packages`): the whole value is the change.
        yield path


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _all_containers(*lists: Sequence[Any]) -> bool:
    return all(isinstance(item, Mapping | list) for items in lists for item in items)


def _embedded_yaml_changes(before: str, after: str) -> list[str]:
    try:
        old, new = load_yaml(before), load_yaml(after)
    except yaml.YAMLError:
        return []
    if not (isinstance(old, Mapping | list) and isinstance(new, Mapping | list)):
        return []
    return [p for p in value_changes(old, new) if p]


def _user_data_diffs(
    before: Mapping[str, PlannedResource],
    after: Mapping[str, PlannedResource],
    changes: Sequence[ResourceChange],
) -> dict[str, str]:
    diffs = {}
    for change in changes:
        if change.type != tokens.INSTANCE or change.action in (Action.CREATE, Action.DELETE):
            continue
        old = before[change.key].inputs.get("userData")
        new = after[change.key].inputs.get("userData")
        if isinstance(old, str) and isinstance(new, str) and old != new:
            diffs[change.name] = "".join(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"{change.name} user_data (base)",
                    tofile=f"{change.name} user_data (this change)",
                )
            )
    return diffs


# --- output ----------------------------------------------------------------------------------

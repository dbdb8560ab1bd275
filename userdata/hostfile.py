"""Host description files (YAML) read into a HostSpec, every bad key reported at once.

A host file's keys are HostSpec's fields (plus `slots`), with HostSpec's types, defaults and
help (`userdata.options`); `KEYS` lists them, and `python -m userdata render --help` prints it.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from userdata.host import HOST_OPTIONS, HostSpec
from userdata.lxd import ContainerSlotProfile, LxdProfile
from userdata.options import HostOption
from userdata.validation import Problem, UserDataError


@dataclass(frozen=True)
class Key:
    """One key of a host file: its type as the user writes it, its default and what it does."""

    name: str
    kind: str  # shown in --help: "string", "integer", "boolean", "list of strings", ...
    default: str  # as YAML spells it
    help: str


def _kind(option: HostOption) -> str:
    """How a user writes the option's type: `netplan | ifupdown | null`, `list of strings`."""
    if option.kind is not None:
        kind = option.kind
    elif option.choices:
        kind = " | ".join(map(str, option.choices))
    elif option.base_type in _KINDS:
        kind = _KINDS[option.base_type]
    elif option.base_type == tuple[str, ...]:
        kind = "list of strings"
    else:
        raise TypeError(f"HostSpec.{option.name}: declare how a user writes it (option(kind=))")
    return f"{kind} | null" if option.optional else kind


_KINDS: dict[object, str] = {str: "string", int: "integer", bool: "boolean"}


def _yaml(value: object) -> str:
    text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value)
    return text.removesuffix("\n...\n").strip()


def _key(option: HostOption) -> Key:
    return Key(option.name, _kind(option), _yaml(option.default), option.help.replace("`", ""))


SLOTS = Key(
    "slots",
    "list of mappings",
    "[]",
    "Container slot profiles: {name, hwaddr, address: IP/prefix, gateway, nameservers: "
    "[IP, ...], mtu, interface (eth0), bridge (the host's)}: the container's NIC bridged "
    "to the bridge with that MAC and a static address",
)

# HostSpec's fields, with `slots` (turned into profiles) before the other profiles.
KEYS: tuple[Key, ...] = tuple(
    key
    for option in HOST_OPTIONS
    for key in ((SLOTS, _key(option)) if option.name == "profiles" else (_key(option),))
)
_SPEC_FIELDS = frozenset(option.name for option in HOST_OPTIONS)


def keys_help() -> str:
    """The reference of the host file's keys, for --help and the docs."""
    width = max(len(key.name) for key in KEYS)
    lines = ["host file keys (YAML mapping; every key is optional; unset is null):"]
    for key in KEYS:
        lines.append(f"  {key.name:<{width}}  {key.kind} (default {key.default})")
        lines.extend(
            textwrap.wrap(
                key.help,
                width=96,
                initial_indent=" " * (width + 6),
                subsequent_indent=" " * (width + 6),
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        self.problem = Problem(f"{key}", f"appears twice (line {line}); keep one")
        super().__init__(str(self.problem))


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise _DuplicateKeyError(key, key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _yaml_problem(error: yaml.YAMLError) -> Problem:
    if isinstance(error, _DuplicateKeyError):
        return error.problem
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return Problem("(file)", f"not YAML: {error.problem} (line {error.problem_mark.line + 1})")
    return Problem("(file)", f"not YAML: {' '.join(str(error).split())}")


def _entry_values(
    item: object, where: str, entry: type[Any], problems: list[Problem]
) -> dict[str, Any] | None:
    """The known keys of a list item that is to become an `entry`, or None when it cannot:
    not a mapping, or a required key missing. Unknown keys are reported and left out; type
    and value problems are the entry's own to report."""
    fields = dataclasses.fields(entry)
    if not isinstance(item, dict):
        keys = ", ".join(f.name for f in fields)
        problems.append(Problem(where, f"{item!r} is not a mapping (keys: {keys})"))
        return None
    names = {f.name for f in fields}
    problems.extend(Problem(f"{where}.{key}", "unknown key") for key in item if key not in names)
    missing = [
        Problem(f"{where}.{f.name}", "required")
        for f in fields
        if f.name not in item
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    problems.extend(missing)
    return None if missing else {key: value for key, value in item.items() if key in names}


def _entries(document: dict[str, Any], key: str, problems: list[Problem]) -> list[Any]:
    entries = document.get(key, [])
    if not isinstance(entries, list):
        problems.append(Problem(key, f"{entries!r} is not a list of mappings"))
        return []
    return entries


def spec_from_mapping(document: object) -> HostSpec:
    """A HostSpec from a parsed host file; raises UserDataError naming each bad key."""
    if not isinstance(document, dict):
        raise UserDataError(
            [Problem("(top level)", "a host file is a YAML mapping of the keys in --help")]
        )
    problems: list[Problem] = [
        Problem(key, "unknown key (see --help for the keys)")
        for key in document
        if key not in _SPEC_FIELDS and key != SLOTS.name
    ]
    profiles: list[LxdProfile] = []
    for index, item in enumerate(_entries(document, "profiles", problems)):
        values = _entry_values(item, f"profiles[{index}]", LxdProfile, problems)
        if values is not None:
            profiles.append(LxdProfile(**values))  # HostSpec checks its devices and config
    for index, item in enumerate(_entries(document, SLOTS.name, problems)):
        where = f"slots[{index}]"
        values = _entry_values(item, where, ContainerSlotProfile, problems)
        if values is not None:
            slot = ContainerSlotProfile(**values)
            found = slot.problems(where)
            problems.extend(found)
            if not found:
                profiles.append(slot.profile())
    spec = HostSpec(
        **{k: v for k, v in document.items() if k in _SPEC_FIELDS and k != "profiles"},
        profiles=tuple(profiles),
    )
    problems.extend(spec.problems())
    if problems:
        raise UserDataError(problems)
    return spec


def load_host_file(path: Path | str) -> HostSpec:
    """Read and check a host description file; raises UserDataError (also for I/O and YAML)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise UserDataError([Problem("(file)", f"cannot read {path} ({reason})")]) from error
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise UserDataError([_yaml_problem(error)]) from error
    return spec_from_mapping({} if document is None else document)


__all__ = ["KEYS", "Key", "keys_help", "load_host_file", "spec_from_mapping"]

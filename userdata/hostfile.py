"""Host description files (YAML) read into a HostSpec, every bad key reported at once.

`KEYS` is the one list of the file's keys: the loader checks types against it and
`python -m userdata render --help` prints it.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from userdata.cloudconfig import UserDataError
from userdata.host import HostSpec
from userdata.lxd import LxdProfile, container_slot_profile, slot_problems


@dataclass(frozen=True)
class Key:
    """One key of a host file: its type as the user writes it, and what it does."""

    name: str
    kind: str  # shown in --help: "string", "integer", "boolean", "list of strings", ...
    help: str

    @property
    def default(self) -> str:
        """The default as YAML would spell it, read from HostSpec so the two cannot drift."""
        value = _SPEC_DEFAULTS.get(self.name, [])
        text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value)
        return text.removesuffix("\n...\n").strip()


KEYS: tuple[Key, ...] = (
    Key("distro", "ubuntu | debian", "the image's distribution"),
    Key(
        "network_renderer",
        "netplan | ifupdown | null",
        "how the bridge is written; null: the distro's own (ubuntu: netplan, debian: ifupdown)",
    ),
    Key("interface", "string", "the NIC bridged into the bridge"),
    Key("bridge", "string", "the bridge that takes the NIC's DHCP address"),
    Key("mtu", "integer | null", "MTU of NIC and bridge; null: what DHCP/the NIC says"),
    Key(
        "macaddress",
        "string | null",
        "the Neutron port's MAC, pinned on the bridge (port security drops any other)",
    ),
    Key(
        "disable_cloud_init_network",
        "boolean",
        "write 99-disable-network-config.cfg and neutralise cloud-init's own network file "
        "(the blog did neither: false)",
    ),
    Key(
        "lxd_form",
        "preseed | module",
        "LXD init: a preseed (pool, default profile, extra profiles), or the blog's "
        "lxd: {init, bridge} module form",
    ),
    Key("storage_backend", "dir | zfs | lvm | btrfs", "the LXD storage pool's driver"),
    Key("storage_pool", "string", "the LXD storage pool's name"),
    Key(
        "lxd_network_address",
        "string | null",
        "IP address LXD listens on for remote clients; null: local socket only",
    ),
    Key("lxd_network_port", "integer", "port for lxd_network_address"),
    Key("packages", "list of strings", "extra packages to install"),
    Key("package_update", "boolean", "apt-get update even with no packages"),
    Key("package_upgrade", "boolean", "upgrade installed packages on first boot"),
    Key("ssh_authorized_keys", "list of strings", "public keys for the default user"),
    Key("runcmd", "list of commands", "extra commands (shell lines or argv lists), run last"),
    Key(
        "slots",
        "list of mappings",
        "container slot profiles: {name, hwaddr, address: IP/prefix, gateway, nameservers: "
        "[IP, ...], mtu}; eth0 bridged to the bridge with that MAC and a static address",
    ),
    Key(
        "profiles",
        "list of mappings",
        "other LXD profiles: {name, description, config: {key: string}, devices: {name: "
        "{key: string}}}; bridged NICs without parent get the bridge",
    ),
    Key("reboot_message", "string", "power_state.message of the one reboot"),
    Key("reboot_timeout", "integer", "seconds power_state waits for cloud-init to finish"),
)

_SPEC_DEFAULTS: dict[str, object] = {
    spec_field.name: spec_field.default for spec_field in dataclasses.fields(HostSpec)
}
_SLOT_KEYS = ("name", "hwaddr", "address", "gateway", "nameservers", "mtu")
_PROFILE_KEYS = ("name", "description", "config", "devices")


def keys_help() -> str:
    """The reference of the host file's keys, for --help and the docs."""
    width = max(len(key.name) for key in KEYS)
    lines = ["host file keys (YAML mapping; every key is optional):"]
    for key in KEYS:
        lines.append(f"  {key.name:<{width}}  {key.kind} (default {key.default})")
        lines.extend(
            textwrap.wrap(
                key.help,
                width=96,
                initial_indent=" " * (width + 6),
                subsequent_indent=" " * (width + 6),
            )
        )
    return "\n".join(lines)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_command_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, str) or _is_str_list(item) for item in value
    )


def _or_null(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value is None or check(value)


# The type each key must have in the file; values are then checked by HostSpec.
_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "distro": (_is_str, "a string"),
    "network_renderer": (_or_null(_is_str), "a string or null"),
    "interface": (_is_str, "a string"),
    "bridge": (_is_str, "a string"),
    "mtu": (_or_null(_is_int), "an integer or null"),
    "macaddress": (_or_null(_is_str), "a string or null"),
    "disable_cloud_init_network": (_is_bool, "true or false"),
    "lxd_form": (_is_str, "a string"),
    "storage_backend": (_is_str, "a string"),
    "storage_pool": (_is_str, "a string"),
    "lxd_network_address": (_or_null(_is_str), "a string or null"),
    "lxd_network_port": (_is_int, "an integer"),
    "packages": (_is_str_list, "a list of strings"),
    "package_update": (_is_bool, "true or false"),
    "package_upgrade": (_is_bool, "true or false"),
    "ssh_authorized_keys": (_is_str_list, "a list of strings"),
    "runcmd": (_is_command_list, "a list of strings or string lists"),
    "slots": (lambda v: isinstance(v, list), "a list of mappings"),
    "profiles": (lambda v: isinstance(v, list), "a list of mappings"),
    "reboot_message": (_is_str, "a string"),
    "reboot_timeout": (_is_int, "an integer"),
}
assert tuple(_CHECKS) == tuple(key.name for key in KEYS)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"{key}: appears twice (line {line}); keep one")


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


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, _DuplicateKeyError):
        return str(error)
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return f"(file): not YAML: {error.problem} (line {error.problem_mark.line + 1})"
    return f"(file): not YAML: {' '.join(str(error).split())}"


def _slot(item: object, where: str, problems: list[str]) -> LxdProfile | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be a mapping with {', '.join(_SLOT_KEYS)}")
        return None
    before = len(problems)
    problems.extend(f"{where}.{key}: unknown key" for key in item if key not in _SLOT_KEYS)
    for key in ("name", "hwaddr", "address"):
        if key not in item:
            problems.append(f"{where}.{key}: required")
        elif not isinstance(item[key], str):
            problems.append(f"{where}.{key}: must be a string")
    if "gateway" in item and not _or_null(_is_str)(item["gateway"]):
        problems.append(f"{where}.gateway: must be a string or null")
    if "nameservers" in item and not _is_str_list(item["nameservers"]):
        problems.append(f"{where}.nameservers: must be a list of strings")
    if "mtu" in item and not _or_null(_is_int)(item["mtu"]):
        problems.append(f"{where}.mtu: must be an integer or null")
    if len(problems) > before:
        return None
    nameservers = tuple(item.get("nameservers", ()))
    value_problems = slot_problems(
        where,
        hwaddr=item["hwaddr"],
        address=item["address"],
        gateway=item.get("gateway"),
        nameservers=nameservers,
    )
    if value_problems:
        problems.extend(value_problems)
        return None
    try:
        return container_slot_profile(
            name=item["name"],
            hwaddr=item["hwaddr"],
            address=item["address"],
            gateway=item.get("gateway"),
            nameservers=nameservers,
            mtu=item.get("mtu"),
        )
    except UserDataError as error:
        problems.extend(p.replace(f"profiles[{item['name']}]", where) for p in error.problems)
        return None


def _profile(item: object, where: str, problems: list[str]) -> LxdProfile | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be a mapping with {', '.join(_PROFILE_KEYS)}")
        return None
    before = len(problems)
    problems.extend(f"{where}.{key}: unknown key" for key in item if key not in _PROFILE_KEYS)
    if not isinstance(item.get("name"), str):
        problems.append(f"{where}.name: required, a string")
    if not isinstance(item.get("description", ""), str):
        problems.append(f"{where}.description: must be a string")
    config = item.get("config", {})
    if not isinstance(config, dict) or not all(isinstance(v, str) for v in config.values()):
        problems.append(f"{where}.config: must map keys to strings (LXD config values are)")
    devices = item.get("devices", {})
    if not isinstance(devices, dict) or not all(
        isinstance(d, dict) and all(isinstance(v, str) for v in d.values())
        for d in devices.values()
    ):
        problems.append(f"{where}.devices: must map device names to {{key: string}} mappings")
    if len(problems) > before:
        return None
    return LxdProfile(
        name=item["name"],
        description=item.get("description", ""),
        config={str(k): v for k, v in config.items()},
        devices={str(name): {str(k): v for k, v in d.items()} for name, d in devices.items()},
    )


def spec_from_mapping(document: object) -> HostSpec:
    """A HostSpec from a parsed host file; raises UserDataError naming each bad key."""
    if not isinstance(document, dict):
        raise UserDataError(["(top level): a host file is a YAML mapping of the keys in --help"])
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _CHECKS:
            problems.append(f"{key}: unknown key (see --help for the keys)")
            continue
        check, expected = _CHECKS[key]
        if not check(value):
            problems.append(f"{key}: {value!r} is not {expected}")
            continue
        values[key] = value
    profiles: list[LxdProfile] = []
    for index, item in enumerate(values.pop("profiles", [])):
        profile = _profile(item, f"profiles[{index}]", problems)
        if profile is not None:
            profiles.append(profile)
    for index, item in enumerate(values.pop("slots", [])):
        profile = _slot(item, f"slots[{index}]", problems)
        if profile is not None:
            profiles.append(profile)
    for key in ("packages", "ssh_authorized_keys"):
        if key in values:
            values[key] = tuple(values[key])
    if "runcmd" in values:
        values["runcmd"] = tuple(c if isinstance(c, str) else tuple(c) for c in values["runcmd"])
    spec = HostSpec(**values, profiles=tuple(profiles))
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
        raise UserDataError([f"(file): cannot read {path} ({reason})"]) from error
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise UserDataError([_yaml_problem(error)]) from error
    return spec_from_mapping({} if document is None else document)


__all__ = ["KEYS", "Key", "keys_help", "load_host_file", "spec_from_mapping"]

"""A typed cloud-config document: the cloud-init modules LXD hosts need, named as cloud-init does.

Each type mirrors one module (or one item of a module's list) of cloud-init's schema
(`cloudinit/config/schemas/schema-cloud-config-v1.json`), field for field. Rules the schema
cannot express, or that cloud-init only discovers at boot (an lxd `preseed` together with
`init`/`bridge`, cc_lxd.py's `supplemental_schema_validation`), are checked by one validator
that collects every problem and raises once, each problem naming its key.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import yaml

# Nova rejects user_data whose base64 encoding is longer than this (nova/api/validation).
NOVA_USER_DATA_LIMIT = 65535

HEADER = "#cloud-config\n"

StorageBackend = Literal["zfs", "dir", "lvm", "btrfs"]
STORAGE_BACKENDS: tuple[StorageBackend, ...] = typing.get_args(StorageBackend)
BridgeMode = Literal["none", "existing", "new"]
PowerMode = Literal["poweroff", "reboot", "halt"]

# A runcmd/bootcmd entry: a shell line, or an argv list run without a shell.
Command = str | tuple[str, ...]

_PERMISSIONS = re.compile(r"^0?[0-7]{3,4}$")
_OWNER = re.compile(r"^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$")
# Debian Policy 5.6.1: lowercase letters, digits, '+', '-' and '.', at least two characters, an
# alphanumeric first; apt also takes an architecture qualifier (`libc6:i386`).
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9][a-z0-9-]*)?$")
# One authorized_keys line: a key type OpenSSH accepts, the base64 key, an optional comment.
_SSH_PUBLIC_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$"
)


class Problem(str):
    """One problem with an input: the key it is about (`path`, such as
    `profiles[2].devices.eth0.hwaddr`) and what is wrong (`message`). It reads as the line a
    user sees, `path: message`, and a caller that maps keys to its own (the stack's) takes
    `path` as it is, never parsing the line back."""

    path: str
    message: str

    def __new__(cls, path: str, message: str) -> Problem:
        problem = super().__new__(cls, f"{path}: {message}")
        problem.path, problem.message = path, message
        return problem

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (self.path, self.message)

    def field(self, where: str = "") -> str:
        """The first key of `path` below `where`: 'profiles' for `profiles[2].name`."""
        below = self.path[len(where) :].lstrip(".") if where else self.path
        return re.split(r"[.\[]", below, maxsplit=1)[0]


class UserDataError(ValueError):
    """Invalid user-data input; `problems` lists every offending field, one line each."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"invalid user-data ({len(self.problems)} {noun}):\n{lines}")


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise UserDataError(problems)


# How a plain type reads in a problem: (one value, several values).
_NOUNS: dict[object, tuple[str, str]] = {
    str: ("a string", "strings"),
    int: ("an integer", "integers"),
    bool: ("true or false", "booleans"),
    type(None): ("null", "nulls"),
}


def _describe(hint: Any, plural: bool = False) -> str:
    """How a type annotation reads in an error message: 'an integer or null'."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        literals = [
            a
            for arm in arguments
            if typing.get_origin(arm) is Literal
            for a in typing.get_args(arm)
        ]
        others = [
            _describe(arm, plural) for arm in arguments if typing.get_origin(arm) is not Literal
        ]
        head = [f"one of {', '.join(map(str, literals))}"] if literals else []
        return " or ".join(head + others)
    if origin is Literal:
        return f"one of {', '.join(map(str, arguments))}"
    if origin is tuple:
        return f"{'lists' if plural else 'a list'} of {_describe(arguments[0], plural=True)}"
    if origin is not None and issubclass(origin, Mapping):
        return "mappings" if plural else "a mapping"
    if hint in _NOUNS:
        return _NOUNS[hint][plural]
    name = getattr(hint, "__name__", str(hint))
    return f"{name} values" if plural else f"of type {name}"


def _matches(value: object, hint: Any) -> bool:
    return _matcher(hint)(value)


@functools.cache
def _matcher(hint: Any) -> Callable[[object], bool]:
    """Whether a value has the annotated type: worked out once per annotation, not per value."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        arms = tuple(_matcher(arm) for arm in arguments)
        return lambda value: any(arm(value) for arm in arms)
    if origin is Literal:
        return lambda value: any(value == a and type(value) is type(a) for a in arguments)
    if origin is tuple:
        item = _matcher(arguments[0])
        return lambda value: isinstance(value, tuple | list) and all(item(v) for v in value)
    if origin is not None and issubclass(origin, Mapping):
        key, item = _matcher(arguments[0]), _matcher(arguments[1])
        return lambda value: (
            isinstance(value, Mapping) and all(key(k) and item(v) for k, v in value.items())
        )
    if hint is type(None):
        return lambda value: value is None
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    return lambda value: isinstance(value, hint)


def _field_type_problems(value: object, hint: Any, where: str) -> list[Problem]:
    if _matches(value, hint):
        return []
    if typing.get_origin(hint) is tuple and isinstance(value, tuple | list):
        item = typing.get_args(hint)[0]
        return [
            Problem(f"{where}[{index}]", f"{entry!r} is not {_describe(item)}")
            for index, entry in enumerate(value)
            if not _matches(entry, item)
        ]
    return [Problem(where, f"{value!r} is not {_describe(hint)}")]


_Checked = TypeVar("_Checked")


@functools.cache
def _typed_fields(
    cls: type,
) -> tuple[tuple[dataclasses.Field[Any], Any, Callable[[object], bool]], ...]:
    """Each dataclass field with its annotation and that annotation's check: once a class
    (get_type_hints evaluates every postponed annotation on each call)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (spec_field, hints[spec_field.name], _matcher(hints[spec_field.name]))
        for spec_field in dataclasses.fields(cls)
    )


@functools.cache
def _field_order(cls: type) -> dict[str, int]:
    return {spec_field.name: i for i, spec_field in enumerate(dataclasses.fields(cls))}


def checked(instance: _Checked, where: str = "") -> tuple[list[Problem], _Checked | None]:
    """The dataclass fields whose values lack their annotated type, one problem each, and the
    instance with those fields reset to their defaults (None if a field without one is bad),
    so value checks run on the rest without tripping over a wrong type."""
    prefix = f"{where}." if where else ""
    problems: list[Problem] = []
    resets: dict[str, object] = {}
    repairable = True
    kind: type = type(instance)
    for spec_field, hint, matches in _typed_fields(kind):
        value = getattr(instance, spec_field.name)
        if matches(value):
            continue
        problems.extend(_field_type_problems(value, hint, prefix + spec_field.name))
        if spec_field.default is not dataclasses.MISSING:
            resets[spec_field.name] = spec_field.default
        elif spec_field.default_factory is not dataclasses.MISSING:
            resets[spec_field.name] = spec_field.default_factory()
        else:
            repairable = False
    if not repairable:
        return problems, None
    return problems, dataclasses.replace(instance, **resets) if resets else instance  # type: ignore[type-var]


class Validated:
    """A typed value that reports wrong types first, then checks the values of the rest."""

    def problems(self, where: str = "") -> list[Problem]:
        """Every problem, ordered as the fields are declared (the order a user reads them in)."""
        typed, sound = checked(self, where)
        found = typed if sound is None else typed + sound.value_problems(where)
        if not found:
            return found
        kind: type = type(self)
        order = _field_order(kind)
        return sorted(found, key=lambda problem: order.get(problem.field(where), len(order)))

    def value_problems(self, where: str) -> list[Problem]:
        raise NotImplementedError


@dataclass(frozen=True)
class WriteFile(Validated):
    """One `write_files` item."""

    path: str
    content: str = ""
    permissions: str | None = None  # an octal string such as "0600"; None keeps cloud-init's 0644
    owner: str | None = None  # "user:group"; None keeps cloud-init's root:root
    defer: bool = False  # write in the final stage, after packages and users exist

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if not self.path.startswith("/"):
            found.append(
                Problem(
                    f"{where}.path",
                    f"{self.path!r} is relative; write_files needs an absolute path",
                )
            )
        elif "\n" in self.path or "//" in self.path or self.path.endswith("/"):
            found.append(Problem(f"{where}.path", f"{self.path!r} is not a file path"))
        if self.permissions is not None and not _PERMISSIONS.match(self.permissions):
            found.append(
                Problem(
                    f"{where}.permissions",
                    f"{self.permissions!r} is not an octal mode such as '0644'",
                )
            )
        if self.owner is not None and not _OWNER.match(self.owner):
            found.append(Problem(f"{where}.owner", f"{self.owner!r} is not 'user' or 'user:group'"))
        return found

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"path": self.path, "content": self.content}
        if self.permissions is not None:
            item["permissions"] = self.permissions
        if self.owner is not None:
            item["owner"] = self.owner
        if self.defer:
            item["defer"] = True
        return item


@dataclass(frozen=True)
class LxdInit(Validated):
    """`lxd.init`: the arguments of `lxd init --auto`."""

    storage_backend: StorageBackend | None = "dir"
    storage_pool: str | None = None
    network_address: str | None = None
    network_port: int | None = None
    trust_password: str | None = None

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if self.storage_pool is not None and not is_lxd_name(self.storage_pool):
            found.append(
                Problem(f"{where}.storage_pool", f"{self.storage_pool!r} is not a valid LXD name")
            )
        if self.network_port is not None and not 0 < self.network_port < 65536:
            found.append(
                Problem(f"{where}.network_port", f"{self.network_port} is not a TCP port (1-65535)")
            )
        if self.network_port is not None and self.network_address is None:
            found.append(
                Problem(f"{where}.network_port", "needs network_address (LXD listens on neither)")
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return _without_none(
            {
                "storage_backend": self.storage_backend,
                "storage_pool": self.storage_pool,
                "network_address": self.network_address,
                "network_port": self.network_port,
                "trust_password": self.trust_password,
            }
        )


@dataclass(frozen=True)
class LxdBridge(Validated):
    """`lxd.bridge`: which bridge LXD's default profile uses (`existing`) or creates (`new`)."""

    mode: BridgeMode
    name: str | None = None
    ipv4_nat: bool | None = None
    mtu: int | None = None

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if self.mode == "existing" and not self.name:
            found.append(
                Problem(f"{where}.name", "mode 'existing' needs the name of the bridge to use")
            )
        if self.name is not None and not is_interface_name(self.name):
            found.append(Problem(f"{where}.name", f"{self.name!r} is not a Linux interface name"))
        if self.mtu is not None and not 68 <= self.mtu <= 65535:
            found.append(Problem(f"{where}.mtu", f"{self.mtu} is outside 68-65535"))
        return found

    def to_dict(self) -> dict[str, Any]:
        return _without_none(
            {"mode": self.mode, "name": self.name, "ipv4_nat": self.ipv4_nat, "mtu": self.mtu}
        )


class RenderedPreseed(str):
    """Preseed text that `dump_yaml` wrote from a mapping (`userdata.lxd.preseed`).

    A YAML mapping by construction, so validation does not parse it back: that parse was a
    third of a host's render time. Preseed text from anywhere else is parsed and checked.
    """


@dataclass(frozen=True)
class Lxd(Validated):
    """The `lxd` module: either `init` (+ `bridge`), or a `preseed` for `lxd init --preseed`."""

    init: LxdInit | None = None
    bridge: LxdBridge | None = None
    preseed: str | None = None  # YAML text; cloud-init >= 22.4

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if self.init is None and self.bridge is None and self.preseed is None:
            found.append(
                Problem(where, "needs init, bridge or preseed (cloud-init rejects an empty lxd)")
            )
        if self.preseed is not None:
            clashing = [key for key in ("init", "bridge") if getattr(self, key) is not None]
            if clashing:
                found.append(
                    Problem(
                        f"{where}.preseed",
                        "cannot be combined with "
                        f"{', '.join(f'{where}.{key}' for key in clashing)} "
                        "(cloud-init refuses both)",
                    )
                )
            if not isinstance(self.preseed, RenderedPreseed):
                found.extend(_preseed_problems(self.preseed, f"{where}.preseed"))
        if self.init is not None:
            found.extend(self.init.problems(f"{where}.init"))
        if self.bridge is not None:
            found.extend(self.bridge.problems(f"{where}.bridge"))
        return found

    def to_dict(self) -> dict[str, Any]:
        section: dict[str, Any] = {}
        if self.init is not None:
            section["init"] = self.init.to_dict()
        if self.bridge is not None:
            section["bridge"] = self.bridge.to_dict()
        if self.preseed is not None:
            section["preseed"] = str(self.preseed)  # plain text, whatever str type it came as
        return section


@dataclass(frozen=True)
class PowerState(Validated):
    """The `power_state` module: what to do once cloud-init has finished."""

    mode: PowerMode = "reboot"
    delay: Literal["now"] | int = "now"  # minutes
    message: str | None = None
    timeout: int | None = None  # seconds to wait for cloud-init to finish
    condition: bool | str | tuple[str, ...] | None = None

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if self.delay != "now" and not (_is_int(self.delay) and int(self.delay) >= 0):
            found.append(
                Problem(f"{where}.delay", f"{self.delay!r} is neither 'now' nor whole minutes >= 0")
            )
        if self.timeout is not None and not (_is_int(self.timeout) and self.timeout >= 0):
            found.append(Problem(f"{where}.timeout", f"{self.timeout!r} is not whole seconds >= 0"))
        return found

    def to_dict(self) -> dict[str, Any]:
        condition = list(self.condition) if isinstance(self.condition, tuple) else self.condition
        return _without_none(
            {
                "delay": self.delay,
                "mode": self.mode,
                "message": self.message,
                "timeout": self.timeout,
                "condition": condition,
            }
        )


@dataclass(frozen=True)
class User(Validated):
    """One `users` item (the keys the hosts use)."""

    name: str
    ssh_authorized_keys: tuple[str, ...] = ()
    sudo: str | None = None
    groups: tuple[str, ...] = ()
    shell: str | None = None
    lock_passwd: bool | None = None

    def value_problems(self, where: str) -> list[Problem]:
        found = []
        if not _OWNER.match(self.name) or ":" in self.name:
            found.append(Problem(f"{where}.name", f"{self.name!r} is not a user name"))
        found.extend(ssh_key_problems(self.ssh_authorized_keys, f"{where}.ssh_authorized_keys"))
        return found

    def to_dict(self) -> dict[str, Any]:
        return _without_none(
            {
                "name": self.name,
                "groups": list(self.groups) or None,
                "shell": self.shell,
                "sudo": self.sudo,
                "lock_passwd": self.lock_passwd,
                "ssh_authorized_keys": list(self.ssh_authorized_keys) or None,
            }
        )


@dataclass(frozen=True)
class CloudConfig(Validated):
    """A whole cloud-config document; each field is the cloud-init top-level key of that name.

    Empty fields are left out of the rendering, so a document holds only the modules it sets.
    """

    bootcmd: tuple[Command, ...] = ()
    package_update: bool = False
    package_upgrade: bool = False
    packages: tuple[str, ...] = ()
    users: tuple[Literal["default"] | User, ...] = ()
    ssh_authorized_keys: tuple[str, ...] = ()
    write_files: tuple[WriteFile, ...] = ()
    unverified_modules: tuple[str, ...] = ()
    lxd: Lxd | None = None
    runcmd: tuple[Command, ...] = ()
    power_state: PowerState | None = None
    # Keys are emitted in this order: roughly the order cloud-init runs the modules in.

    def value_problems(self, where: str = "") -> list[Problem]:
        found: list[Problem] = []
        found.extend(package_problems(self.packages, "packages"))
        for index, package in _duplicates(self.packages):
            found.append(Problem(f"packages[{index}]", f"{package!r} is listed twice"))
        for index, user in enumerate(self.users):
            if isinstance(user, User):
                found.extend(user.problems(f"users[{index}]"))
        found.extend(ssh_key_problems(self.ssh_authorized_keys, "ssh_authorized_keys"))
        for index, item in enumerate(self.write_files):
            found.extend(item.problems(f"write_files[{index}]"))
        for index, path in _duplicates(item.path for item in self.write_files):
            found.append(Problem(f"write_files[{index}].path", f"{path!r} is written twice"))
        found.extend(command_problems(self.bootcmd, "bootcmd"))
        found.extend(command_problems(self.runcmd, "runcmd"))
        for index, module in enumerate(self.unverified_modules):
            if not re.match(r"^[a-z_]+$", module):
                found.append(
                    Problem(f"unverified_modules[{index}]", f"{module!r} is not a module name")
                )
        if self.lxd is not None:
            found.extend(self.lxd.problems("lxd"))
        if self.power_state is not None:
            found.extend(self.power_state.problems("power_state"))
        return found

    def validate(self) -> None:
        raise_problems(self.problems())

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.bootcmd:
            document["bootcmd"] = [_command(c) for c in self.bootcmd]
        if self.package_update:
            document["package_update"] = True
        if self.package_upgrade:
            document["package_upgrade"] = True
        if self.packages:
            document["packages"] = list(self.packages)
        if self.users:
            document["users"] = [u if isinstance(u, str) else u.to_dict() for u in self.users]
        if self.ssh_authorized_keys:
            document["ssh_authorized_keys"] = list(self.ssh_authorized_keys)
        if self.write_files:
            document["write_files"] = [item.to_dict() for item in self.write_files]
        if self.unverified_modules:
            document["unverified_modules"] = list(self.unverified_modules)
        if self.lxd is not None:
            document["lxd"] = self.lxd.to_dict()
        if self.runcmd:
            document["runcmd"] = [_command(c) for c in self.runcmd]
        if self.power_state is not None:
            document["power_state"] = self.power_state.to_dict()
        return document


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, with libyaml's parser when PyYAML has it: the same values in a fraction
    of the time of the pure-Python parser (every host's preseed, every user_data a diff reads)."""
    return yaml.load(text, Loader=_SAFE_LOADER)


def _represent_str(dumper: yaml.representer.SafeRepresenter, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class PythonDumper(yaml.SafeDumper):
    """PyYAML's own emitter, multi-line strings as literal blocks: the reference bytes."""


PythonDumper.add_representer(str, _represent_str)

LibyamlDumper: type[yaml.CSafeDumper] | None = None
if yaml.__with_libyaml__:

    class _LibyamlDumper(yaml.CSafeDumper):
        """libyaml's emitter with PythonDumper's settings: the same bytes, many times faster."""

    _LibyamlDumper.add_representer(str, _represent_str)
    LibyamlDumper = _LibyamlDumper

# No folding: the two emitters break long lines at different places, and a folded line is
# the same YAML value anyway. (PyYAML takes any width; libyaml a C int.)
_WIDTH = 2**31 - 1
# Where the two emitters are known to differ, PythonDumper alone writes the document: libyaml
# escapes characters beyond U+FFFF (PyYAML writes them as they are) and treats CR, NEL, LS and PS
# as line breaks where PyYAML does not; for keys it uses `? key` at other lengths (it counts
# bytes, PyYAML characters) and writes an empty or multi-line key differently. Everything else,
# the tests render with both and compare.
_EMITTERS_DIFFER = re.compile("[\r\x85\u2028\u2029\U00010000-\U0010ffff]")
_KEY_EMITTERS_DIFFER = re.compile("[\n\r\x85\u2028\u2029\U00010000-\U0010ffff]")
_SIMPLE_KEY_BYTES = 128

_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_RESOLVER = yaml.resolver.Resolver()  # the implicit types both dumpers resolve plain scalars by
if _RESOLVER.yaml_path_resolvers:  # pragma: no cover - PyYAML registers none by itself
    raise ImportError("userdata.cloudconfig cannot work with YAML path resolvers registered")


def _implicit(value: str, tag: str) -> tuple[bool, bool]:
    """What PyYAML's serializer says of a scalar: may it be written plain, or quoted, untagged."""
    resolve: Callable[..., str] = _RESOLVER.resolve
    # The second: the tag an unresolved scalar gets, str's while no path resolver is registered.
    return (resolve(yaml.nodes.ScalarNode, value, (True, False)) == tag, tag == _STR_TAG)


def _new_scalar(value: str, kind: str, style: str | None) -> yaml.ScalarEvent:
    tag = _TAG + kind
    return yaml.ScalarEvent(None, tag, _implicit(value, tag), value, style=style)


# true, false, null and integers; like every event here, only ever read by the emitter.
_scalar = functools.lru_cache(maxsize=1024)(_new_scalar)


def clear_dump_caches() -> None:
    """Forget the cached scalar events (the benchmark times renders from empty caches)."""
    for cache in (_scalar, _key_event, _short_text_event):
        cache.cache_clear()


class _NotForLibyamlError(Exception):
    """Data `_events` leaves to PyYAML's own representer and emitter (not an error to users)."""


# Every block mapping and sequence starts and ends alike; like the scalars, they are only read.
_MAPPING_START = yaml.MappingStartEvent(None, _TAG + "map", True, flow_style=False)
_MAPPING_END = yaml.MappingEndEvent()
_SEQUENCE_START = yaml.SequenceStartEvent(None, _TAG + "seq", True, flow_style=False)
_SEQUENCE_END = yaml.SequenceEndEvent()


def _libyaml_text_event(text: str) -> yaml.ScalarEvent | None:
    if _EMITTERS_DIFFER.search(text):
        return None
    return _new_scalar(text, "str", "|" if "\n" in text else None)


@functools.lru_cache(maxsize=1024)
def _key_event(key: str) -> yaml.ScalarEvent | None:
    if _KEY_EMITTERS_DIFFER.search(key) or not 0 < len(key.encode("utf-8")) < _SIMPLE_KEY_BYTES:
        return None
    return _new_scalar(key, "str", None)


# Keys and short values repeat across a host's documents; an event is only read by the emitter.
_short_text_event = functools.lru_cache(maxsize=8192)(_libyaml_text_event)


def _text_event(text: str) -> yaml.ScalarEvent:
    event = _short_text_event(text) if len(text) <= 64 else _libyaml_text_event(text)
    if event is None:
        raise _NotForLibyamlError
    return event


def _events(data: Any, out: list[yaml.Event], containers: set[int]) -> None:
    """The events PythonDumper's representer and serializer produce for `data`, appended to `out`.

    Those two are most of a dump's time, spent on what this data never needs (tags, aliases,
    arbitrary types). Raises _NotForLibyamlError for anything else: another type, a container
    met twice (PyYAML would write an anchor and an alias), or text libyaml writes differently.
    """
    kind = type(data)
    if kind is str:
        out.append(_text_event(data))
    elif kind is dict or kind is list:
        if id(data) in containers:
            raise _NotForLibyamlError
        containers.add(id(data))
        # Strings, most of the values, are appended here rather than in a call of their own: it
        # is the hot path of every render.
        if kind is list:
            out.append(_SEQUENCE_START)
            for item in data:
                if type(item) is str:
                    out.append(_text_event(item))
                else:
                    _events(item, out, containers)
            out.append(_SEQUENCE_END)
            return
        out.append(_MAPPING_START)
        for key, value in data.items():
            if type(key) is str:
                key_event = _key_event(key)
                if key_event is None:
                    raise _NotForLibyamlError
                out.append(key_event)
            else:
                _events(key, out, containers)
            if type(value) is str:
                out.append(_text_event(value))
            else:
                _events(value, out, containers)
        out.append(_MAPPING_END)
    elif kind is bool:
        out.append(_scalar("true" if data else "false", "bool", None))
    elif kind is int:
        out.append(_scalar(str(data), "int", None))
    elif data is None:
        out.append(_scalar("null", "null", None))
    else:
        raise _NotForLibyamlError


def dump_yaml(
    data: Mapping[str, Any] | list[Any],
    dumper: type[yaml.SafeDumper | yaml.CSafeDumper] | None = None,
) -> str:
    """YAML text for plain data: keys in the order given, multi-line strings as literal blocks.

    The bytes are PythonDumper's (`yaml.dump`, PyYAML's own representer and emitter) whether
    PyYAML has libyaml or not: a changed byte of user_data replaces a server. Where libyaml is
    there and writes them alike, the data goes to its emitter as the events PythonDumper's
    representer would make; the tests compare the two on generated documents. `dumper` forces
    `yaml.dump` with that dumper.
    """
    if dumper is None and LibyamlDumper is not None:
        events: list[yaml.Event] = [yaml.StreamStartEvent(), yaml.DocumentStartEvent()]
        try:
            _events(data, events, set())
        except _NotForLibyamlError:
            pass
        else:
            events += [yaml.DocumentEndEvent(), yaml.StreamEndEvent()]
            text: str = yaml.emit(events, Dumper=LibyamlDumper, allow_unicode=True, width=_WIDTH)
            return text
    return yaml.dump(
        data,
        Dumper=dumper or PythonDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=_WIDTH,
    )


def render_cloud_config(config: CloudConfig) -> str:
    """The `#cloud-config` text of a validated document; raises UserDataError listing problems."""
    config.validate()
    return HEADER + dump_yaml(config.to_dict())


def encoded_size(user_data: str) -> int:
    """The size Nova counts: the length of the base64 encoding of the UTF-8 text."""
    return len(base64.b64encode(user_data.encode("utf-8")))


def check_size(user_data: str, limit: int = NOVA_USER_DATA_LIMIT) -> int:
    """The encoded size; raises UserDataError saying by how much it is over Nova's limit."""
    size = encoded_size(user_data)
    if size > limit:
        over = size - limit
        raise UserDataError(
            [
                Problem(
                    "user_data",
                    f"{size} bytes base64-encoded, {over} byte{'s' if over > 1 else ''} "
                    f"over Nova's limit of {limit}; drop packages, files or profiles",
                )
            ]
        )
    return size


def _command(command: Command) -> str | list[str]:
    return command if isinstance(command, str) else list(command)


def _without_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def _duplicates(values: Iterable[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    repeated = []
    for index, value in enumerate(values):
        if value in seen:
            repeated.append((index, value))
        seen.add(value)
    return repeated


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_package_name(name: str) -> bool:
    """A Debian package name, as apt-get install takes it."""
    return bool(_PACKAGE.match(name))


def is_ssh_public_key(line: str) -> bool:
    """One OpenSSH public key line ('ssh-ed25519 AAAA... comment')."""
    return "\n" not in line and bool(_SSH_PUBLIC_KEY.match(line))


def package_problems(packages: tuple[str, ...], where: str) -> list[Problem]:
    return [
        Problem(f"{where}[{index}]", f"{package!r} is not a Debian package name")
        for index, package in enumerate(packages)
        if not is_package_name(package)
    ]


def command_problems(commands: tuple[Command, ...], where: str) -> list[Problem]:
    return [
        Problem(f"{where}[{index}]", "empty command")
        for index, command in enumerate(commands)
        if not command or (not isinstance(command, str) and not all(command))
    ]


def ssh_key_problems(keys: tuple[str, ...], where: str) -> list[Problem]:
    return [
        Problem(
            f"{where}[{index}]", "not an OpenSSH public key line ('ssh-ed25519 AAAA... comment')"
        )
        for index, key in enumerate(keys)
        if not is_ssh_public_key(key)
    ]


def _preseed_problems(preseed: str, where: str) -> list[Problem]:
    try:
        parsed = load_yaml(preseed)
    except yaml.YAMLError as error:
        return [Problem(where, f"not YAML ({str(error).splitlines()[0]})")]
    if not isinstance(parsed, dict):
        return [Problem(where, "must be a YAML mapping (lxd init --preseed)")]
    return []


_INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")
_LXD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def is_interface_name(name: str) -> bool:
    """A Linux interface name: at most 15 characters, no '/', whitespace or ':'."""
    return bool(_INTERFACE_NAME.match(name))


def is_lxd_name(name: str) -> bool:
    return bool(_LXD_NAME.match(name))


__all__ = [
    "HEADER",
    "NOVA_USER_DATA_LIMIT",
    "CloudConfig",
    "Command",
    "Lxd",
    "LxdBridge",
    "LxdInit",
    "PowerState",
    "RenderedPreseed",
    "User",
    "UserDataError",
    "WriteFile",
    "check_size",
    "dump_yaml",
    "encoded_size",
    "load_yaml",
    "render_cloud_config",
]

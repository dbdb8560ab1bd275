"""A typed cloud-config document: the cloud-init modules LXD hosts need, named as cloud-init does.

Each type mirrors one module (or one item of a module's list) of cloud-init's schema
(`cloudinit/config/schemas/schema-cloud-config-v1.json`), field for field. Rules the schema
cannot express, or that cloud-init only discovers at boot (an lxd `preseed` together with
`init`/`bridge`, cc_lxd.py's `supplemental_schema_validation`), are each type's
`value_problems`; `userdata.validation` collects every problem and raises once, and
`userdata.yamltext` writes the document's text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from userdata.validation import Problem, UserDataError, Validated, raise_problems
from userdata.yamltext import dump_yaml, load_yaml

# Nova rejects user_data whose base64 encoding is longer than this (nova/api/validation).
NOVA_USER_DATA_LIMIT = 65535

HEADER = "#cloud-config\n"

StorageBackend = Literal["zfs", "dir", "lvm", "btrfs"]
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


@dataclass(frozen=True)
class WriteFile(Validated):
    """One `write_files` item."""

    path: str
    content: str = ""
    permissions: str | None = None  # an octal string such as "0600"; None keeps cloud-init's 0644
    owner: str | None = None  # "user:group"; None keeps cloud-init's root:root
    defer: bool = False  # write in the final stage, after packages and users exist
    append: bool = False  # add the content to the end of the file rather than replace it

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
        if self.append:
            item["append"] = True
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
class CloudConfig(Validated):
    """A whole cloud-config document; each field is the cloud-init top-level key of that name.

    Empty fields are left out of the rendering, so a document holds only the modules it sets.
    """

    bootcmd: tuple[Command, ...] = ()
    # cloud-init's `update_etc_hosts` module: `localhost` keeps the `127.0.1.1 fqdn hostname`
    # line, `True` rewrites /etc/hosts from the distro's template at every boot.
    manage_etc_hosts: bool | Literal["localhost"] = False
    package_update: bool = False
    package_upgrade: bool = False
    packages: tuple[str, ...] = ()
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
        if self.manage_etc_hosts:
            document["manage_etc_hosts"] = self.manage_etc_hosts
        if self.package_update:
            document["package_update"] = True
        if self.package_upgrade:
            document["package_upgrade"] = True
        if self.packages:
            document["packages"] = list(self.packages)
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
    "WriteFile",
    "check_size",
    "encoded_size",
    "render_cloud_config",
]

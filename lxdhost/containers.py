"""The containers a stack declares (`lxdhost:containers`), read and checked before anything exists.

Each entry names its host, its slot on that host and its image, and may carry its own
cloud-init user-data and extra profiles. `parse_containers` collects every problem, each naming
its entry and key (`containers[1].slot: ...`), so a user fixes the list in one pass.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxdhost.addressing import AddressPlan
from userdata.cloudconfig import HEADER, is_lxd_name
from userdata.yamltext import dump_yaml

KEY = "containers"
ENTRY_KEYS = ("name", "host", "slot", "image", "userData", "profiles")
IMAGE_KEYS = ("alias", "fingerprint", "file", "server", "protocol")
IMAGE_PROTOCOLS = ("simplestreams", "lxd")
# LXD's instance names: a host name's label (letters, digits, '-'), not starting with a digit
# or '-', at most 63 characters.
_INSTANCE_NAME = re.compile(r"^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{12,64}$")


@dataclass(frozen=True)
class ContainerImage:
    """Where a container's image comes from (exactly one of alias, fingerprint, file)."""

    alias: str | None = None
    fingerprint: str | None = None
    file: str | None = None
    server: str | None = None
    protocol: str | None = None
    # A local file's SHA-256 (LXD's fingerprint of a unified tarball): a new file replaces the
    # containers made from the old one, whatever its path.
    file_sha256: str | None = None

    def as_props(self) -> dict[str, str]:
        """The resource's `image` input: the keys set, nothing else."""
        props = {key: value for key in IMAGE_KEYS if (value := getattr(self, key)) is not None}
        if self.file_sha256 is not None:
            props["sha256"] = self.file_sha256
        return props


@dataclass(frozen=True)
class ContainerDeclaration:
    """One declared container."""

    name: str
    host: str
    slot: str
    image: ContainerImage
    user_data: str | None = None
    profiles: tuple[str, ...] = ()


def parse_containers(
    raw: object, plan: AddressPlan
) -> tuple[tuple[ContainerDeclaration, ...], list[str]]:
    """The declared containers, and every problem found (empty when all are good)."""
    problems: list[str] = []
    entries = _entries(raw, problems)
    slots = {
        host.host_name: {slot.name for slot in plan.container_slots(host.host_name)}
        for host in plan.hosts
    }
    declared: list[ContainerDeclaration] = []
    taken: dict[tuple[str, str], int] = {}
    names: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        where = f"{KEY}[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a mapping with name, host, slot and image")
            continue
        for key in sorted(set(map(str, entry)) - set(ENTRY_KEYS)):
            problems.append(f"{where}.{key}: unknown key (known: {', '.join(ENTRY_KEYS)})")
        name = _required_string(entry, "name", where, problems)
        if name is not None and not _INSTANCE_NAME.match(name):
            problems.append(
                f"{where}.name: {name!r} is not a name LXD takes (letters, digits and '-', "
                "starting with a letter, not ending with '-', at most 63)"
            )
        host = _required_string(entry, "host", where, problems)
        if host is not None and host not in slots:
            problems.append(
                f"{where}.host: {host!r} is not one of the stack's hosts "
                f"({', '.join(sorted(slots)) or 'none'})"
            )
        slot = _required_string(entry, "slot", where, problems)
        if slot is not None and host in slots:
            if slot not in slots[host]:
                problems.append(
                    f"{where}.slot: {slot!r} is not a slot of {host} "
                    f"({_slot_range(sorted(slots[host]))}; slotsPerHost sets how many)"
                )
            elif (host, slot) in taken:
                problems.append(
                    f"{where}.slot: {host}'s {slot} is taken by {KEY}[{taken[(host, slot)]}]"
                )
            else:
                taken[(host, slot)] = index
        if name is not None and host is not None:
            if (host, name) in names:
                problems.append(
                    f"{where}.name: {name!r} is also {KEY}[{names[(host, name)]}]'s on {host}"
                )
            names.setdefault((host, name), index)
        image = _image(entry.get("image"), f"{where}.image", problems)
        user_data = _user_data(entry.get("userData"), f"{where}.userData", problems)
        profiles = _profiles(
            entry.get("profiles"), f"{where}.profiles", slots.get(host or ""), problems
        )
        if name and host and slot and image is not None:
            declared.append(ContainerDeclaration(name, host, slot, image, user_data, profiles))
    return tuple(declared), problems


def _entries(raw: object, problems: list[str]) -> Sequence[object]:
    if raw is None:
        return ()
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError:
            problems.append(f"{KEY}: expected a list of mappings, got {raw!r}")
            return ()
    if not isinstance(value, list | tuple):
        problems.append(f"{KEY}: expected a list of mappings (a YAML sequence), got {value!r}")
        return ()
    return value


def _required_string(
    entry: Mapping[str, object], key: str, where: str, problems: list[str]
) -> str | None:
    value = entry.get(key)
    if value is None:
        problems.append(f"{where}.{key}: required")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key}: expected a non-empty string, got {json.dumps(value)}")
        return None
    return value.strip()


def _image(value: object, where: str, problems: list[str]) -> ContainerImage | None:
    if isinstance(value, str) and value.strip():
        return ContainerImage(alias=value.strip())
    if not isinstance(value, Mapping):
        problems.append(
            f"{where}: required: an alias on the host, or a mapping with one of alias, "
            "fingerprint or file (and server, protocol for an alias on an image server)"
        )
        return None
    found = len(problems)
    for key in sorted(set(map(str, value)) - set(IMAGE_KEYS)):
        problems.append(f"{where}.{key}: unknown key (known: {', '.join(IMAGE_KEYS)})")
    fields: dict[str, str] = {}
    for key in IMAGE_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str) or not item.strip():
            problems.append(f"{where}.{key}: expected a non-empty string, got {json.dumps(item)}")
            continue
        fields[key] = item.strip()
    sources = [key for key in ("alias", "fingerprint", "file") if key in fields]
    if len(sources) != 1:
        problems.append(
            f"{where}: needs exactly one of alias, fingerprint or file"
            + (f", not {' and '.join(sources)}" if sources else "")
        )
    if "fingerprint" in fields and not _FINGERPRINT.match(fields["fingerprint"]):
        problems.append(
            f"{where}.fingerprint: {fields['fingerprint']!r} is not an image fingerprint "
            "(12 to 64 lowercase hex digits)"
        )
    if "file" in fields:
        path = Path(fields["file"]).expanduser()
        if not path.is_absolute():
            problems.append(f"{where}.file: {fields['file']!r} is relative: give its full path")
        elif not path.is_file():
            problems.append(f"{where}.file: {fields['file']} is missing: no such file here")
        else:
            fields["file"] = str(path)
            fields["file_sha256"] = file_sha256(path)
    if ("server" in fields or "protocol" in fields) and "alias" not in fields:
        problems.append(f"{where}.server: an image server is read by alias: set alias")
    if "protocol" in fields and fields["protocol"] not in IMAGE_PROTOCOLS:
        problems.append(
            f"{where}.protocol: {fields['protocol']!r} is not one of {', '.join(IMAGE_PROTOCOLS)}"
        )
    if "server" in fields and not fields["server"].startswith("https://"):
        problems.append(f"{where}.server: {fields['server']!r} is not an https:// URL")
    if len(problems) > found:
        return None
    return ContainerImage(**fields)


def file_sha256(path: Path) -> str:
    """The file's SHA-256: LXD's fingerprint of a unified image tarball."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _user_data(value: object, where: str, problems: list[str]) -> str | None:
    """The container's own user-data: text as given, or a mapping as a #cloud-config."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return HEADER + dump_yaml(dict(value))
    if isinstance(value, str):
        if value.strip() and not value.lstrip().startswith("#"):
            problems.append(
                f"{where}: user-data text starts with '#cloud-config' (or '#!' for a script); "
                "a mapping is written as a #cloud-config"
            )
            return None
        return value or None
    problems.append(f"{where}: expected user-data text or a mapping, got {json.dumps(value)}")
    return None


def _profiles(
    value: object, where: str, slots: set[str] | None, problems: list[str]
) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        problems.append(f"{where}: expected a list of profile names, got {json.dumps(value)}")
        return ()
    names = []
    for index, name in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(name, str) or not is_lxd_name(name):
            problems.append(f"{at}: {json.dumps(name)} is not an LXD profile name")
        elif name == "default" or (slots is not None and name in slots):
            problems.append(f"{at}: {name!r} is given already (default and the slot's own)")
        elif name in names:
            problems.append(f"{at}: {name!r} is listed twice")
        else:
            names.append(name)
    return tuple(names)


def _slot_range(names: Sequence[str]) -> str:
    return f"{names[0]} to {names[-1]}" if names else "none"

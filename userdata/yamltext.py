"""YAML text for user_data: one loader, and one dumper whose bytes are PyYAML's own emitter's.

A changed byte of user_data replaces a server, so the bytes are always `PythonDumper`'s. Where
PyYAML has libyaml, its emitter writes them instead: the same bytes for what user_data holds,
about four times faster (bench/README.md has the figures). Where the two emitters are known to
write a text differently, `dump_yaml` leaves the whole document to PyYAML's; the tests compare
the two on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

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
_SEQUENCES = (list, tuple)
_CONTAINERS = (dict, *_SEQUENCES, Mapping)


def _found(text: str, pattern: re.Pattern[str], ascii_characters: str) -> bool:
    # Whether text is ASCII is known without reading it, and looking for one character is a
    # memchr: most of user_data is ASCII, which holds none of the characters but CR and LF.
    if text.isascii():
        return any(character in text for character in ascii_characters)
    return pattern.search(text) is not None


def _emitters_agree(data: object) -> bool:
    """Whether libyaml writes `data` as PyYAML does: no text of the kinds above, anywhere."""
    # One walk that gathers the text, then one search over all of it: the patterns match single
    # characters, so searching the texts joined is searching each of them. A container met
    # again (PyYAML writes an alias) is read once, which also ends a walk round a cycle.
    texts: list[str] = []
    keys: list[str] = []
    containers: set[int] = set()
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, _CONTAINERS) and id(item) not in containers:
            containers.add(id(item))
            if isinstance(item, _SEQUENCES):
                pending.extend(item)
                continue
            for key, value in item.items():
                if isinstance(key, str):
                    keys.append(key)
                else:
                    pending.append(key)
                pending.append(value)
    if _found("".join(texts), _EMITTERS_DIFFER, "\r") or _found(
        "".join(keys), _KEY_EMITTERS_DIFFER, "\r\n"
    ):
        return False
    key_bytes = [len(key.encode("utf-8")) for key in keys]
    return not key_bytes or (min(key_bytes) > 0 and max(key_bytes) < _SIMPLE_KEY_BYTES)


def dump_yaml(
    data: Mapping[str, Any] | list[Any],
    dumper: type[yaml.SafeDumper | yaml.CSafeDumper] | None = None,
) -> str:
    """YAML text for plain data: keys in the order given, multi-line strings as literal blocks.

    The bytes are PythonDumper's whether PyYAML has libyaml or not; `dumper` forces one.
    """
    if dumper is None:
        agree = LibyamlDumper is not None and _emitters_agree(data)
        dumper = LibyamlDumper if agree and LibyamlDumper is not None else PythonDumper
    text: str = yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=_WIDTH,
    )
    return text


__all__ = ["LibyamlDumper", "PythonDumper", "dump_yaml", "load_yaml"]

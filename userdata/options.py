"""Host options: each `HostSpec` field declared once, with what a user needs to set it.

A field declared with `option(default, help, stack=...)` carries its type (the annotation), its
default, its choices (a `Literal` annotation's values) and its help. Everything that shows or
reads an option is derived from that declaration: the host file's keys and `--help`
(`userdata.hostfile`), and for a stack option (`stack=True`) its `lxdhost:` key, the `config:`
block of `Pulumi.yaml`, the table in docs/configuration.md and the stack's error paths
(`lxdhost.config`). An option has one name in every layer: the field's, and on a stack its
camelCase form (`bring_up` is `lxdhost:bringUp`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

_Value = TypeVar("_Value")

_DECLARATION = "userdata.options"


@dataclass(frozen=True)
class _Declared:
    help: str
    stack: bool
    kind: str | None


def option(default: _Value, help: str, *, stack: bool = False, kind: str | None = None) -> _Value:
    """A `HostSpec` field: its default, what it does (`help`, a sentence without a final stop;
    `code` in backticks), whether the stack exposes it (`stack`), and how the host file's
    `--help` names its type where the annotation does not say it plainly (`kind`)."""
    return dataclasses.field(default=default, metadata={_DECLARATION: _Declared(help, stack, kind)})


@dataclass(frozen=True)
class HostOption:
    """One declared `HostSpec` field, as its users see it."""

    name: str  # the field's name: the host file's key
    type: Any  # the field's annotation, resolved
    default: object
    help: str
    kind: str | None
    stack_key: str | None  # the `lxdhost:` key of a stack option: `name` in camelCase

    @property
    def optional(self) -> bool:
        """None is one of its values: the option is unset."""
        return type(None) in _arms(self.type)

    @property
    def base_type(self) -> Any:
        """The annotation without its None: `int` for `int | None`."""
        arms = [arm for arm in _arms(self.type) if arm is not type(None)]
        if len(arms) != 1:
            raise TypeError(f"{self.name}: a union of {arms} is not one option type")
        return arms[0]

    @property
    def choices(self) -> tuple[object, ...]:
        """The values a `Literal` option takes, in declaration order (None not included)."""
        base = self.base_type
        return typing.get_args(base) if typing.get_origin(base) is Literal else ()


def host_options(spec_type: type) -> tuple[HostOption, ...]:
    """Every field of `spec_type`, in declaration order; each must be declared with `option`."""
    hints = typing.get_type_hints(spec_type)
    options = []
    for spec_field in dataclasses.fields(spec_type):
        declared = spec_field.metadata.get(_DECLARATION)
        if not isinstance(declared, _Declared):
            raise TypeError(f"{spec_type.__name__}.{spec_field.name} is not declared by option()")
        options.append(
            HostOption(
                name=spec_field.name,
                type=hints[spec_field.name],
                default=spec_field.default,
                help=declared.help,
                kind=declared.kind,
                stack_key=camel_case(spec_field.name) if declared.stack else None,
            )
        )
    return tuple(options)


def camel_case(name: str) -> str:
    """`lxd_api_port` -> `lxdApiPort`: a field's name as a stack key."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _arms(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


__all__ = ["HostOption", "camel_case", "host_options", "option"]

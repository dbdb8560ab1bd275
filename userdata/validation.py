"""Checking typed inputs: every problem at once, each a `Problem` naming its key.

`Validated` dataclasses report values whose type is not the annotated one first (`checked`,
driven by the annotations), then their own `value_problems` on the rest; `UserDataError`
carries them all to the user in one message.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar


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

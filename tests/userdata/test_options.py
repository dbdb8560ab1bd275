"""Host options: a HostSpec field's declaration gives its name, type, default, choices and help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from userdata import HostSpec
from userdata.host import HOST_OPTIONS
from userdata.options import camel_case, host_options, option

Colour = Literal["red", "green"]


@dataclass(frozen=True)
class Declared:
    colour: Colour = option("red", "The colour", stack=True)
    size: int | None = option(None, "The size; unset: the default size")
    tags: tuple[str, ...] = option((), "Tags")


def test_a_declaration_gives_type_default_choices_help_and_stack_key() -> None:
    colour, size, tags = host_options(Declared)
    assert (colour.name, colour.default, colour.help) == ("colour", "red", "The colour")
    assert (colour.choices, colour.optional, colour.stack_key) == (
        ("red", "green"),
        False,
        "colour",
    )
    assert (size.base_type, size.optional, size.choices, size.stack_key) == (int, True, (), None)
    assert (tags.base_type, tags.default) == (tuple[str, ...], ())


def test_a_declared_field_keeps_its_default() -> None:
    assert Declared() == Declared("red", None, ())


def test_a_field_without_a_declaration_is_refused() -> None:
    @dataclass(frozen=True)
    class Undeclared:
        colour: str = "red"

    with pytest.raises(TypeError, match=r"Undeclared\.colour is not declared by option\(\)"):
        host_options(Undeclared)


@pytest.mark.parametrize(
    ("field", "key"),
    [
        pytest.param("distro", "distro", id="one-word"),
        pytest.param("bring_up", "bringUp", id="two-words"),
        pytest.param("lxd_api_port", "lxdApiPort", id="three-words"),
    ],
)
def test_a_stack_key_is_the_fields_name_in_camel_case(field: str, key: str) -> None:
    assert camel_case(field) == key


def test_every_hostspec_field_is_an_option_with_help() -> None:
    assert [option.name for option in HOST_OPTIONS] == list(HostSpec.__dataclass_fields__)
    assert all(option.help and not option.help.endswith(".") for option in HOST_OPTIONS)

"""userdata.yamltext: the same bytes with or without libyaml (a changed byte replaces a server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.userdata.strategies import host_specs
from tests.userdata.support import EXAMPLES
from userdata import HostSpec, render_host, yamltext
from userdata.hostfile import load_host_file
from userdata.yamltext import PythonDumper, dump_yaml

pytestmark = pytest.mark.skipif(
    yamltext.LibyamlDumper is None, reason="PyYAML is built without libyaml: one emitter only"
)


def render_without_libyaml(spec: HostSpec) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamltext, "LibyamlDumper", None)
        return render_host(spec)


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_examples_render_alike_with_and_without_libyaml(example: Path) -> None:
    spec = load_host_file(example)
    assert render_host(spec) == render_without_libyaml(spec)


@settings(max_examples=80, deadline=None)
@given(host_specs())
def test_any_host_renders_alike_with_and_without_libyaml(spec: HostSpec) -> None:
    assert render_host(spec) == render_without_libyaml(spec)


# Mostly what user-data holds (printable text, shell lines, YAML indicators), now and then any
# character at all, so that both sides of the emitters' known differences are drawn.
_characters = st.characters(
    max_codepoint=0xFFFF, categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co", "Cn")
) | st.sampled_from(
    [*"\n\t :#-|'\"?{}[],&*!%@`>", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\U0001f600"]
)
_text = st.text(_characters, max_size=40) | st.text(_characters, min_size=100, max_size=300)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_text, _values, max_size=4))
def test_dump_yaml_writes_pyyaml_emitters_bytes(document: dict[str, object]) -> None:
    assert dump_yaml(document) == dump_yaml(document, PythonDumper)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"message": "\U0001f600 bye"}, id="beyond-u-ffff"),
        pytest.param({"a\rb": 1}, id="carriage-return-in-a-key"),
        pytest.param({"a": "next\x85line"}, id="nel"),
        pytest.param({"": None}, id="empty-key"),
        pytest.param({"\n": None}, id="line-break-key"),
        pytest.param({"é" * 100: 1}, id="key-of-128-bytes-or-more"),
    ],
)
def test_where_libyaml_would_differ_pyyamls_emitter_writes(document: dict[str, object]) -> None:
    assert yamltext.LibyamlDumper is not None
    assert dump_yaml(document, yamltext.LibyamlDumper) != dump_yaml(document, PythonDumper)
    assert dump_yaml(document) == dump_yaml(document, PythonDumper)


# Scalars whose plain form YAML 1.1 reads as something else (PyYAML's resolver quotes them),
# and keys and values of every type user_data holds.
_TRICKY = [
    "",
    "~",
    "null",
    "Null",
    "true",
    "yes",
    "on",
    "No",
    "OFF",
    "y",
    "n",
    "1",
    "-1",
    "+1",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1:20",
    "190:20:30",
    "1.5",
    ".5",
    "1e3",
    ".inf",
    "-.Inf",
    ".nan",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "=",
    "<<",
    "0a:4c:c0:a8:00:15",
    "10:20:30:40:50:12",
    "192.168.0.21/24",
    "2001:10:20:30:40:50:0:1",
    "- item",
    "# comment",
    "key: value",
    " leading space",
    "trailing space ",
    "line\n",
    "two\nlines",
    "tab\there",
]


@pytest.mark.parametrize("text", _TRICKY)
def test_libyaml_writes_tricky_scalars_as_pyyaml_does(text: str) -> None:
    document = {text: text, "list": [text, 7, -3, True, False, None], "n": {text: [text]}}
    assert dump_yaml(document) == dump_yaml(document, PythonDumper)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"a": [1], "b": None}, id="no-sharing"),
        pytest.param({"float": 1.5}, id="float"),
        pytest.param({"tuple": (1, 2)}, id="tuple-is-refused-alike"),
        pytest.param({7: "int key", None: "null key", False: "bool key"}, id="non-string-keys"),
    ],
)
def test_libyaml_and_pyyaml_agree_on_other_data(document: dict[object, object]) -> None:
    try:
        expected = dump_yaml(document, PythonDumper)  # type: ignore[arg-type]
    except yaml.YAMLError as error:
        with pytest.raises(type(error)):
            dump_yaml(document)  # type: ignore[arg-type]
    else:
        assert dump_yaml(document) == expected  # type: ignore[arg-type]


def test_a_container_met_twice_gets_pyyamls_anchor_and_alias() -> None:
    shared = ["x"]
    document = {"first": shared, "second": shared}
    text = dump_yaml(document)
    assert text == dump_yaml(document, PythonDumper)
    assert "&id001" in text and "*id001" in text


def test_a_document_that_holds_itself_is_written_as_pyyaml_does() -> None:
    document: dict[str, object] = {"name": "loop"}
    document["self"] = [document]
    assert dump_yaml(document) == dump_yaml(document, PythonDumper)


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_examples_are_written_by_libyamls_emitter(example: Path) -> None:
    """The comparisons above would also pass if every document fell back to PyYAML's emitter."""
    spec = load_host_file(example)
    expected = render_host(spec)
    dumpers: list[object] = []
    dump = yaml.dump

    def recording_dump(data: object, **options: Any) -> Any:
        dumpers.append(options["Dumper"])
        return dump(data, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml, "dump", recording_dump)
        assert render_host(spec) == expected
    assert dumpers
    assert set(dumpers) == {yamltext.LibyamlDumper}

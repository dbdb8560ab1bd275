"""user_data is the same bytes with or without libyaml: a changed byte replaces a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from host_strategies import host_specs
from hypothesis import given, settings
from hypothesis import strategies as st
from userdata_support import EXAMPLES

from userdata import HostSpec, cloudconfig, render_host
from userdata.cloudconfig import PythonDumper, dump_yaml
from userdata.hostfile import load_host_file

pytestmark = pytest.mark.skipif(
    cloudconfig.LibyamlDumper is None, reason="PyYAML is built without libyaml: one emitter only"
)


def render_without_libyaml(spec: HostSpec) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cloudconfig, "LibyamlDumper", None)
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
    assert cloudconfig.LibyamlDumper is not None
    assert dump_yaml(document, cloudconfig.LibyamlDumper) != dump_yaml(document, PythonDumper)
    assert dump_yaml(document) == dump_yaml(document, PythonDumper)

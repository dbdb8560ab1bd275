"""Pulumi.yaml's config: block and the docs' table of keys are what the declarations give."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from lxdhost.__main__ import main
from lxdhost.config import CONFIG_KEYS, ConfigKey, parse_settings
from lxdhost.offline import PROJECT_ROOT
from lxdhost.options import (
    GENERATED,
    TABLE_BEGIN,
    TABLE_END,
    WRITE_COMMAND,
    config_block,
    documented_default,
    documented_meaning,
    project_config_declarations,
    with_config_block,
    with_keys_table,
)
from tests.lxdhost.test_config import MINIMAL


@pytest.mark.parametrize(("name", "generate"), GENERATED.items(), ids=list(GENERATED))
def test_the_committed_copy_is_what_the_declarations_give(
    name: str, generate: Callable[[str], str]
) -> None:
    text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    assert generate(text) == text, f"{name} differs from the declarations: run {WRITE_COMMAND}"


def declared_in_pulumi_yaml() -> dict[str, dict[str, object]]:
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    return dict(project["config"])


def test_pulumi_yaml_declares_every_key_as_config_py_does() -> None:
    assert declared_in_pulumi_yaml() == project_config_declarations()


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_only_required_keys_lack_a_default(key: ConfigKey) -> None:
    # Pulumi makes a declared key without a default required: only image and flavor are.
    if not key.declared:
        assert key.name not in project_config_declarations()
        return
    assert ("default" in project_config_declarations()[key.name]) == (key.default is not None)
    assert (key.default is None) == (key.name in ("image", "flavor"))


def test_project_defaults_parse_as_the_tables_defaults() -> None:
    project_defaults = {
        f"lxdhost:{name}": declaration["default"]
        for name, declaration in declared_in_pulumi_yaml().items()
        if "default" in declaration
    }
    assert parse_settings({**project_defaults, **MINIMAL}) == parse_settings(MINIMAL)


def documented_rows() -> dict[str, list[str]]:
    text = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([A-Za-z]+)`", cells[0]) if len(cells) >= 4 else None
        if match:
            rows[match.group(1)] = cells
    return rows


def test_docs_table_lists_every_key_with_its_type_default_and_meaning() -> None:
    rows = documented_rows()
    assert list(rows) == [key.name for key in CONFIG_KEYS]
    for key in CONFIG_KEYS:
        _, type_, default, meaning = rows[key.name]
        assert type_ == key.type, key.name
        assert default == documented_default(key), key.name
        assert meaning == documented_meaning(key), key.name


def test_the_config_block_is_replaced_and_the_rest_of_the_file_kept() -> None:
    text = "name: x\nconfig:\n  old:\n    type: string\n\n# the backend\nbackend:\n  url: y\n"
    assert (
        with_config_block(text) == f"name: x\n{config_block()}# the backend\nbackend:\n  url: y\n"
    )


def test_a_file_without_its_generated_part_is_an_error() -> None:
    with pytest.raises(ValueError, match="no top-level `config:` block"):
        with_config_block("name: x\n")
    with pytest.raises(ValueError, match="lacks the lines"):
        with_keys_table(f"# Settings\n{TABLE_BEGIN}\n| Key |\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the generated files, for the command to check and rewrite."""
    for name in GENERATED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def test_options_names_each_stale_file_and_write_regenerates_only_its_generated_part(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["options"], stack_root=project) == 0
    pulumi_yaml, docs = project / "Pulumi.yaml", project / "docs" / "configuration.md"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace("type: integer", "type: string", 1))
    docs.write_text(
        docs.read_text().replace(f"{TABLE_END}\n", f"| `extra` | x | y | z |\n{TABLE_END}\n")
    )
    capsys.readouterr()

    assert main(["options"], stack_root=project) == 1
    stderr = capsys.readouterr().err
    assert f"Pulumi.yaml: differs from the declarations; run {WRITE_COMMAND}" in stderr
    assert "docs/configuration.md: differs" in stderr

    assert main(["options", "--write"], stack_root=project) == 0
    for name in GENERATED:
        assert (project / name).read_text() == (PROJECT_ROOT / name).read_text(), name
    assert main(["options"], stack_root=project) == 0

"""`python -m lxdhost plan`: the plan of both stacks, its JSON shape, --out, and bad input."""

from __future__ import annotations

import base64
import contextlib
import io
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lxdhost import tokens
from lxdhost.__main__ import main
from lxdhost.config import parse_settings
from lxdhost.offline.engine import PROJECT_ROOT, encode_config, list_stacks, run_program
from lxdhost.offline.jsonformat import PLAN_JSON_SCHEMA, plan_from_json, plan_to_json
from lxdhost.offline.model import build_plan, references_in
from tests.stacks import Stacks

STACKS = list_stacks()


@cache
def stack_run_json(stack: str) -> str:
    """The plan of a stack as `plan --json` prints it, run in-process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["plan", "--stack", stack, "--json"]) == 0
    return out.getvalue()


def pure_address_plan(stacks: Stacks, stack: str) -> Any:
    """The address plan `lxdhost.addressing` computes for the stack's own configuration."""
    return parse_settings(encode_config(stacks.config(stack))).address_plan


@pytest.mark.parametrize("stack", STACKS)
def test_json_output_matches_the_documented_schema(stack: str) -> None:
    document = json.loads(stack_run_json(stack))
    validator = jsonschema.Draft202012Validator(
        PLAN_JSON_SCHEMA, format_checker=jsonschema.FormatChecker()
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    assert document["version"] == 1
    assert document["stack"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_address_table_is_the_pure_address_plan(stack: str, stacks: Stacks) -> None:
    table = stacks.plan(stack).address_table
    expected = pure_address_plan(stacks, stack)
    assert table is not None
    assert table.cidr == str(expected.cidr)
    assert table.gateway_ip == str(expected.gateway_ip)
    assert (table.allocation_pool.start, table.allocation_pool.end) == (
        str(expected.allocation_pool.start),
        str(expected.allocation_pool.end),
    )
    assert table.allocation_pool.size == expected.allocation_pool.size
    assert (table.reserved_range.start, table.reserved_range.end, table.reserved_range.size) == (
        str(expected.reserved_range.start),
        str(expected.reserved_range.end),
        expected.reserved_range.size,
    )
    assert [(s.host, s.name, s.ip_address, s.mac_address) for s in table.slots] == [
        (host.host_name, slot.name, str(slot.ip_address), slot.mac_address)
        for host in expected.hosts
        for slot in host.container_slots
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_text_output_prints_every_slot_of_the_pure_plan(
    stack: str, capsys: pytest.CaptureFixture[str], stacks: Stacks
) -> None:
    assert main(["plan", "--stack", stack]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = pure_address_plan(stacks, stack)
    for host in expected.hosts:
        for slot in host.container_slots:
            row = [host.host_name, slot.name, str(slot.ip_address), slot.mac_address]
            assert any(line.split() == row for line in lines), row
    pool = expected.allocation_pool
    assert any(
        f"{pool.start} - {pool.end}" in line and f"({pool.size} addresses" in line for line in lines
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_server_has_its_user_data_and_base64_size(stack: str, stacks: Stacks) -> None:
    run = stacks.run(stack)
    plan = stacks.plan(stack)
    servers = {r.name: r for r in run.of_type(tokens.INSTANCE)}
    assert sorted(u.server for u in plan.user_data) == sorted(servers)
    for item in plan.user_data:
        assert item.user_data == servers[item.server].inputs["userData"]
        assert item.base64_size == len(base64.b64encode(item.user_data.encode()))
        assert item.host == servers[item.server].parent_name


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_values_appear_only_as_references_in_resource_inputs(
    stack: str, stacks: Stacks
) -> None:
    plan = stacks.plan(stack)
    mock_values = {value.mock_value for value in plan.cloud_values}
    port_macs = [v.mock_value for v in plan.cloud_values if v.reference.endswith(".mac_address>")]
    assert port_macs, "the mocks gave every port a MAC"
    leaves = list(_leaf_strings([r.inputs for r in plan.resources]))
    assert [leaf for leaf in leaves if leaf in mock_values] == []
    # MACs and ids are unique enough to look for inside longer strings (user_data) too.
    long_values = [v for v in mock_values if not _is_ipv4(v)]
    assert [v for v in long_values if any(v in leaf for leaf in leaves)] == []
    # The user-data documents keep the stand-in MAC: they are real cloud-config.
    user_data_text = "".join(u.user_data for u in plan.user_data)
    assert all(mac in user_data_text for mac in port_macs)
    known = {value.reference for value in plan.cloud_values}
    assert set(references_in([r.inputs for r in plan.resources])) <= known


@pytest.mark.parametrize("stack", STACKS)
def test_json_round_trip_gives_the_same_plan(stack: str, stacks: Stacks) -> None:
    plan = stacks.plan(stack)
    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan)))) == plan


def test_two_runs_print_the_same_bytes(stacks: Stacks) -> None:
    # Two runs of their own: the fixture's is shared.
    first = build_plan(run_program("dev", stacks.config("dev")))
    second = build_plan(run_program("dev", stacks.config("dev")))
    assert json.dumps(plan_to_json(first), sort_keys=True) == json.dumps(
        plan_to_json(second), sort_keys=True
    )


@pytest.mark.parametrize("stack", STACKS)
def test_out_writes_each_hosts_user_data(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], stacks: Stacks
) -> None:
    assert main(["plan", "--stack", stack, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    plan = stacks.plan(stack)
    written = {path.name: path.read_text() for path in (tmp_path / "out").iterdir()}
    assert written == {f"{u.host}.yaml": u.user_data for u in plan.user_data}
    for text in written.values():
        assert text.startswith("#cloud-config\n")
        assert isinstance(yaml.safe_load(text), dict)


def test_markdown_wraps_the_plan_in_a_code_block(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Offline plan for `dev`")
    assert "```text\n" in out and out.rstrip().endswith("```")


# --- bad input: exit status 2, the message, never a traceback ---------------------------------


@pytest.fixture
def stack_root(tmp_path: Path) -> Path:
    """A project folder with the real Pulumi.yaml and the real stacks, for tests to add to."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def _with_changes(stack: str, changes: Mapping[str, Any]) -> str:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    document["config"].update(changes)
    return yaml.safe_dump(document)


BAD_STACK_FILES = [
    pytest.param(None, ["Pulumi.broken.yaml: no such stack file", "dev, prod"], id="missing-file"),
    pytest.param(
        "config:\n  lxdhost:cidr: [unclosed\n",
        ["Pulumi.broken.yaml: not valid YAML"],
        id="not-yaml",
    ),
    pytest.param("- a list\n", ["Pulumi.broken.yaml: must be a YAML mapping"], id="not-a-mapping"),
    pytest.param(
        _with_changes("dev", {"lxdhost:cidr": "192.168.0.0/33", "lxdhost:hostCount": 0}),
        ["lxdhost:cidr", "lxdhost:hostCount"],
        id="validation-names-every-bad-key",
    ),
    pytest.param(
        _with_changes("dev", {"lxdhost:slotsPerHost": 11}),
        ["lxdhost:slotsPerHost"],
        id="too-many-address-pairs",
    ),
]


@pytest.mark.parametrize(("stack_file", "expected"), BAD_STACK_FILES)
def test_bad_stack_file_exits_2_with_the_message(
    stack_file: str | None,
    expected: list[str],
    stack_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if stack_file is not None:
        (stack_root / "Pulumi.broken.yaml").write_text(stack_file)
    status = main(["plan", "--stack", "broken"], stack_root=stack_root)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    for fragment in expected:
        assert fragment in captured.err
    assert "Traceback" not in captured.err


BAD_BASE_FILES = [
    pytest.param(None, "cannot be read", id="missing"),
    pytest.param("{not json", "not JSON", id="not-json"),
    pytest.param('{"stack": "dev"}', "no `version`", id="no-version"),
    pytest.param('{"version": 99}', "version 99", id="newer-version"),
    pytest.param('{"version": 1, "stack": "dev"}', "missing", id="incomplete"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_BASE_FILES)
def test_bad_base_plan_exits_2_with_the_message(
    content: str | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.json"
    if content is not None:
        base.write_text(content)
    status = main(["plan", "--stack", "dev", "--diff", str(base)])
    captured = capsys.readouterr()
    assert status == 2
    assert expected in captured.err
    assert "Traceback" not in captured.err


# --- the command as a user runs it -------------------------------------------------------------


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lxdhost", "plan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=_env(),
    )


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def test_subprocess_exit_statuses(tmp_path: Path, stacks: Stacks) -> None:
    """0 for a plan, 1 when the diff replaces a server, 2 for a missing stack: as scripts see it."""
    plain = _run_cli("--stack", "dev", cwd=PROJECT_ROOT)
    assert (plain.returncode, plain.stderr) == (0, "")
    assert "Address plan" in plain.stdout

    missing = _run_cli("--stack", "no-such-stack", cwd=PROJECT_ROOT)
    assert missing.returncode == 2
    assert "Pulumi.no-such-stack.yaml: no such stack file" in missing.stderr
    assert "Traceback" not in missing.stderr

    # A base whose servers installed other packages: the current dev stack replaces them.
    base = tmp_path / "base.json"
    base.write_text(json.dumps(plan_to_json(stacks.plan("dev", packages=["tmux"]))))
    replaced = _run_cli("--stack", "dev", "--diff", str(base), cwd=PROJECT_ROOT)
    assert replaced.returncode == 1, replaced.stderr
    assert "REPLACE" in replaced.stdout

    same = tmp_path / "same.json"
    same.write_text(plain_json := _run_cli("--stack", "dev", "--json", cwd=PROJECT_ROOT).stdout)
    assert json.loads(plain_json)["stack"] == "dev"
    unchanged = _run_cli("--stack", "dev", "--diff", str(same), cwd=PROJECT_ROOT)
    assert unchanged.returncode == 0, unchanged.stderr
    assert "No changes." in unchanged.stdout


def _leaf_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _leaf_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaf_strings(item)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True

"""The real Pulumi CLI reads the project as users' commands do: backend, stacks, typed config."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest

from lxdhost.config import CONFIG_KEYS
from lxdhost.offline import list_stacks

from .conftest import Project

pytestmark = pytest.mark.toolchain

STACKS = list_stacks()


def release(version_text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version_text.lstrip("v").split("."))


def test_the_cli_is_no_older_than_the_python_sdk(project: Project) -> None:
    cli = project.pulumi("version", check=True).stdout.strip()
    sdk = version("pulumi")
    print(f"\nPulumi CLI {cli}, Python SDK {sdk}, pulumi-openstack {version('pulumi-openstack')}")
    assert cli.startswith("v")
    assert release(cli) >= release(sdk)


def test_stacks_live_in_the_relative_file_backend(project: Project) -> None:
    project.pulumi("stack", "init", "dev", check=True)
    assert (project.path / ".pulumi-state/.pulumi/stacks/lxdhost/dev.json").is_file()
    listed = json.loads(project.pulumi("stack", "ls", "--json", check=True).stdout)
    assert [stack["name"] for stack in listed] == ["dev"]


def test_the_cli_fills_in_every_declared_default(project: Project) -> None:
    # A stack with no config of its own: every key the CLI reports comes from Pulumi.yaml.
    project.pulumi("stack", "init", "bare", check=True)
    reported = json.loads(project.pulumi("config", "--json", check=True).stdout)
    expected = {
        f"lxdhost:{key.name}": key.default for key in CONFIG_KEYS if key.default is not None
    }
    assert set(reported) == set(expected)
    for name, default in expected.items():
        value = reported[name]["value"]
        # The CLI reports every value as a string, arrays JSON-encoded: as it hands them over.
        if isinstance(default, tuple):
            assert json.loads(value) == list(default), name
        elif isinstance(default, bool):
            assert value == str(default).lower(), name
        else:
            assert value == str(default), name


# Where a preview stops when it has passed the type checks: the CLI checks the stack's values
# against Pulumi.yaml's types before it loads the Python language host, which scripts/install-pulumi
# --cli does not build (docs/toolchain.md).
NO_LANGUAGE_HOST = "no language plugin 'pulumi-language-python' found"


@pytest.mark.parametrize("stack", STACKS)
def test_each_committed_stack_passes_the_clis_type_checks(project: Project, stack: str) -> None:
    project.pulumi("stack", "init", stack, check=True)
    result = project.pulumi("preview", "--stack", stack)
    output = result.stdout + result.stderr
    # A preview that fails stops at the language host, past the checks, or it failed them.
    assert result.returncode == 0 or NO_LANGUAGE_HOST in output, output


@pytest.mark.parametrize(
    ("key", "value", "type_name"),
    [
        pytest.param("hostCount", "three", "integer", id="integer"),
        pytest.param("floatingIps", "maybe", "boolean", id="boolean"),
        pytest.param("dnsServers", "8.8.8.8", "array<string>", id="array"),
    ],
)
def test_a_value_of_the_wrong_type_stops_preview_naming_the_key(
    project: Project, key: str, value: str, type_name: str
) -> None:
    project.pulumi("stack", "init", "dev", check=True)
    # `config set` stores what it is given; the type check comes with the next preview.
    project.pulumi("config", "set", f"lxdhost:{key}", value, check=True)
    result = project.pulumi("preview")
    assert result.returncode != 0
    assert (
        f"Stack 'dev' with configuration key '{key}' must be of type '{type_name}'"
        in result.stdout + result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr

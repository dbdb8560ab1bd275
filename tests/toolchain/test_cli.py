"""The real Pulumi CLI reads the project as users' commands do: backend, stacks, typed config."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import version

import pytest

from lxdhost.config import CONFIG_KEYS
from lxdhost.offline import list_stacks

from .conftest import Project

pytestmark = pytest.mark.toolchain

STACKS = list_stacks()


def release(version_text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version_text.lstrip("v").split("."))


def test_the_cli_the_language_host_and_the_provider_are_one_set_of_versions(
    project: Project,
) -> None:
    cli = project.pulumi("version", check=True).stdout.strip()
    sdk = version("pulumi")
    plugins = {
        (plugin["kind"], plugin["name"]): plugin["version"]
        for plugin in json.loads(project.pulumi("plugin", "ls", "--json", check=True).stdout)
    }
    # The language host reports its own version: the one it was stamped with at build time.
    host = subprocess.run(
        ["pulumi-language-python", "-version"],
        env=project.environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    provider_sdk = version("pulumi-openstack")
    print(
        f"\nPulumi CLI {cli}, language host {host}, Python SDK {sdk}; "
        f"provider plugin {plugins.get(('resource', 'openstack'))}, pulumi-openstack {provider_sdk}"
    )
    assert cli == host == f"v{sdk}"
    assert plugins.get(("resource", "openstack")) == provider_sdk


def test_stacks_live_in_the_relative_file_backend(project: Project) -> None:
    project.pulumi("stack", "init", "dev", check=True)
    assert (project.path / ".pulumi-state/.pulumi/stacks/lxdhost/dev.json").is_file()
    listed = json.loads(project.pulumi("stack", "ls", "--json", check=True).stdout)
    assert [stack["name"] for stack in listed] == ["dev"]


def test_the_cli_fills_in_every_declared_default(project: Project) -> None:
    # A stack with no config of its own: every key the CLI reports comes from Pulumi.yaml.
    project.pulumi("stack", "init", "bare", check=True)
    reported = json.loads(project.pulumi("config", "--json", check=True).stdout)
    # Only what Pulumi.yaml declares: `containers` is a list of mappings, which its config types
    # cannot declare, so the CLI knows no default for it.
    expected = {
        f"lxdhost:{key.name}": key.default
        for key in CONFIG_KEYS
        if key.default is not None and key.declared
    }
    assert "lxdhost:containers" not in expected
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


# The provider's words when it cannot reach a stack's cloud.
CLOUD_UNREACHABLE = (
    "no clouds.yml file found",
    "does not exist in clouds.yaml",
    "connection refused",
)


@pytest.mark.parametrize("stack", STACKS)
def test_each_committed_stack_passes_the_clis_type_checks(project: Project, stack: str) -> None:
    if stack in ("local", "scale"):
        # The local cloud's stacks carry the salt of their documented passphrase.
        project.environment["PULUMI_CONFIG_PASSPHRASE"] = "local"
    project.pulumi("stack", "init", stack, check=True)
    result = project.pulumi("preview", "--stack", stack)
    output = result.stdout + result.stderr
    # Past the CLI's type checks and the program's own: a preview that fails, fails at the
    # provider, which cannot reach the stack's cloud from here (no clouds.yaml on a machine
    # that never ran the local cloud, a cloud it does not name, or a cloud that is down), and
    # says so in one error, without a traceback.
    assert "must be of type" not in output
    assert "the stack's configuration has" not in output
    assert "Traceback" not in output
    assert result.returncode == 0 or any(reason in output for reason in CLOUD_UNREACHABLE), output


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


def test_bad_values_stop_preview_with_the_programs_one_message(project: Project) -> None:
    # Values of the right type that the program refuses: the real language host runs
    # __main__.py, which names every bad key before anything is declared.
    project.pulumi("stack", "init", "dev", check=True)
    for key, value in [("cidr", "10.0.0.0/33"), ("slotsPerHost", "0"), ("bringUp", "sideways")]:
        project.pulumi("config", "set", f"lxdhost:{key}", value, check=True)
    result = project.pulumi("preview")
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode != 0
    assert "the stack's configuration has 3 problem(s):" in output
    for line in [
        "lxdhost:bringUp: 'sideways' is not one of 'reboot', 'in-place'",
        "lxdhost:slotsPerHost: must be at least 1, got 0",
        "lxdhost:cidr: '10.0.0.0/33' is not a network such as 192.168.0.0/24",
    ]:
        assert line in output
    assert "Traceback" not in output
    # The program reported its error itself: the engine adds no line that reads as a crash.
    assert "an unhandled error occurred" not in output
    diagnostics = output.split("Diagnostics:", 1)[1].split("Resources:", 1)[0]
    assert diagnostics.count("error:") == 1, diagnostics


def test_a_cloud_that_does_not_answer_fails_at_the_provider(project: Project) -> None:
    # A good stack whose clouds.yaml entry points at a port where nothing listens.
    clouds = project.path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n"
        "  nowhere:\n"
        "    auth:\n"
        "      auth_url: http://127.0.0.1:9/v3\n"
        "      username: nobody\n"
        "      password: nothing\n"
        "      project_name: nothing\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        "    region_name: RegionOne\n"
    )
    project.environment["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    project.pulumi("stack", "init", "dev", check=True)
    project.pulumi("config", "set", "openstack:cloud", "nowhere", check=True)
    result = project.pulumi("preview")
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode != 0
    # The provider's own words, about the endpoint it could not reach. (The program's first
    # call to it is a data-source look-up, whose failure the SDK shows with the program's
    # Python traceback around the provider's message.)
    assert "Error creating OpenStack networking client" in output
    assert 'Post "http://127.0.0.1:9/v3/auth/tokens"' in output
    assert "connection refused" in output
    assert "the stack's configuration has" not in output

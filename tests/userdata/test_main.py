"""`python -m userdata render HOST.yaml`: output, --help, and exit 2 naming each bad key."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from tests.userdata.support import EXAMPLES, EXAMPLES_DIR, PROJECT_ROOT, assert_problems_start
from userdata import HostSpec, render_host
from userdata.__main__ import main
from userdata.hostfile import KEYS, load_host_file


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "userdata", *arguments],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )


def test_render_prints_the_hosts_user_data() -> None:
    example = EXAMPLES_DIR / "ubuntu-24.04.yaml"
    result = run("render", str(example))
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_host(load_host_file(example))
    assert result.stderr == ""


def test_render_output_writes_the_file_and_reports_its_encoded_size(tmp_path: Path) -> None:
    target = tmp_path / "user-data"
    assert main(["render", str(EXAMPLES_DIR / "seed.yaml"), "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_host(
        load_host_file(EXAMPLES_DIR / "seed.yaml")
    )


def test_help_documents_every_key_of_the_host_file() -> None:
    for arguments in (["--help"], ["render", "--help"]):
        result = run(*arguments)
        assert result.returncode == 0
        for key in KEYS:
            assert f"\n  {key.name} " in result.stdout, key.name
    # Every HostSpec field a file can set is a documented key (profiles also via slots).
    assert {f.name for f in dataclasses.fields(HostSpec)} == {k.name for k in KEYS} - {"slots"}


def test_help_shows_hostspecs_defaults() -> None:
    by_name = {key.name: key.default for key in KEYS}
    assert by_name["distro"] == "ubuntu"
    assert by_name["host_network"] == "null"
    assert by_name["lxd_api_port"] == "8443"
    assert by_name["disable_cloud_init_network"] == "true"
    assert by_name["packages"] == "[]"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("distro: ubuntu\nflavour: m1\n", ["flavour: unknown key"], id="unknown-key"),
        pytest.param("mtu: large\n", ["mtu: 'large' is not an integer or null"], id="wrong-type"),
        pytest.param(
            "packages: htop\n", ["packages: 'htop' is not a list of strings"], id="scalar-for-list"
        ),
        pytest.param(
            "disable_cloud_init_network: 'no'\n",
            ["disable_cloud_init_network: 'no' is not true or false"],
            id="string-for-bool",
        ),
        pytest.param(
            "distro: fedora\n",
            ["distro: 'fedora' is not one of ubuntu, debian"],
            id="invalid-value",
        ),
        pytest.param(
            "macaddress: fa:16:3e:zz:00:01\n",
            ["macaddress: 'fa:16:3e:zz:00:01' is not a MAC"],
            id="bad-mac",
        ),
        pytest.param(
            "foo: 1\nmtu: x\nlxd_init: auto\n"
            "slots:\n  - {name: s1, hwaddr: zz, address: 10.0.0.5/24, vlan: 3}\n",
            [
                "foo: unknown key",
                "slots[0].vlan: unknown key",
                "slots[0].hwaddr: 'zz' is not a MAC address",
                "mtu: 'x' is not an integer",
                "lxd_init: 'auto' is not one of",
            ],
            id="several-at-once",
        ),
        pytest.param(
            "slots:\n  - {name: s1, hwaddr: '0a:00:00:00:00:01', address: 10.0.0.5/24,"
            " gateway: 10.1.0.1}\n",
            ["slots[0].gateway: 10.1.0.1 is outside 10.0.0.0/24"],
            id="slot-gateway-outside",
        ),
        pytest.param(
            "slots:\n  - {name: s1}\n",
            ["slots[0].hwaddr: required", "slots[0].address: required"],
            id="slot-missing-keys",
        ),
        pytest.param(
            "slots: [s1]\n",
            ["slots[0]: 's1' is not a mapping (keys: name, hwaddr"],
            id="slot-not-mapping",
        ),
        pytest.param(
            "profiles:\n  - {name: big, config: {limits.cpu: 2}}\n",
            ["profiles[0].config.limits.cpu: 2 must be a string"],
            id="profile-int-config",
        ),
        pytest.param("mtu: 1400\nmtu: 1500\n", ["mtu: appears twice (line 2)"], id="duplicate-key"),
        pytest.param("distro: [\n", ["(file): not YAML: expected the node content"], id="not-yaml"),
        pytest.param(
            "- distro\n", ["(top level): a host file is a YAML mapping"], id="top-level-list"
        ),
    ],
)
def test_bad_host_file_exits_2_naming_each_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: list[str]
) -> None:
    host_file = tmp_path / "host.yaml"
    host_file.write_text(content, encoding="utf-8")
    assert main(["render", str(host_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{host_file}: invalid user-data ")
    assert_problems_start([line.removeprefix("  - ") for line in err.splitlines()[1:]], expected)


def test_bad_file_through_the_real_command_is_one_message_not_a_traceback(tmp_path: Path) -> None:
    host_file = tmp_path / "host.yaml"
    host_file.write_text("foo: 1\nmtu: x\n", encoding="utf-8")
    result = run("render", str(host_file))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"{host_file}: invalid user-data (2 problems):\n"
        "  - foo: unknown key (see --help for the keys)\n"
        "  - mtu: 'x' is not an integer or null\n"
    )


def test_unreadable_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = run("render", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_exits_2(tmp_path: Path) -> None:
    result = run("render", str(EXAMPLES[0]), "--output", str(tmp_path / "no" / "such" / "dir"))
    assert result.returncode == 2
    assert result.stderr.startswith("--output: cannot write")


def test_missing_argument_is_a_usage_error() -> None:
    result = run("render")
    assert result.returncode == 2
    assert "usage:" in result.stderr

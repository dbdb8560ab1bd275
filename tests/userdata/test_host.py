"""A whole host: what each distro, renderer and LXD form adds, rejections, size and determinism."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.userdata.strategies import junk, junk_profiles
from tests.userdata.support import EXAMPLES, GOLDEN_DIR, PROJECT_ROOT, assert_problems_start
from userdata import (
    NOVA_USER_DATA_LIMIT,
    HostSpec,
    LxdProfile,
    UserDataError,
    build_cloud_config,
    encoded_size,
    render_host,
)
from userdata.hostfile import load_host_file
from userdata.lxd import container_slot_profile

SLOT = container_slot_profile(
    name="slot-01",
    hwaddr="0a:4c:c0:a8:00:65",
    address="192.168.0.101/24",
    gateway="192.168.0.1",
    nameservers=("8.8.8.8",),
)


def document(spec: HostSpec) -> dict[str, object]:
    parsed = yaml.safe_load(render_host(spec))
    assert isinstance(parsed, dict)
    return parsed


def paths(spec: HostSpec) -> list[str]:
    return [item["path"] for item in document(spec)["write_files"]]  # type: ignore[index, union-attr]


@pytest.mark.parametrize(
    ("spec", "host_network", "packages", "unverified"),
    [
        pytest.param(HostSpec(distro="ubuntu"), "netplan", None, None, id="ubuntu"),
        pytest.param(
            HostSpec(distro="debian"), "ifupdown", ["bridge-utils", "lxd"], ["lxd"], id="debian"
        ),
        pytest.param(
            HostSpec(distro="ubuntu", host_network="ifupdown"),
            "ifupdown",
            ["bridge-utils"],
            None,
            id="ubuntu-ifupdown",
        ),
        pytest.param(
            HostSpec(distro="debian", host_network="netplan"),
            "netplan",
            ["netplan.io", "lxd"],
            ["lxd"],
            id="debian-netplan",
        ),
    ],
)
def test_distro_decides_host_network_packages_and_whether_lxd_must_be_unverified(
    spec: HostSpec, host_network: str, packages: list[str] | None, unverified: list[str] | None
) -> None:
    assert spec.effective_host_network == host_network
    rendered = document(spec)
    assert rendered.get("packages") == packages
    # cloud-init 22.4 on Debian skips the lxd module ("not verified on distro") without this.
    assert rendered.get("unverified_modules") == unverified


def test_debian_with_netplan_stops_ifupdown_reading_cloud_inits_interfaces_d() -> None:
    assert paths(HostSpec(distro="debian", host_network="netplan")) == [
        "/etc/netplan/60-br0.yaml",
        "/etc/netplan/50-cloud-init.yaml",
        "/etc/network/interfaces",
        "/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg",
        "/usr/local/sbin/lxdhost-ready",
    ]


def test_every_host_reboots_once_so_the_bridge_takes_effect_when_its_tools_are_installed() -> None:
    assert document(HostSpec())["power_state"] == {
        "delay": "now",
        "mode": "reboot",
        "message": "Bye Bye",
        "timeout": 60,
        # The readiness script: a host whose packages failed does not reboot into a bridge it
        # cannot bring up.
        "condition": "/usr/local/sbin/lxdhost-ready",
    }


def test_a_host_brought_up_in_place_runs_the_bring_up_first_and_does_not_reboot() -> None:
    spec = HostSpec(
        distro="debian",
        lxd_init="module",
        profiles=(SLOT,),
        runcmd=("echo ready",),
        bring_up="in-place",
    )
    rendered = document(spec)
    assert "power_state" not in rendered
    runcmd = rendered["runcmd"]
    # Before the module form's LXD commands and the user's own, and stopping the script when
    # it fails: cloud-init's runcmd script otherwise ends with the last command's status.
    assert runcmd[0] == "/usr/local/sbin/lxdhost-bring-up || exit 1"
    assert runcmd[1:] == document(dataclasses.replace(spec, bring_up="reboot"))["runcmd"]
    scripts = [
        f for f in rendered["write_files"] if f["path"] == "/usr/local/sbin/lxdhost-bring-up"
    ]
    assert [f["permissions"] for f in scripts] == ["0755"]
    # The same bridge files either way: a later boot comes up as a rebooted host does.
    rebooted = document(dataclasses.replace(spec, bring_up="reboot"))["write_files"]
    assert [f for f in rendered["write_files"] if f not in scripts] == rebooted


@pytest.mark.parametrize(
    ("host_network", "steps"),
    [
        ("netplan", ["lxdhost-ready || exit 1", "netplan apply", "wait_for_bridge"]),
        (
            "ifupdown",
            [
                "lxdhost-ready || exit 1",
                "dhclient -r -pf /run/dhclient.ens3.pid",
                "ip -4 addr flush dev ens3",
                "ifup --force ens3",
                "ifup br0",
                "wait_for_bridge",
            ],
        ),
    ],
)
def test_the_bring_up_uses_the_renderers_own_tools_in_order(
    host_network: str, steps: list[str]
) -> None:
    spec = HostSpec(distro="debian", host_network=host_network, bring_up="in-place")  # type: ignore[arg-type]
    script = next(
        f["content"]
        for f in document(spec)["write_files"]
        if f["path"] == "/usr/local/sbin/lxdhost-bring-up"
    )
    # The steps after the functions: from the readiness check on.
    body = script[script.index("/usr/local/sbin/lxdhost-ready || exit 1") :]
    positions = [body.find(step) for step in steps]
    assert -1 not in positions, (steps, body)
    assert positions == sorted(positions), body


def test_the_module_forms_empty_bridge_has_the_ports_mac() -> None:
    spec = HostSpec(distro="debian", lxd_init="module", macaddress="fa:16:3e:ab:cd:ef")
    assert document(spec)["bootcmd"] == [
        "ip link show br0 >/dev/null 2>&1 || ip link add br0 address fa:16:3e:ab:cd:ef type bridge"
    ]


def test_preseed_form_carries_the_profiles_and_no_init_or_bridge() -> None:
    lxd = document(HostSpec(profiles=(SLOT,)))["lxd"]
    assert list(lxd) == ["preseed"]  # type: ignore[arg-type]
    names = [p["name"] for p in yaml.safe_load(lxd["preseed"])["profiles"]]  # type: ignore[index]
    assert names == ["default", "slot-01"]
    assert "runcmd" not in document(HostSpec(profiles=(SLOT,)))


def test_module_form_loads_the_profiles_with_runcmd_after_the_users_commands_come_last() -> None:
    rendered = document(HostSpec(lxd_init="module", profiles=(SLOT,), runcmd=("echo ready",)))
    assert rendered["lxd"] == {
        "init": {"storage_backend": "dir"},
        "bridge": {"mode": "existing", "name": "br0", "ipv4_nat": False},
    }
    assert rendered["runcmd"] == [
        "lxc profile create slot-01",
        "lxc profile edit slot-01 < /etc/lxd-profiles/slot-01.yaml",
        "echo ready",
    ]


def test_lxd_api_address_reaches_either_form() -> None:
    spec = HostSpec(lxd_api_address="fd00::2", lxd_api_port=9443)
    preseed = yaml.safe_load(document(spec)["lxd"]["preseed"])  # type: ignore[index]
    assert preseed["config"] == {"core.https_address": "[fd00::2]:9443"}
    module = document(HostSpec(lxd_init="module", lxd_api_address="10.0.0.5"))
    assert module["lxd"]["init"] == {  # type: ignore[index]
        "storage_backend": "dir",
        "network_address": "10.0.0.5",
        "network_port": 8443,
    }


def test_users_packages_follow_the_required_ones_once_each() -> None:
    spec = HostSpec(distro="debian", packages=("htop", "lxd", "jq", "htop"))
    assert document(spec)["packages"] == ["bridge-utils", "lxd", "htop", "jq"]


def test_package_update_upgrade_and_keys_pass_through() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey me@example"
    rendered = document(
        HostSpec(package_update=True, package_upgrade=True, ssh_authorized_keys=(key,))
    )
    assert rendered["package_update"] is True
    assert rendered["package_upgrade"] is True
    assert rendered["ssh_authorized_keys"] == [key]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(HostSpec(distro="fedora"), ["distro: 'fedora'"], id="distro"),  # type: ignore[arg-type]
        pytest.param(HostSpec(lxd_init="auto"), ["lxd_init: 'auto'"], id="lxd-form"),  # type: ignore[arg-type]
        pytest.param(HostSpec(storage_backend="ceph"), ["storage_backend: 'ceph'"], id="backend"),  # type: ignore[arg-type]
        pytest.param(HostSpec(storage_pool=""), ["storage_pool: ''"], id="pool"),
        pytest.param(
            HostSpec(profiles=(LxdProfile("default"),)),
            ["profiles[0].name: 'default'"],
            id="default-profile",
        ),
        pytest.param(
            HostSpec(profiles=(SLOT, SLOT)),
            ["profiles[1].name: 'slot-01' is declared twice", "profiles[1]: hwaddr"],
            id="same-slot-twice",
        ),
        pytest.param(
            HostSpec(macaddress="0a:4c:c0:a8:00:65", profiles=(SLOT,)),
            ["profiles[0]: hwaddr 0a:4c:c0:a8:00:65 is the host's own"],
            id="slot-mac-is-hosts",
        ),
        pytest.param(
            HostSpec(bridge="lxbr", profiles=(SLOT.bound_to("br0"),)),
            ["profiles[0].devices.eth0.parent: 'br0' is not the host's bridge 'lxbr'"],
            id="slot-on-another-bridge",
        ),
        pytest.param(HostSpec(lxd_api_address="any"), ["lxd_api_address: 'any'"], id="listen"),
        pytest.param(HostSpec(lxd_api_port=0), ["lxd_api_port: 0"], id="port"),
        pytest.param(HostSpec(reboot_timeout=-1), ["reboot_timeout: -1"], id="timeout"),
        pytest.param(HostSpec(packages=("two words",)), ["packages[0]: 'two words'"], id="package"),
        pytest.param(
            HostSpec(interface="br0", macaddress="FA:16:3E:00:00:01", mtu=10),
            ["interface: 'br0' is the bridge's", "mtu: 10", "macaddress: 'FA:16:3E:00:00:01'"],
            id="several-network-fields",
        ),
    ],
)
def test_rejects_a_bad_host_naming_every_field(spec: HostSpec, expected: list[str]) -> None:
    with pytest.raises(UserDataError) as caught:
        render_host(spec)
    assert_problems_start(caught.value.problems, expected)


def test_a_host_past_novas_limit_is_refused_saying_by_how_much() -> None:
    slots = tuple(
        container_slot_profile(
            name=f"slot-{n:03}",
            hwaddr=f"0a:00:00:00:{n // 256:02x}:{n % 256:02x}",
            address=f"10.{n // 250}.{n % 250}.10/8",
            gateway="10.255.255.254",
            nameservers=("8.8.8.8", "8.8.4.4"),
        )
        for n in range(120)
    )
    build_cloud_config(HostSpec(profiles=slots))  # valid as a document ...
    with pytest.raises(UserDataError) as caught:
        render_host(HostSpec(profiles=slots))  # ... but too big for Nova
    (problem,) = caught.value.problems
    assert "over Nova's limit of 65535" in problem


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_examples_render_to_their_golden_files(
    example: Path, request: pytest.FixtureRequest
) -> None:
    golden = GOLDEN_DIR / f"{example.stem}.user-data"
    text = render_host(load_host_file(example))
    # One way to accept new expected output for the goldens and the snapshots alike (syrupy's).
    if request.config.getoption("--snapshot-update"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        f"{example.name} renders differently from {golden.name}: a changed byte replaces the "
        "server; if intended, rerun with --snapshot-update and review the diff"
    )


def test_two_processes_render_the_same_bytes() -> None:
    script = (
        "import sys; from userdata import render_host; "
        "from userdata.hostfile import load_host_file; "
        "sys.stdout.write(''.join(render_host(load_host_file(p)) for p in sys.argv[1:]))"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script, *map(str, EXAMPLES)],
            capture_output=True,
            check=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"#cloud-config\n") == len(EXAMPLES) >= 3


SPEC_FIELDS = [spec_field.name for spec_field in dataclasses.fields(HostSpec)]


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(st.sampled_from(SPEC_FIELDS), junk, max_size=6),
    profiles=st.lists(junk_profiles, max_size=2),
)
def test_any_values_render_or_raise_user_data_error_never_a_crash(
    values: dict[str, object], profiles: list[LxdProfile]
) -> None:
    values.setdefault("profiles", tuple(profiles))
    try:
        text = render_host(HostSpec(**values))  # type: ignore[arg-type]
    except UserDataError as error:
        assert error.problems
        assert all(isinstance(problem, str) and problem for problem in error.problems)
    else:
        assert text.startswith("#cloud-config\n")


# The calls the Pulumi program (lxdhost/host.py) makes.


def test_program_call_renders_a_cloud_config_within_novas_limit() -> None:
    spec = HostSpec(distro="ubuntu", macaddress="fa:16:3e:12:34:56", profiles=(SLOT,))
    text = render_host(spec)
    assert text.startswith("#cloud-config\n")
    assert 0 < encoded_size(text) <= NOVA_USER_DATA_LIMIT
    preseed = yaml.safe_load(yaml.safe_load(text)["lxd"]["preseed"])
    slot_profile = next(p for p in preseed["profiles"] if p["name"] == "slot-01")
    assert slot_profile["devices"]["eth0"] == {
        "type": "nic",
        "nictype": "bridged",
        "parent": "br0",
        "name": "eth0",
        "hwaddr": "0a:4c:c0:a8:00:65",
    }


def test_slot_parent_follows_the_hosts_bridge() -> None:
    text = render_host(HostSpec(bridge="lxdbr1", profiles=(SLOT,)))
    preseed = yaml.safe_load(yaml.safe_load(text)["lxd"]["preseed"])
    assert {p["devices"]["eth0"]["parent"] for p in preseed["profiles"]} == {"lxdbr1"}


def test_bad_spec_raises_one_error_naming_every_field() -> None:
    with pytest.raises(UserDataError) as caught:
        render_host(HostSpec(macaddress="zz", interface="bad name", lxd_init="x"))  # type: ignore[arg-type]
    assert [p.path for p in caught.value.problems] == [
        "interface",
        "macaddress",
        "lxd_init",
    ]

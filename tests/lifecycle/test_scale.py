"""The local cloud's scale mode, smoke-tested: stack `scale` (Pulumi.scale.yaml) of five hosts on
the fake compute host, `up`, a `preview` with no changes, and `destroy`.

The scale mode is what bench/scale.py measures on; this checks that what it measures is a real
`pulumi up`: every server goes ACTIVE on the fake host (no guest), and every port is bound to
that host by its own linuxbridge agent, which reports it up and applies its rules, the allowed
address pairs among them, as on the libvirt host. scripts/test-lifecycle brings the scale mode
up (`scripts/local-cloud up --scale`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from openstack.connection import Connection

from .conftest import (
    SETTINGS,
    LocalStack,
    changes,
    hosts_of,
    project_contents,
    stack_on_local_cloud,
    wait_for,
)

pytestmark = [pytest.mark.lifecycle, pytest.mark.scale]

STACK = "scale"
HOSTS = 5
FAKE_HOST = SETTINGS["LC_FAKE_HOST"]
FAKE_NAMESPACE = SETTINGS["LC_FAKE_NS"]  # where that host's agent applies its rules
FAKE_FLAVOR = SETTINGS["LC_FAKE_FLAVOR"]
PORT_TIMEOUT = 120  # seconds for the fake host's agent to report every port up


@pytest.fixture(scope="module")
def scale_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with stack_on_local_cloud(tmp_path_factory, STACK, {"lxdhost:hostCount": str(HOSTS)}) as local:
        yield local


def fake_host_rules() -> str:
    """The fake host's iptables rules, in its linuxbridge agent's namespace."""
    return subprocess.run(
        ["ip", "netns", "exec", FAKE_NAMESPACE, "iptables-save"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def ports_of(cloud: Connection, outputs: dict[str, Any]) -> list[Any]:
    ports = []
    for host in hosts_of(outputs):
        (port,) = cloud.network.ports(fixed_ips=f"ip_address={host.fixed_ip}")
        ports.append(port)
    return ports


def test_five_fake_hosts_come_up_with_their_ports_bound_and_filtered(
    scale_stack: LocalStack, admin: Connection
) -> None:
    # Pulumi.scale.yaml's flavor, not Pulumi.local.yaml's: five real guests would not fit here.
    assert scale_stack.stack.get_config("lxdhost:flavor").value == FAKE_FLAVOR
    result = scale_stack.timed("up (5 fake hosts)", scale_stack.stack.up)
    assert result.summary.result == "succeeded"
    assert set(changes(result.summary.resource_changes)) == {"create"}
    outputs = scale_stack.outputs()
    hosts = hosts_of(outputs)
    assert [host.name for host in hosts] == [f"lxd-{n}" for n in range(1, HOSTS + 1)]

    servers = {server.name: server for server in admin.compute.servers(all_projects=True)}
    for host in hosts:
        server = servers[host.name]
        assert (server.status, server.compute_host, server.flavor.original_name) == (
            "ACTIVE", FAKE_HOST, FAKE_FLAVOR,
        )  # fmt: skip

    def all_ports_up() -> bool:
        return all(port.status == "ACTIVE" for port in ports_of(admin, outputs))

    wait_for("every port reported up by the fake host's agent", all_ports_up, PORT_TIMEOUT, 2)
    scale_stack.since_up("ports up")
    rules = fake_host_rules()
    for host, port in zip(hosts, ports_of(admin, outputs), strict=True):
        assert port.binding_host_id == FAKE_HOST
        assert port.binding_vif_type == "bridge"
        # The agent's anti-spoofing chain for the port, with one rule per allowed address pair
        # (a slot's address and MAC) beside the port's own.
        chain = f"neutron-linuxbri-s{port.id[:10]}"
        for slot in host.slots:
            rule = f"-A {chain} -s {slot['ip']}/32 -m mac --mac-source {slot['mac']}"
            assert rule.lower() in rules.lower(), f"{host.name}: {rule}"


def test_the_scale_stack_previews_with_no_changes(scale_stack: LocalStack) -> None:
    result = scale_stack.timed("preview", scale_stack.stack.preview)
    assert changes(result.change_summary) == {}


def fake_host_taps() -> list[str]:
    links = subprocess.run(
        ["ip", "-n", FAKE_NAMESPACE, "-o", "link", "show"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    return [line.split(": ")[1] for line in links.splitlines() if ": tap" in line]


def test_destroy_leaves_nothing_on_the_fake_host(
    scale_stack: LocalStack, cloud: Connection
) -> None:
    assert len(fake_host_taps()) == HOSTS
    result = scale_stack.timed("destroy", scale_stack.stack.destroy)
    assert set(changes(result.summary.resource_changes)) == {"delete"}
    assert project_contents(cloud) == {}
    wait_for("the plugger to remove the fake host's taps", lambda: not fake_host_taps(), 30, 2)

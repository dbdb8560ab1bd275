"""Stack `local`, from `pulumi up` to `pulumi destroy`, on the local cloud.

The tests run in file order and share one stack: up, the engine's and the cloud's view of it,
the host over SSH, a container through Neutron's real rules and the rules that drop what the
port does not allow, drift, a host stopped out of band named on preview, and destroy.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from openstack.connection import Connection
from pulumi import automation as auto

from hostimage.build import CONTAINER_IMAGE_ALIAS
from lxdhost import lxdapi, trust

from .conftest import (
    MTU,
    READY_TIMEOUT,
    SETTINGS,
    Host,
    LocalStack,
    assert_bridged,
    changes,
    engine_steps,
    host_warnings,
    hosts_of,
    port_of,
    project_contents,
    pulumi_environment,
    wait_for,
    wait_until_ready,
)

pytestmark = pytest.mark.lifecycle

CONTAINER_TIMEOUT = 600
IMAGE_ALIAS = CONTAINER_IMAGE_ALIAS  # the local cloud's host image imports it at first boot
CONTAINER = "web1"
# Outside every slot's pair: traffic from it must be dropped by the agent's rules.
STRAY_ADDRESS = "192.168.0.250"
# Nova's stop waits up to 60 s for the guest to power off; a start boots it again (TCG).
POWER_TIMEOUT = 300


def in_namespace(*command: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", SETTINGS["LC_NS"], *command],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def spoof_drops(port_id: str) -> int:
    """Packets the linuxbridge agent's iptables dropped as spoofed from this port (its -s chain)."""
    chain = f"neutron-linuxbri-s{port_id[:10]}"
    listed = in_namespace("iptables", "-w", "-L", chain, "-v", "-x", "-n")
    return sum(int(line.split()[0]) for line in listed.splitlines()[2:] if " DROP " in f" {line} ")


def mac_drops(port_id: str) -> int:
    """Frames the agent's ebtables MAC chain for this port dropped (a MAC outside its pairs)."""
    chain = f"neutronMAC-tap{port_id[:11]}"
    listed = in_namespace("ebtables", "-t", "nat", "-L", chain, "--Lc")
    return sum(
        int(line.rsplit("pcnt =", 1)[1].split()[0])
        for line in listed.splitlines()
        if line.startswith("-j DROP") and "pcnt =" in line
    )


def first_host(local_stack: LocalStack, cloud: Connection) -> tuple[Host, Any, str]:
    """The stack's first host, its port, and its subnet's gateway, as the cloud reports them."""
    outputs = local_stack.outputs()
    host = hosts_of(outputs)[0]
    gateway = cloud.network.get_subnet(outputs["subnetId"]).gateway_ip
    return host, port_of(cloud, host.fixed_ip), gateway


def pings(host: Host, container: str, target: str, *, source: str = "", attempts: int = 10) -> bool:
    option = f"-I {source} " if source else ""
    for _ in range(attempts):
        result = host.ssh_status(
            f"sudo lxc exec {container} -- ping -c 1 -W 2 {option}{target}", 30
        )
        if result.returncode == 0:
            return True
    return False


@pytest.mark.daytwo
def test_up_builds_the_stack_the_cloud_reports(local_stack: LocalStack, cloud: Connection) -> None:
    result = local_stack.timed("up", local_stack.stack.up)
    assert result.summary.result == "succeeded"
    created = changes(result.summary.resource_changes)
    assert set(created) == {"create"}, created
    outputs = local_stack.outputs()

    subnet = cloud.network.get_subnet(outputs["subnetId"])
    assert subnet.allocation_pools == [outputs["allocationPool"]]
    for host in hosts_of(outputs):
        port = port_of(cloud, host.fixed_ip)
        expected_pairs = [{"ip_address": s["ip"], "mac_address": s["mac"]} for s in host.slots]
        assert sorted(port.allowed_address_pairs, key=str) == sorted(expected_pairs, key=str)
        assert ipaddress.ip_address(host.fixed_ip) in ipaddress.ip_network(subnet.cidr)
        (server,) = list(cloud.compute.servers(name=f"^{host.name}$"))
        assert server.status == "ACTIVE"
        interfaces = list(cloud.compute.server_interfaces(server))
        assert [i.port_id for i in interfaces] == [port.id]
        # The port carries the group; the server, booted on the port, none of its own.
        assert port.security_group_ids
        (floating,) = list(cloud.network.ips(port_id=port.id))
        assert floating.floating_ip_address == host.floating_ip


@pytest.mark.daytwo
def test_preview_right_after_up_has_no_changes(local_stack: LocalStack) -> None:
    result = local_stack.timed("preview", local_stack.stack.preview, expect_no_changes=True)
    assert changes(result.change_summary) == {}


def offline_plan(local_stack: LocalStack, *arguments: str) -> Any:
    """`python -m lxdhost plan --stack local --json ...` in the stack's copy of the checkout."""
    result = subprocess.run(
        ["venv/bin/python", "-m", "lxdhost", "plan", "--stack", "local", "--json", *arguments],
        cwd=local_stack.path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: it replaces
    return json.loads(result.stdout)


def test_a_slot_change_previews_as_the_offline_plan_said(local_stack: LocalStack) -> None:
    base = local_stack.path / "plan-base.json"
    base.write_text(json.dumps(offline_plan(local_stack)))
    slots = local_stack.stack.get_config("lxdhost:slotsPerHost")
    local_stack.stack.set_config("lxdhost:slotsPerHost", auto.ConfigValue("8"))
    try:
        offline = offline_plan(local_stack, "--diff", str(base))
        events: list[auto.EngineEvent] = []
        local_stack.timed(
            "preview (slot change)", local_stack.stack.preview, on_event=events.append
        )
    finally:
        local_stack.stack.set_config("lxdhost:slotsPerHost", slots)
    said = {change["name"]: change["action"] for change in offline["changes"]}
    # Fewer slots: the port's pairs are updated and the two last slots' profiles deleted through
    # LXD's API; the server, whose user_data holds no profile, is not touched.
    assert said == {
        "lxd-1-port": "update",
        "lxd-1-slot-09": "delete",
        "lxd-1-slot-10": "delete",
    }, offline
    assert engine_steps(events) == said
    assert offline["replaces"] == []
    unchanged = local_stack.stack.preview(expect_no_changes=True, color="never")
    assert changes(unchanged.change_summary) == {}


def test_the_host_comes_up_with_lxd_on_br0(local_stack: LocalStack, cloud: Connection) -> None:
    for host in hosts_of(local_stack.outputs()):
        wait_until_ready(local_stack, host)

        # cloud-init keeps the host's own name in /etc/hosts: sudo resolves it, and says nothing.
        assert host.ssh(f"getent hosts {host.name}").split()[2:] == [host.name]
        assert host.ssh("sudo true 2>&1") == ""

        assert_bridged(host, cloud, MTU)
        profiles = {}
        for slot in host.slots:
            profile = yaml.safe_load(host.ssh(f"sudo lxc profile show {slot['name']}"))
            (nic,) = [d for d in profile["devices"].values() if d.get("hwaddr")]
            profiles[slot["name"]] = nic["hwaddr"]
        assert profiles == {slot["name"]: slot["mac"] for slot in host.slots}


@pytest.mark.daytwo
def test_the_declared_container_sits_on_its_slot_with_its_own_cloud_init(
    local_stack: LocalStack, cloud: Connection
) -> None:
    outputs = local_stack.outputs()
    host = hosts_of(outputs)[0]
    slot = host.slots[0]
    # Pulumi.local.yaml's web1, on lxd-1's slot-01: made by `pulumi up` through LXD's API.
    assert outputs["containers"][CONTAINER] == {
        "host": host.name,
        "slot": slot["name"],
        "address": slot["ip"],
        "status": "Running",
    }
    status = host.ssh_status(
        f"sudo timeout {CONTAINER_TIMEOUT} lxc exec {CONTAINER} -- cloud-init status --wait",
        CONTAINER_TIMEOUT + 30,
    )
    assert "status: done" in status.stdout, status.stdout + status.stderr
    # Its own user-data ran: the file it writes is there.
    assert host.ssh(f"sudo lxc exec {CONTAINER} -- cat /etc/motd").startswith(
        f"{CONTAINER}: a container of the lxdhost stack `local`"
    )
    shown = json.loads(host.ssh(f"sudo lxc exec {CONTAINER} -- ip -j -4 addr show dev eth0"))
    assert [a["local"] for link in shown for a in link["addr_info"]] == [slot["ip"]]
    assert [link["mtu"] for link in shown] == [MTU]
    (link,) = json.loads(host.ssh(f"sudo lxc exec {CONTAINER} -- ip -j link show dev eth0"))
    assert link["address"] == slot["mac"]
    gateway = cloud.network.get_subnet(outputs["subnetId"]).gateway_ip
    assert pings(host, CONTAINER, gateway), f"{CONTAINER} on {slot['name']}: no reply"
    local_stack.since_up("first container at the gateway")


def test_an_address_outside_the_pairs_is_dropped_by_the_ports_rules(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host, port, gateway = first_host(local_stack, cloud)
    host.ssh(f"sudo lxc exec {CONTAINER} -- ip addr add {STRAY_ADDRESS}/24 dev eth0")
    try:
        before = spoof_drops(port.id)
        assert not pings(host, CONTAINER, gateway, source=STRAY_ADDRESS, attempts=3)
        assert spoof_drops(port.id) > before, (
            "the stray address's packets were not the rules' drops"
        )
        assert pings(host, CONTAINER, gateway)
    finally:
        host.ssh(f"sudo lxc exec {CONTAINER} -- ip addr del {STRAY_ADDRESS}/24 dev eth0")


def test_a_mac_outside_the_pairs_is_dropped_by_the_ports_rules(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host, port, gateway = first_host(local_stack, cloud)
    # The second slot's network config, but LXD's own MAC: the address is a pair's, the MAC not.
    slot = host.slots[1]
    network_config = yaml.safe_load(
        host.ssh(f"sudo lxc profile get {slot['name']} user.network-config")
    )
    for entry in network_config["config"]:
        entry.pop("mac_address", None)
    config = shlex.quote(f"user.network-config={yaml.safe_dump(network_config)}")
    host.ssh(f"sudo lxc launch {IMAGE_ALIAS} stray -p default -c {config}", 300)
    try:
        host.ssh(
            f"sudo timeout {CONTAINER_TIMEOUT} lxc exec stray -- cloud-init status --wait",
            CONTAINER_TIMEOUT + 30,
        )
        before = mac_drops(port.id)
        assert not pings(host, "stray", gateway, attempts=3)
        assert mac_drops(port.id) > before, "the stray MAC's frames were not the rules' drops"
    finally:
        host.ssh("sudo lxc delete --force stray")


def test_a_pair_removed_out_of_band_is_seen_by_refresh_and_restored_by_up(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host, port, gateway = first_host(local_stack, cloud)
    slot = host.slots[0]
    kept = [p for p in port.allowed_address_pairs if p["ip_address"] != slot["ip"]]
    cloud.network.update_port(port, allowed_address_pairs=kept)
    wait_for(f"{CONTAINER} cut off", lambda: not pings(host, CONTAINER, gateway, attempts=1), 120)

    refreshed = local_stack.timed("refresh", local_stack.stack.refresh)
    assert changes(refreshed.summary.resource_changes) == {"update": 1}, local_stack.stepped
    repaired = local_stack.timed("up (repair)", local_stack.stack.up)
    assert changes(repaired.summary.resource_changes) == {"update": 1}, local_stack.stepped
    restored = {p["ip_address"] for p in port_of(cloud, host.fixed_ip).allowed_address_pairs}
    assert slot["ip"] in restored
    # The agent has to rewrite the port's rules for the pair: the container passes again.
    wait_for(
        f"{CONTAINER} at the gateway again",
        lambda: pings(host, CONTAINER, gateway, attempts=1),
        180,
    )


def container_state(host: Host, name: str) -> dict[str, Any]:
    """LXD's state of a container: its status and its init's PID (a restart changes it)."""
    state = json.loads(host.ssh(f"sudo lxc query /1.0/instances/{name}/state"))
    return {"status": state["status"], "pid": state["pid"]}


def lxd_names(host: Host, collection: str) -> list[str]:
    """The names in one of the host's LXD collections (`profiles`, `instances`), from its API."""
    listed = json.loads(host.ssh(f"sudo lxc query /1.0/{collection}"))
    return sorted(url.rsplit("/", 1)[1] for url in listed)


def lxd_endpoint(outputs: dict[str, Any], host: Host, **changes: str) -> lxdapi.LxdEndpoint:
    """The host's LXD as the stack reaches it, from its outputs; `changes` swap a certificate."""
    values = {
        "host": host.name,
        "url": outputs["hosts"][host.name]["lxdApi"],
        "server_certificate": outputs["hosts"][host.name]["lxdCertificate"],
        "client_certificate": outputs["lxdClientCertificate"],
        "client_key": outputs["lxdClientKey"],
    }
    values.update(changes)
    return lxdapi.LxdEndpoint(**values)


@pytest.mark.daytwo
def test_lxd_trusts_the_stacks_certificate_alone(local_stack: LocalStack) -> None:
    outputs = local_stack.outputs()
    host = hosts_of(outputs)[0]
    with lxdapi.connect(lxd_endpoint(outputs, host)) as client:
        served = client.host_info["environment"]["certificate_fingerprint"]
    assert served == outputs["hosts"][host.name]["lxdFingerprint"]
    # A client with a certificate of its own is not let in.
    stranger = trust.client_certificate("stranger")
    endpoint = lxd_endpoint(
        outputs,
        host,
        client_certificate=stranger.certificate,
        client_key=stranger.private_key,
    )
    with (
        pytest.raises(lxdapi.LxdError, match="does not trust the stack's client certificate"),
        lxdapi.connect(endpoint),
    ):
        pass
    # And the stack refuses a host that serves a certificate other than the one it made.
    impostor = trust.server_certificate(host.name, [host.floating_ip])
    impostor_endpoint = lxd_endpoint(outputs, host, server_certificate=impostor.certificate)
    with (
        pytest.raises(lxdapi.LxdError, match="Fingerprints did not match"),
        lxdapi.connect(impostor_endpoint),
    ):
        pass


@pytest.mark.daytwo
def test_the_lxc_remote_command_reaches_the_container(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    command = local_stack.outputs()["lxcRemoteCommand"]
    assert command == 'eval "$(python -m lxdhost lxc-remote --stack local)"'
    # As a user runs it: their own lxc configuration is elsewhere and stays untouched.
    environment = {**pulumi_environment(), "XDG_CONFIG_HOME": str(tmp_path)}
    script = f"{command} && lxc list lxd-1: -f csv -c ns && lxc exec lxd-1:{CONTAINER} hostname"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=local_stack.path, env=environment, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [f"{CONTAINER},RUNNING", CONTAINER]
    # The host's certificate was pinned from the stack's outputs, not accepted on first use.
    pinned = tmp_path / "lxdhost" / "lxdhost-local" / "lxc" / "servercerts" / "lxd-1.crt"
    assert (
        trust.fingerprint(pinned.read_text())
        == (local_stack.outputs()["hosts"]["lxd-1"]["lxdFingerprint"])
    )


@pytest.mark.daytwo
def test_a_slot_change_is_applied_live_and_the_container_keeps_running(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host, _, gateway = first_host(local_stack, cloud)
    before = container_state(host, CONTAINER)
    server_id = cloud.compute.find_server(host.name).id
    slots = local_stack.stack.get_config("lxdhost:slotsPerHost")
    try:
        local_stack.stack.set_config("lxdhost:slotsPerHost", auto.ConfigValue("8"))
        fewer = local_stack.timed("up (slots 10 to 8)", local_stack.stack.up)
        fewer_steps = local_stack.stepped
        assert changes(fewer.summary.resource_changes) == {"update": 1, "delete": 2}, fewer_steps
        assert len(port_of(cloud, host.fixed_ip).allowed_address_pairs) == 8
        assert "slot-09" not in lxd_names(host, "profiles")
    finally:
        # Back to ten slots whatever failed above, so that the tests after this one start
        # from the stack as declared.
        local_stack.stack.set_config("lxdhost:slotsPerHost", slots)
        more = local_stack.timed("up (slots 8 to 10)", local_stack.stack.up)
    assert changes(more.summary.resource_changes) == {"update": 1, "create": 2}, local_stack.stepped
    assert len(port_of(cloud, host.fixed_ip).allowed_address_pairs) == 10
    assert "slot-10" in lxd_names(host, "profiles")
    # No server was replaced, and the container never stopped.
    assert cloud.compute.find_server(host.name).id == server_id
    assert container_state(host, CONTAINER) == before
    assert pings(host, CONTAINER, gateway)


@pytest.mark.daytwo
def test_a_container_added_then_removed_touches_no_other(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host, _, gateway = first_host(local_stack, cloud)
    before = container_state(host, CONTAINER)
    second = {"name": "web2", "host": host.name, "slot": "slot-02", "image": IMAGE_ALIAS}
    for key, value in second.items():
        local_stack.stack.set_config(
            f"lxdhost:containers[1].{key}", auto.ConfigValue(value), path=True
        )
    try:
        added = local_stack.timed("up (web2 added)", local_stack.stack.up)
        assert changes(added.summary.resource_changes) == {"create": 1}, local_stack.stepped
        assert local_stack.outputs()["containers"]["web2"]["address"] == host.slots[1]["ip"]
        assert pings(host, "web2", gateway)
        assert container_state(host, CONTAINER) == before
    finally:
        # web2 goes whatever failed above, so that the tests after this one start from the
        # stack as declared.
        local_stack.stack.remove_config("lxdhost:containers[1]", path=True)
        removed = local_stack.timed("up (web2 removed)", local_stack.stack.up)
    assert changes(removed.summary.resource_changes) == {"delete": 1}, local_stack.stepped
    assert lxd_names(host, "instances") == [CONTAINER]
    assert container_state(host, CONTAINER) == before


@pytest.mark.daytwo
def test_a_container_deleted_out_of_band_is_seen_by_refresh_and_made_again_by_up(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host, _, gateway = first_host(local_stack, cloud)
    host.ssh(f"sudo lxc delete --force {CONTAINER}")
    refreshed = local_stack.timed("refresh (container gone)", local_stack.stack.refresh)
    assert changes(refreshed.summary.resource_changes) == {"delete": 1}, local_stack.stepped
    remade = local_stack.timed("up (container again)", local_stack.stack.up)
    assert changes(remade.summary.resource_changes) == {"create": 1}, local_stack.stepped
    assert container_state(host, CONTAINER)["status"] == "Running"
    host.ssh(
        f"sudo timeout {CONTAINER_TIMEOUT} lxc exec {CONTAINER} -- cloud-init status --wait",
        CONTAINER_TIMEOUT + 30,
    )
    assert pings(host, CONTAINER, gateway)


def test_a_stopped_host_is_named_on_preview_with_the_command_that_starts_it(
    local_stack: LocalStack, cloud: Connection
) -> None:
    host = hosts_of(local_stack.outputs())[0]
    (server,) = list(cloud.compute.servers(name=f"^{host.name}$"))
    cloud.compute.stop_server(server)
    try:
        cloud.compute.wait_for_server(server, status="SHUTOFF", wait=POWER_TIMEOUT)
        events: list[auto.EngineEvent] = []
        stopped = local_stack.timed(
            "preview (host stopped)", local_stack.stack.preview, on_event=events.append
        )
        # The provider alone sees nothing: the warning is what tells.
        assert changes(stopped.change_summary) == {}
        (warning,) = host_warnings(events, host.name)
        assert f"its server {server.id} is SHUTOFF" in warning, warning
        command = re.search(r"`(openstack [^`]* server start [^`]*)`", warning)
        assert command is not None, warning
        assert command.group(1) == (
            f"openstack --os-cloud {SETTINGS['LC_CLOUD']} server start {server.id}"
        )
        # The runbook's fix is the command the warning gives, run as a user would.
        began = time.monotonic()
        subprocess.run(shlex.split(command.group(1)), check=True, timeout=120)
        cloud.compute.wait_for_server(server, status="ACTIVE", wait=POWER_TIMEOUT)
    finally:
        # Whatever failed, the suite goes on with a running host.
        if cloud.compute.get_server(server.id).status == "SHUTOFF":
            cloud.compute.start_server(server)
            cloud.compute.wait_for_server(server, status="ACTIVE", wait=POWER_TIMEOUT)
    wait_for(
        f"{host.name}: SSH after the start",
        lambda: host.ssh_status("true", 30).returncode == 0,
        READY_TIMEOUT,
    )
    local_stack.figures["start to SSH"] = time.monotonic() - began
    print(f"---- start to SSH: {local_stack.figures['start to SSH']:.1f} s")
    events = []
    started = local_stack.timed(
        "preview (host started)", local_stack.stack.preview, on_event=events.append
    )
    assert changes(started.change_summary) == {}
    assert host_warnings(events, host.name) == []


@pytest.mark.daytwo
def test_destroy_leaves_the_project_empty(local_stack: LocalStack, cloud: Connection) -> None:
    events: list[auto.EngineEvent] = []
    result = local_stack.timed("destroy", local_stack.stack.destroy, on_event=events.append)
    assert set(changes(result.summary.resource_changes)) == {"delete"}
    # The containers went first, then their host's profiles, then the server.
    deleted = [
        event.res_outputs_event.metadata.urn.rsplit("::", 1)[1]
        for event in events
        if event.res_outputs_event is not None
    ]
    assert deleted.index("lxd-1-web1") < deleted.index("lxd-1-slot-01")
    assert deleted.index("lxd-1-slot-01") < deleted.index("lxd-1-server")
    assert project_contents(cloud) == {}
    assert local_stack.stack.export_stack().deployment.get("resources") in (None, [])

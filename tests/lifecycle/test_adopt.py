"""The adopt flow of docs/configuration.md, step by step, on the real CLI and the local cloud.

A network and a subnet are made outside the stack, as a cloud's default one would be: a full
DHCP pool, its DHCP port in place. Stack `adopt` imports the subnet unchanged, then reduces its
pool and builds a host, then is destroyed as the docs say: everything the stack built goes, the
subnet stays with its id and the reduced pool. The tests run in file order and share the stack;
the host is not waited for (a server Nova made is enough here), so it has no floating IP.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

import pytest
from openstack.connection import Connection
from openstack.network.v2.subnet import Subnet
from pulumi import automation as auto

from .conftest import (
    SETTINGS,
    TOP,
    USER_DATA_LXD,
    LocalStack,
    changes,
    engine_steps,
    stack_on_local_cloud,
)

pytestmark = pytest.mark.lifecycle

STACK = "adopt"
EXISTING = "lxdhost-adopt-existing"
CIDR = "10.20.30.0/24"
GATEWAY = "10.20.30.1"
FULL_POOL = {"start": "10.20.30.2", "end": "10.20.30.254"}
# What the adopt stage's import leaves as it was: every field a user set, and Neutron's count of
# the subnet's updates.
UNCHANGED_FIELDS = (
    "id", "name", "network_id", "cidr", "gateway_ip", "allocation_pools", "dns_nameservers",
    "is_dhcp_enabled", "revision_number",
)  # fmt: skip


@pytest.fixture(scope="module")
def existing_subnet(cloud: Connection) -> Iterator[Subnet]:
    """A network and a subnet with a full-range pool, made as the project's user; deleted at the
    end, whatever the stack left on it."""
    network = cloud.network.create_network(name=EXISTING)
    try:
        yield cloud.network.create_subnet(
            name=EXISTING,
            network_id=network.id,
            ip_version=4,
            cidr=CIDR,
            gateway_ip=GATEWAY,
            allocation_pools=[FULL_POOL],
        )
    finally:
        for port in cloud.network.ports(network_id=network.id):
            if port.device_owner != "network:dhcp":
                cloud.network.delete_port(port)
        # Neutron deletes the subnets and the DHCP port with the network.
        cloud.network.delete_network(network)


@pytest.fixture(scope="module")
def adopt_stack(
    tmp_path_factory: pytest.TempPathFactory, existing_subnet: Subnet
) -> Iterator[LocalStack]:
    # Step 2 of the flow: the subnet's id, CIDR and gateway as shown, the import stage.
    config = {
        **USER_DATA_LXD,
        "lxdhost:networkMode": "adopt",
        "lxdhost:subnetId": existing_subnet.id,
        "lxdhost:cidr": CIDR,
        "lxdhost:gateway": GATEWAY,
        "lxdhost:adoptStage": "import",
        "lxdhost:floatingIps": "false",
    }
    with stack_on_local_cloud(tmp_path_factory, STACK, config) as local:
        try:
            yield local
        finally:
            # A test that stopped half-way leaves the subnet protected, and a protected
            # resource fails the final destroy, which must still remove the hosts.
            local.cli("state", "unprotect", "--all", "--yes", check=False)


def subnet_fields(cloud: Connection, subnet_id: str) -> dict[str, Any]:
    subnet = cloud.network.get_subnet(subnet_id)
    return {name: getattr(subnet, name) for name in UNCHANGED_FIELDS}


def pre_events(events: list[auto.EngineEvent]) -> list[Any]:
    """The steps' metadata, `same` left out."""
    return [
        event.resource_pre_event.metadata
        for event in events
        if event.resource_pre_event is not None
        and event.resource_pre_event.metadata.op.value != "same"
    ]


def warnings(events: list[auto.EngineEvent]) -> list[str]:
    return [
        event.diagnostic_event.message
        for event in events
        if event.diagnostic_event is not None
        and event.diagnostic_event.severity in ("warning", "error")
    ]


def test_import_previews_one_import_of_the_subnet_and_up_leaves_it_unchanged(
    adopt_stack: LocalStack, existing_subnet: Subnet, cloud: Connection
) -> None:
    before = subnet_fields(cloud, existing_subnet.id)
    assert before["allocation_pools"] == [FULL_POOL]
    events: list[auto.EngineEvent] = []
    preview = adopt_stack.timed(
        "preview (import)", adopt_stack.stack.preview, on_event=events.append
    )
    assert engine_steps(events) == {"tenant-subnet": "import"}
    # Besides the import, only what reaches no cloud: the stack, the network's component and
    # the provider (which the engine's summary does not count).
    created = {m.type for m in pre_events(events) if m.op.value == "create"}
    assert created == {
        "pulumi:pulumi:Stack", "lxdhost:index:TenantNetwork", "pulumi:providers:openstack"
    }  # fmt: skip
    assert changes(preview.change_summary) == {"import": 1, "create": 2}
    # The docs: a warning here would mean the declared inputs are not the subnet's.
    assert warnings(events) == []

    result = adopt_stack.timed("up (import)", adopt_stack.stack.up)
    assert result.summary.result == "succeeded"
    assert changes(result.summary.resource_changes) == {"import": 1, "create": 2}
    assert adopt_stack.outputs() == {"subnetId": existing_subnet.id}
    assert subnet_fields(cloud, existing_subnet.id) == before
    unchanged = adopt_stack.stack.preview(expect_no_changes=True, color="never")
    assert changes(unchanged.change_summary) == {}


def test_manage_reduces_the_pool_in_place_and_creates_the_host(
    adopt_stack: LocalStack, existing_subnet: Subnet, cloud: Connection
) -> None:
    adopt_stack.stack.set_config("lxdhost:adoptStage", auto.ConfigValue("manage"))
    events: list[auto.EngineEvent] = []
    adopt_stack.timed("preview (manage)", adopt_stack.stack.preview, on_event=events.append)
    steps = engine_steps(events)
    assert steps.pop("tenant-subnet") == "update"
    (subnet_step,) = [
        m
        for m in pre_events(events)
        if m.urn.endswith("::tenant-subnet") and m.op.value == "update"
    ]
    assert subnet_step.diffs == ["allocationPools"]
    assert {"lxd-1-port", "lxd-1-server"} <= set(steps)
    assert set(steps.values()) == {"create"}, steps

    result = adopt_stack.timed("up (manage)", adopt_stack.stack.up)
    assert result.summary.result == "succeeded"
    assert changes(result.summary.resource_changes).get("update") == 1
    outputs = adopt_stack.outputs()
    assert outputs["subnetId"] == existing_subnet.id
    subnet = cloud.network.get_subnet(existing_subnet.id)
    assert subnet.allocation_pools == [outputs["allocationPool"]]
    assert subnet.allocation_pools != [FULL_POOL]
    pool = outputs["allocationPool"]
    (host,) = outputs["hosts"].values()
    start, end = (ipaddress.ip_address(pool[k]) for k in ("start", "end"))
    assert start <= ipaddress.ip_address(host["fixedIp"]) <= end
    # The host's port holds its address on the adopted subnet, and a server was made on it.
    (port,) = [
        p
        for p in cloud.network.ports(network_id=existing_subnet.network_id)
        if p.device_owner != "network:dhcp"
    ]
    assert [ip["ip_address"] for ip in port.fixed_ips] == [host["fixedIp"]]
    assert cloud.compute.get_server(port.device_id).name == "lxd-1"


def docs_unprotect_urn() -> str:
    """The subnet's URN as docs/configuration.md's destroy commands spell it, for this stack."""
    docs = (TOP / "docs/configuration.md").read_text()
    found = re.search(r"pulumi state unprotect '([^']+)'", docs)
    assert found is not None, "docs/configuration.md: no `pulumi state unprotect` command"
    return found.group(1).replace("<STACK>", STACK)


def test_destroy_as_the_docs_say_leaves_the_subnet_with_its_reduced_pool(
    adopt_stack: LocalStack, existing_subnet: Subnet, cloud: Connection
) -> None:
    pool = adopt_stack.outputs()["allocationPool"]
    excluded = adopt_stack.timed(
        "destroy --exclude-protected", adopt_stack.stack.destroy, exclude_protected=True
    )
    assert set(changes(excluded.summary.resource_changes)) == {"delete"}
    assert "tenant-subnet" in adopt_stack.resource_names()
    assert not {"lxd-1-server", "lxd-1-port", "hosts-group"} & adopt_stack.resource_names()

    adopt_stack.cli("state", "unprotect", docs_unprotect_urn(), "--yes")
    forgotten = adopt_stack.timed("destroy", adopt_stack.stack.destroy)
    assert set(changes(forgotten.summary.resource_changes)) == {"delete"}
    assert adopt_stack.resource_names() == set()

    subnet = cloud.network.get_subnet(existing_subnet.id)
    assert subnet.allocation_pools == [pool]
    assert cloud.network.get_network(existing_subnet.network_id).id == subnet.network_id
    project = cloud.current_project_id
    left = {
        "servers": [s.name for s in cloud.compute.servers()],
        "ports": [
            p.id
            for p in cloud.network.ports(project_id=project)
            if p.device_owner != "network:dhcp"
        ],
        "security groups": [
            g.name for g in cloud.network.security_groups(project_id=project) if g.name != "default"
        ],
        "key pairs": [k.name for k in cloud.compute.keypairs() if k.name != SETTINGS["LC_KEYPAIR"]],
    }
    assert {kind: names for kind, names in left.items() if names} == {}
    (dhcp,) = list(cloud.network.ports(network_id=subnet.network_id))
    assert dhcp.device_owner == "network:dhcp"

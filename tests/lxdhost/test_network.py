"""`TenantNetwork`: a new network, subnet and router, or an existing subnet imported and kept."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from lxdhost.addressing import AddressRange
from lxdhost.network import (
    ADOPTED_SUBNET_IGNORED_INPUTS,
    AdoptStage,
    NetworkMode,
    TenantNetwork,
    TenantNetworkArgs,
)
from lxdhost.offline import ProgramRun, run_program

POOL = AddressRange(IPv4Address("10.1.0.2"), IPv4Address("10.1.0.20"))


def network_args(**changes: object) -> TenantNetworkArgs:
    values: dict[str, object] = {
        "mode": NetworkMode.CREATE,
        "cidr": "10.1.0.0/24",
        "gateway_ip": "10.1.0.1",
        "dns_nameservers": ["10.1.0.53"],
        "allocation_pool": POOL,
        "external_network": "public",
        "resource_name": "lxdhost-unit",
    }
    values.update(changes)
    return TenantNetworkArgs(**values)  # type: ignore[arg-type]


def declare(args: TenantNetworkArgs) -> ProgramRun:
    return run_program("unit", {}, program=lambda: TenantNetwork("tenant", args))


def test_create_mode_builds_network_subnet_router_and_interface() -> None:
    run = declare(network_args())
    assert sorted(r.name for r in run.resources) == [
        "tenant",
        "tenant-network",
        "tenant-router",
        "tenant-router-interface",
        "tenant-subnet",
    ]
    network, subnet = run.named("tenant-network"), run.named("tenant-subnet")
    assert subnet.inputs["networkId"] == network.id
    assert subnet.inputs["cidr"] == "10.1.0.0/24"
    assert subnet.inputs["gatewayIp"] == "10.1.0.1"
    assert subnet.inputs["dnsNameservers"] == ["10.1.0.53"]
    assert subnet.inputs["allocationPools"] == [{"start": "10.1.0.2", "end": "10.1.0.20"}]
    assert subnet.inputs["ipVersion"] == 4
    assert subnet.inputs["enableDhcp"] is True
    interface = run.named("tenant-router-interface")
    assert interface.inputs["subnetId"] == subnet.id
    assert interface.inputs["routerId"] == run.named("tenant-router").id
    assert {r.parent for r in run.resources if r.custom} == {run.named("tenant").urn}


@pytest.mark.parametrize(
    ("stage", "pool_ignored"),
    [
        pytest.param(AdoptStage.IMPORT, True, id="import-step-leaves-the-pool-as-it-is"),
        pytest.param(AdoptStage.MANAGE, False, id="manage-step-reduces-the-pool"),
    ],
)
def test_adopted_subnet_is_imported_and_only_its_pool_is_ours(
    stage: AdoptStage, pool_ignored: bool
) -> None:
    run = declare(
        network_args(
            mode=NetworkMode.ADOPT, external_network=None, subnet_id="subnet-42", adopt_stage=stage
        )
    )
    assert sorted(r.name for r in run.resources) == ["tenant", "tenant-subnet"]
    subnet = run.named("tenant-subnet")
    assert subnet.options["import_id"] == "subnet-42"
    assert subnet.options["retain_on_delete"] is True
    assert subnet.options["protect"] is True
    ignored = set(subnet.options["ignore_changes"])
    assert ("allocationPools" in ignored) is pool_ignored
    assert {"dnsNameservers", "gatewayIp", "name"} <= ignored
    assert not {"cidr", "networkId"} & ignored, "cidr and network_id must match the live subnet"
    assert len(ignored) == len(ADOPTED_SUBNET_IGNORED_INPUTS) + pool_ignored


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        pytest.param({"external_network": None}, "external_network", id="create-without-external"),
        pytest.param({"mode": NetworkMode.ADOPT}, "subnet_id", id="adopt-without-subnet-id"),
    ],
)
def test_missing_mode_inputs_are_refused_before_anything_is_registered(
    changes: dict[str, object], fragment: str
) -> None:
    def program() -> None:
        with pytest.raises(ValueError, match=fragment):
            TenantNetwork("tenant", network_args(**changes))

    assert run_program("unit", {}, program=program).resources == []

"""Neutron's answers the program relies on, asked of the real thing as the project's user."""

from __future__ import annotations

import openstack
import pytest
from openstack.connection import Connection
from openstack.network.v2.network import Network
from openstack.network.v2.subnet import Subnet

from .conftest import Cleanup, tenant_subnet

pytestmark = pytest.mark.localcloud

PAIR_LIMIT = 10  # Neutron's default max_allowed_address_pair, which the local cloud keeps


def pair(index: int) -> dict[str, str]:
    return {"ip_address": f"192.168.0.{20 + index}", "mac_address": f"0a:4c:c0:a8:00:{index:02x}"}


@pytest.fixture
def subnet(cloud: Connection, cleanup: Cleanup) -> tuple[Network, Subnet]:
    return tenant_subnet(cloud, cleanup, "smoke-neutron")


def test_the_allocation_pool_is_updated_in_place(
    cloud: Connection, subnet: tuple[Network, Subnet]
) -> None:
    _, created = subnet
    wider = [{"start": "192.168.0.2", "end": "192.168.0.200"}]
    updated = cloud.network.update_subnet(created, allocation_pools=wider)
    assert updated.id == created.id
    assert cloud.network.get_subnet(created.id).allocation_pools == wider
    narrower = [{"start": "192.168.0.2", "end": "192.168.0.20"}]
    cloud.network.update_subnet(created, allocation_pools=narrower)
    assert cloud.network.get_subnet(created.id).allocation_pools == narrower


def test_ten_pairs_with_macs_are_accepted_and_an_eleventh_refused(
    cloud: Connection, subnet: tuple[Network, Subnet], cleanup: Cleanup
) -> None:
    network, _ = subnet
    ten = [pair(index) for index in range(1, PAIR_LIMIT + 1)]
    port = cloud.network.create_port(network_id=network.id, allowed_address_pairs=ten)
    cleanup(lambda: cloud.network.delete_port(port))
    stored = cloud.network.get_port(port.id).allowed_address_pairs
    assert sorted(stored, key=lambda p: p["ip_address"]) == ten

    eleven = [*ten, pair(PAIR_LIMIT + 1)]
    message = f"The number of allowed address pair exceeds the maximum {PAIR_LIMIT}."
    with pytest.raises(openstack.exceptions.BadRequestException, match=message):
        cloud.network.update_port(port, allowed_address_pairs=eleven)
    with pytest.raises(openstack.exceptions.BadRequestException, match=message):
        cloud.network.create_port(network_id=network.id, allowed_address_pairs=eleven)
    assert len(cloud.network.get_port(port.id).allowed_address_pairs) == PAIR_LIMIT


def test_pairs_are_refused_on_a_port_without_port_security(
    cloud: Connection, subnet: tuple[Network, Subnet], cleanup: Cleanup
) -> None:
    network, _ = subnet
    port = cloud.network.create_port(
        network_id=network.id, is_port_security_enabled=False, security_group_ids=[]
    )
    cleanup(lambda: cloud.network.delete_port(port))
    assert port.is_port_security_enabled is False
    assert port.security_group_ids == []
    with pytest.raises(
        openstack.exceptions.ConflictException,
        match="Port Security must be enabled in order to have allowed address pairs on a port",
    ):
        cloud.network.update_port(port, allowed_address_pairs=[pair(1)])

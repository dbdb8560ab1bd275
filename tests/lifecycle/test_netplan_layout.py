"""The netplan layout on the local cloud, through Neutron's real DHCP.

Stack `netplan` is stack `local` with `hostNetwork: netplan` and `mtu: 1400`, on the local
cloud's Debian image, which ships ifupdown: cloud-init installs netplan.io from the cloud's
mirror (which carries both layouts' packages), the host reboots into netplan's bridge, and br0
holds the port's address and MAC at the stack's MTU, below the 1450 Neutron's DHCP sends
(`dhcp4-overrides: use-mtu: false`). The boot test proves the layout on a network without
Neutron; this is its proof on the real one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openstack.connection import Connection

from .conftest import (
    MTU,
    USER_DATA_LXD,
    LocalStack,
    assert_bridged,
    hosts_of,
    stack_on_local_cloud,
    wait_until_ready,
)

pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="module")
def netplan_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = {**USER_DATA_LXD, "lxdhost:hostNetwork": "netplan", "lxdhost:mtu": str(MTU)}
    with stack_on_local_cloud(tmp_path_factory, "netplan", config) as local:
        yield local


def test_the_netplan_layout_bridges_the_nic_at_the_stacks_mtu(
    netplan_stack: LocalStack, cloud: Connection
) -> None:
    result = netplan_stack.timed("up", netplan_stack.stack.up)
    assert result.summary.result == "succeeded"
    (host,) = hosts_of(netplan_stack.outputs())
    wait_until_ready(netplan_stack, host)
    # netplan.io came from the cloud's mirror, and the bridge is netplan's: systemd-networkd
    # manages br0 from the file the user-data wrote, and ifupdown has nothing but loopback.
    assert host.ssh("dpkg-query -W -f '${Status}' netplan.io") == "install ok installed"
    assert "60-br0.yaml" in host.ssh("sudo ls /etc/netplan")
    assert "configured" in host.ssh("networkctl status br0 --no-pager")
    interfaces = host.ssh("cat /etc/network/interfaces").splitlines()
    stanzas = [line.strip() for line in interfaces if line.strip() and not line.startswith("#")]
    assert stanzas == ["auto lo", "iface lo inet loopback"], interfaces
    assert_bridged(host, cloud, MTU)

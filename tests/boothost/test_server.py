"""The server the boot test boots is the program's own host 0, on the port the program declares."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from boothost.launch import VARIANTS, Variant, server_for


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_server_under_test_comes_from_the_program(variant: Variant) -> None:
    server = server_for(variant)
    assert server.user_data.startswith("#cloud-config\n")
    document = yaml.safe_load(server.user_data)
    if variant.bring_up == "reboot":
        assert document["power_state"]["mode"] == "reboot"
    else:
        assert "power_state" not in document
        assert document["runcmd"][0] == "/usr/local/sbin/lxdhost-bring-up || exit 1"
    # Neutron's answers, as the offline engine plays them.
    assert server.port.mac_address.startswith("fa:16:3e:")
    assert server.subnet.in_allocation_pool(server.port.fixed_ip)
    assert len(server.port.allowed_address_pairs) == variant.stack_config()["lxdhost:slotsPerHost"]
    network = ipaddress.ip_network(server.subnet.cidr)
    for pair in server.port.allowed_address_pairs:
        assert ipaddress.ip_address(pair.ip_address) in network
        assert not server.subnet.in_allocation_pool(pair.ip_address)
        # Each slot's MAC and address are in the user-data, so the host's LXD knows them.
        assert pair.mac_address in server.user_data
        assert pair.ip_address in server.user_data


@pytest.mark.parametrize(
    ("variant", "marker"),
    [
        pytest.param(VARIANTS[0], "/etc/netplan/60-br0.yaml", id="netplan-preseed-writes-netplan"),
        pytest.param(VARIANTS[0], "preseed:", id="netplan-preseed-uses-a-preseed"),
        pytest.param(
            VARIANTS[1],
            "pre-up /usr/local/sbin/lxdhost-bridge-port",
            id="ifupdown-module-writes-interfaces-finding-the-nic-by-its-mac",
        ),
        pytest.param(VARIANTS[1], "mode: existing", id="ifupdown-module-uses-an-existing-bridge"),
        # LXD 5.0's `lxd init --auto` would put eth0 on a new lxdbr0; the first boot has no br0.
        pytest.param(
            VARIANTS[1],
            "|| ip link add br0 address fa:16:3e:",
            id="ifupdown-module-has-br0-before-the-lxd-module-attaches-it",
        ),
        pytest.param(
            VARIANTS[1], "lxc storage create default dir", id="ifupdown-module-makes-its-pool"
        ),
        pytest.param(VARIANTS[2], "netplan apply", id="netplan-in-place-applies-netplan"),
        pytest.param(VARIANTS[3], "ifup br0", id="ifupdown-in-place-brings-up-br0"),
    ],
)
def test_each_variant_renders_its_own_layout(variant: Variant, marker: str) -> None:
    assert marker in server_for(variant).user_data

"""Boot host 0's user-data in qemu on a Neutron-like network and check the LXD host it becomes.

Per variant (see boothost.launch.VARIANTS) one VM boots and runs cloud-init, which brings br0 up
either by rebooting or in place, and then: cloud-init reports no warning or error on any boot; br0
holds ens3, the port's MAC and the leased address, both at the network's MTU; LXD has its pool, a
default profile bridged to br0 and the slot profiles; a container launched with a slot profile
comes up with the slot's static address (from its own cloud-init) and the network's MTU, and
reaches the gateway; the port's anti-spoofing rules block containers whose MAC and address are not
a pair of the port, and the slot container once its pair is removed; and after one more reboot the
host comes back the same, with the slot container running and reaching the gateway.
"""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from boothost.checks import (
    REACH_ATTEMPTS,
    check_after_reboot,
    check_bridge,
    check_cloud_init,
    check_lxd,
    ipv4_of,
    launch,
    mtu_of,
    pings,
    slot_address,
    slot_profiles,
)
from boothost.launch import BootedHost
from boothost.tenant import AllowedAddressPair

pytestmark = pytest.mark.boot


def test_cloud_init_reports_done_without_warnings_on_every_boot(booted_host: BootedHost) -> None:
    check_cloud_init(booted_host, booted_host.variant.boots_to_ready)


def test_bridge_holds_ens3_with_the_port_mac_and_the_leased_address(
    booted_host: BootedHost,
) -> None:
    check_bridge(booted_host)


def test_lxd_has_its_pool_a_default_profile_on_br0_and_the_slot_profiles(
    booted_host: BootedHost,
) -> None:
    check_lxd(booted_host)


def test_slot_container_gets_its_static_address_and_reaches_the_gateway(
    booted_host: BootedHost,
) -> None:
    slots = slot_profiles(booted_host)
    name = sorted(slots)[0]
    hwaddr, address = slot_address(slots[name])
    launch(booted_host, "slot-container", ["default", name], {})
    guest = booted_host.guest
    mac = guest.ssh("lxc exec slot-container -- cat /sys/class/net/eth0/address").strip()
    assert mac == hwaddr
    assert ipv4_of(booted_host, "slot-container") == [address]
    assert mtu_of(booted_host, "slot-container") == booted_host.server.mtu
    # The address must come from the container's cloud-init, not from the image.
    rendered = guest.ssh("lxc exec slot-container -- cat /etc/network/interfaces.d/50-cloud-init")
    assert address in rendered, rendered
    gateway = booted_host.server.subnet.gateway_ip
    assert pings(booted_host, "slot-container", gateway, REACH_ATTEMPTS), (
        f"{name} ({hwaddr}, {address}) cannot reach the gateway {gateway}"
    )
    booted_host.figures.container_reached_gateway = guest.elapsed()
    print(
        f"\n[{booted_host.variant.id}] first container reached the gateway at "
        f"{booted_host.figures.container_reached_gateway:.0f} s"
    )


def test_slot_container_is_blocked_once_its_pair_is_removed_from_the_port(
    booted_host: BootedHost,
) -> None:
    if "slot-container" not in booted_host.containers:
        pytest.fail("the slot container did not start (see the test before)")
    address = ipv4_of(booted_host, "slot-container")[0]
    hwaddr = booted_host.guest.ssh(
        "lxc exec slot-container -- cat /sys/class/net/eth0/address"
    ).strip()
    gateway = booted_host.server.subnet.gateway_ip
    network, tap = booted_host.network, booted_host.tap
    pair = AllowedAddressPair(ip_address=address, mac_address=hwaddr)
    with network.without_pair(tap, pair):
        dropped = network.dropped_frames(tap)
        assert not pings(booted_host, "slot-container", gateway, 2), (
            "the slot container reached the gateway with its pair removed from the port"
        )
        assert network.dropped_frames(tap) > dropped, "no frame was dropped by port security"
    # Restored, the same container passes again: the block was the pair, nothing else.
    assert pings(booted_host, "slot-container", gateway, REACH_ATTEMPTS)


def unpaired_address(host: BootedHost) -> str:
    """An address on the subnet, outside the pool, that is no pair of the port."""
    subnet = host.server.subnet
    taken = {p.ip_address for p in host.server.port.allowed_address_pairs}
    taken |= {subnet.gateway_ip, host.server.port.fixed_ip}
    network = ipaddress.ip_network(subnet.cidr)
    for candidate in reversed(list(network.hosts())):
        if str(candidate) not in taken and not subnet.in_allocation_pool(str(candidate)):
            return str(candidate)
    raise LookupError(f"no free address outside the pool in {subnet.cidr}")


def static_config(address: str, prefix: int, gateway: str) -> str:
    return yaml.safe_dump(
        {
            "version": 1,
            "config": [
                {
                    "type": "physical",
                    "name": "eth0",
                    "subnets": [
                        {"type": "static", "address": f"{address}/{prefix}", "gateway": gateway}
                    ],
                }
            ],
        }
    )


def test_slot_container_using_an_address_outside_the_pairs_is_blocked(
    booted_host: BootedHost,
) -> None:
    """The slot's own MAC, but a source address the port does not pair with it."""
    if "slot-container" not in booted_host.containers:
        pytest.fail("the slot container did not start (see the tests before)")
    subnet, network, tap = booted_host.server.subnet, booted_host.network, booted_host.tap
    prefix = ipaddress.ip_network(subnet.cidr).prefixlen
    foreign = unpaired_address(booted_host)
    guest = booted_host.guest
    guest.ssh(f"lxc exec slot-container -- ip addr add {foreign}/{prefix} dev eth0")
    try:
        dropped = network.dropped_frames(tap)
        result = guest.ssh_status(
            f"lxc exec slot-container -- ping -c 3 -W 2 -I {foreign} {subnet.gateway_ip}", 60
        )
        assert result.returncode != 0, f"{foreign} reached the gateway: {result.stdout}"
        assert network.dropped_frames(tap) > dropped, "no frame was dropped by port security"
    finally:
        guest.ssh(f"lxc exec slot-container -- ip addr del {foreign}/{prefix} dev eth0")


def test_container_with_a_pair_address_but_a_mac_lxd_chose_is_blocked(
    booted_host: BootedHost,
) -> None:
    """A container launched without a slot profile, claiming the address of a free slot."""
    slots = slot_profiles(booted_host)
    _, address = slot_address(slots[sorted(slots)[-1]])  # a slot no container uses
    subnet = booted_host.server.subnet
    prefix = ipaddress.ip_network(subnet.cidr).prefixlen
    launch(
        booted_host,
        "rogue",
        ["default"],
        {"user.network-config": static_config(address, prefix, subnet.gateway_ip)},
    )
    # The address is the pair's, so only the MAC can be what blocks it.
    assert ipv4_of(booted_host, "rogue") == [address], "the container did not take its address"
    mac = booted_host.guest.ssh("lxc exec rogue -- cat /sys/class/net/eth0/address").strip()
    pair_macs = {p.mac_address for p in booted_host.server.port.allowed_address_pairs}
    assert mac not in pair_macs
    # Nothing in the default profile or this network config names an MTU: LXD gives the NIC its
    # parent's, br0's, which is the network's.
    assert mtu_of(booted_host, "rogue") == booted_host.server.mtu
    dropped = booted_host.network.dropped_frames(booted_host.tap)
    assert not pings(booted_host, "rogue", subnet.gateway_ip, 2), (
        f"rogue ({mac}, {address}) reached the gateway though its MAC is in no pair"
    )
    assert booted_host.network.dropped_frames(booted_host.tap) > dropped


def test_a_later_reboot_keeps_the_bridge_lxd_and_the_running_slot_container(
    booted_host: BootedHost,
) -> None:
    """The files on disk, not the first boot's steps, make the host: reboot it once more."""
    if "slot-container" not in booted_host.containers:
        pytest.fail("the slot container did not start (see the tests before)")
    check_after_reboot(booted_host, "slot-container")

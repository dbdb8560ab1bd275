"""Boot host 0's user-data in qemu on a Neutron-like network and check the LXD host it becomes.

Per variant (see conftest.VARIANTS) one VM boots, runs cloud-init, reboots, and then: cloud-init
reports no error on either boot; br0 holds ens3, the port's MAC and the leased address, both at
the network's MTU; LXD has its pool, a default profile bridged to br0 and the slot profiles; a
container launched with a slot profile comes up with the slot's static address (from its own
cloud-init) and the network's MTU, and reaches the gateway; and the port's anti-spoofing rules
block containers whose MAC and address are not a pair of the port, and the slot container once
its pair is removed.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from typing import Any

import pytest
import yaml

from hostimage.build import CONTAINER_IMAGE_PATH

from .conftest import BootedHost
from .tenant import AllowedAddressPair

pytestmark = pytest.mark.boot

IMAGE_ALIAS = "boot-test"
CONTAINER_CLOUD_INIT_TIMEOUT = 300
# A ping that must pass may need ARP and the bridge's learning first: retry, bounded.
REACH_ATTEMPTS = 10
BOOT_SECTION = re.compile(r"^.*Cloud-init v\. \S+ running 'init-local'.*$", re.MULTILINE)
LOG_PROBLEM = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]")


def slot_profiles(host: BootedHost) -> dict[str, dict[str, Any]]:
    """The guest's LXD profiles that give a container a fixed MAC (the slots), by name."""
    names = json.loads(host.guest.ssh("lxc profile list --format json"))
    profiles = {}
    for entry in names:
        profile = yaml.safe_load(host.guest.ssh(f"lxc profile show {entry['name']}"))
        nics = [d for d in (profile.get("devices") or {}).values() if d.get("hwaddr")]
        if nics:
            profiles[profile["name"]] = profile
    return profiles


def slot_address(profile: dict[str, Any]) -> tuple[str, str]:
    """(hwaddr, IPv4 address) a slot profile promises its container."""
    nic = next(d for d in profile["devices"].values() if d.get("hwaddr"))
    network_config = yaml.safe_load(profile["config"]["user.network-config"])
    subnet = network_config["config"][0]["subnets"][0]
    return nic["hwaddr"], str(ipaddress.ip_interface(subnet["address"]).ip)


def ensure_image(host: BootedHost) -> None:
    if not host.image_imported:
        host.guest.ssh(f"lxc image import {CONTAINER_IMAGE_PATH} --alias {IMAGE_ALIAS}", 600)
        host.image_imported = True


def launch(host: BootedHost, name: str, profiles: list[str], config: dict[str, str]) -> None:
    """Launch a container from the local image and wait for its cloud-init to finish."""
    ensure_image(host)
    options = " ".join(f"-p {p}" for p in profiles)
    for key, value in config.items():
        options += f" --config {key}={shlex.quote(value)}"
    host.guest.ssh(f"lxc launch {IMAGE_ALIAS} {name} {options}", 600)
    host.containers.append(name)
    wait = CONTAINER_CLOUD_INIT_TIMEOUT
    status = host.guest.ssh_status(
        f"timeout {wait} lxc exec {name} -- cloud-init status --wait --long", wait + 30
    )
    if "status: done" not in status.stdout:
        raise host.guest.fail(
            f"cloud-init in container {name} did not finish: {status.stdout} {status.stderr}"
        )


def ipv4_of(host: BootedHost, container: str) -> list[str]:
    shown = json.loads(host.guest.ssh(f"lxc exec {container} -- ip -j -4 addr show dev eth0"))
    return [a["local"] for link in shown for a in link.get("addr_info", [])]


def mtu_of(host: BootedHost, container: str) -> int:
    return int(host.guest.ssh(f"lxc exec {container} -- cat /sys/class/net/eth0/mtu"))


def pings(host: BootedHost, container: str, target: str, attempts: int) -> bool:
    for _ in range(attempts):
        result = host.guest.ssh_status(
            f"lxc exec {container} -- ping -c 1 -W 2 {target}", timeout=30
        )
        if result.returncode == 0:
            return True
    return False


def test_cloud_init_reports_done_without_errors_on_both_boots(booted_host: BootedHost) -> None:
    status = booted_host.guest.ssh("cloud-init status --long", 60)
    assert "status: done" in status, status
    log = booted_host.guest.ssh("cat /var/log/cloud-init.log", 60)
    starts = [m.start() for m in BOOT_SECTION.finditer(log)]
    assert len(starts) == 2, f"expected 2 boots in cloud-init.log, saw {len(starts)}"
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(log)], strict=True), 1):
        problems = [line for line in log[start:end].splitlines() if LOG_PROBLEM.search(line)]
        assert not problems, f"boot {number}: cloud-init logged\n" + "\n".join(problems)


def test_bridge_holds_ens3_with_the_port_mac_and_the_leased_address(
    booted_host: BootedHost,
) -> None:
    guest, port, subnet = booted_host.guest, booted_host.server.port, booted_host.server.subnet
    links = {link["ifname"]: link for link in json.loads(guest.ssh("ip -j link show"))}
    assert links.get("ens3", {}).get("master") == "br0", links.get("ens3")
    assert links["br0"]["address"] == port.mac_address
    # The network's MTU (Neutron's, which user_data writes for ens3 and br0), not Ethernet's 1500.
    mtu = booted_host.server.mtu
    assert (links["ens3"]["mtu"], links["br0"]["mtu"]) == (mtu, mtu), (links["ens3"], links["br0"])
    addresses = json.loads(guest.ssh("ip -j -4 addr show dev br0"))
    held = [a["local"] for link in addresses for a in link.get("addr_info", [])]
    assert held == [port.fixed_ip], f"br0 holds {held}, the port's address is {port.fixed_ip}"
    assert subnet.in_allocation_pool(port.fixed_ip)
    leases = booted_host.network.leases()
    assert f"{port.mac_address} {port.fixed_ip} " in leases, f"dnsmasq leases: {leases!r}"


def test_lxd_has_its_pool_a_default_profile_on_br0_and_the_slot_profiles(
    booted_host: BootedHost,
) -> None:
    guest, port = booted_host.guest, booted_host.server.port
    pools = [p["name"] for p in json.loads(guest.ssh("lxc storage list --format json"))]
    assert pools, "LXD has no storage pool"
    default = yaml.safe_load(guest.ssh("lxc profile show default"))
    assert default["devices"]["eth0"]["nictype"] == "bridged"
    assert default["devices"]["eth0"]["parent"] == "br0"
    assert default["devices"]["root"]["pool"] in pools
    slots = {name: slot_address(profile) for name, profile in slot_profiles(booted_host).items()}
    pairs = {(p.mac_address, p.ip_address) for p in port.allowed_address_pairs}
    assert set(slots.values()) == pairs, f"slot profiles {slots}, port pairs {pairs}"


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

"""A server boots on a pre-made port, as the program boots its hosts, and gets its address.

The address comes from Neutron's own DHCP (dnsmasq, which the DHCP agent runs and which answers
only the ports it knows); the ping comes from the DHCP agent's namespace, through the
linuxbridge agent's port-security rules.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from openstack.connection import Connection

from .conftest import SETTINGS, Cleanup, tenant_subnet

pytestmark = pytest.mark.localcloud

BOOT_TIMEOUT = 600  # seconds to ACTIVE: TCG on two shared cores
LEASE_TIMEOUT = 300  # seconds from ACTIVE to the DHCP lease


def wait_for(what: str, check: object, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if callable(check) and check():
            return time.monotonic() - started
        time.sleep(2)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def dnsmasq_pid(network_id: str) -> int:
    return int(Path(f"/var/lib/neutron/dhcp/{network_id}/pid").read_text())


def test_a_server_booted_on_a_port_gets_its_address_from_neutrons_dhcp(
    cloud: Connection, cleanup: Cleanup
) -> None:
    network, _ = tenant_subnet(cloud, cleanup, "smoke-server")
    group = cloud.network.create_security_group(name="smoke-server")
    cleanup(lambda: cloud.network.delete_security_group(group))
    cloud.network.create_security_group_rule(
        security_group_id=group.id,
        direction="ingress",
        ethertype="IPv4",
        protocol="icmp",
        remote_ip_prefix="192.168.0.0/24",
    )
    port = cloud.network.create_port(network_id=network.id, security_group_ids=[group.id])
    cleanup(lambda: cloud.network.delete_port(port))
    address = port.fixed_ips[0]["ip_address"]

    started = time.monotonic()
    server = cloud.compute.create_server(
        name="smoke-server",
        image_id=cloud.image.find_image(SETTINGS["LC_IMAGE"], ignore_missing=False).id,
        flavor_id=cloud.compute.find_flavor(SETTINGS["LC_FLAVOR"], ignore_missing=False).id,
        key_name=SETTINGS["LC_KEYPAIR"],
        networks=[{"port": port.id}],
    )

    def delete_server() -> None:
        cloud.compute.delete_server(server)
        cloud.compute.wait_for_delete(server)

    cleanup(delete_server)
    server = cloud.compute.wait_for_server(server, wait=BOOT_TIMEOUT)
    active = time.monotonic() - started
    assert server.status == "ACTIVE"
    assert [ip["addr"] for ips in server.addresses.values() for ip in ips] == [address]

    # dnsmasq's own log: it acknowledged this port's MAC with this port's address.
    log = Path(SETTINGS["LC_LOGS"]) / "dnsmasq" / network.id / "dhcp_dns_log"
    acknowledged = re.compile(rf"DHCPACK\(ns-[0-9a-f-]+\) {re.escape(address)} {port.mac_address}")
    wait_for(
        f"dnsmasq's DHCPACK of {address} to {port.mac_address} in {log}",
        lambda: log.is_file() and acknowledged.search(log.read_text()) is not None,
        LEASE_TIMEOUT,
    )
    leased = time.monotonic() - started

    # The guest answers on that address, from inside the DHCP agent's namespace.
    ping = subprocess.run(
        [
            "nsenter",
            f"--net=/proc/{dnsmasq_pid(network.id)}/ns/net",
            "ping",
            "-c",
            "3",
            "-W",
            "3",
            address,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # cloud-init's network table on the console: the address is on ens3, the name the program's
    # user-data gives the host's NIC (the local cloud's guests have a video device in PCI slot
    # 2, as on most clouds; without one the NIC would be ens2).
    def console_shows_the_address() -> bool:
        console = cloud.compute.get_server_console_output(server)["output"]
        return (
            re.search(rf"ci-info: \|\s+ens3\s+\| True \|\s+{re.escape(address)}\s", console)
            is not None
        )

    wait_for(f"ens3 with {address} in the console's ci-info table", console_shows_the_address, 300)
    print(f"\nserver ACTIVE after {active:.0f} s, DHCP lease after {leased:.0f} s")

"""The Neutron stand-in's pure parts: DHCP hosts as Neutron's agent writes them, port rules."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from boothost.tenant import (
    AllowedAddressPair,
    Port,
    Subnet,
    dnsmasq_argv,
    dnsmasq_hosts,
    port_security_ruleset,
)

PORT = Port(
    name="lxd-1-port",
    mac_address="fa:16:3e:05:66:e0",
    fixed_ip="192.168.0.3",
    allowed_address_pairs=(
        AllowedAddressPair(ip_address="192.168.0.21", mac_address="0a:4c:c0:a8:00:15"),
        AllowedAddressPair(ip_address="192.168.0.22", mac_address="0a:4c:c0:a8:00:16"),
    ),
)
SUBNET = Subnet("192.168.0.0/24", "192.168.0.1", "192.168.0.2", "192.168.0.20")


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        pytest.param([], "", id="no-port-no-lease"),
        pytest.param(
            [PORT],
            "fa:16:3e:05:66:e0,host-192-168-0-3,192.168.0.3\n",
            id="one-entry-per-port-mac-name-address",
        ),
    ],
)
def test_dnsmasq_hosts_has_one_entry_per_port(ports: list[Port], expected: str) -> None:
    assert dnsmasq_hosts(ports) == expected


@pytest.mark.parametrize(
    ("argument", "why"),
    [
        pytest.param(
            "--dhcp-range=set:subnet,192.168.0.0,static,255.255.255.0,86400s",
            "leases for known MACs only",
            id="static-range",
        ),
        pytest.param(
            "--dhcp-option=tag:subnet,option:router,192.168.0.1", "the gateway", id="router-option"
        ),
        pytest.param("--dhcp-option-force=option:mtu,1450", "the network's MTU", id="mtu-option"),
        pytest.param("--port=0", "no DNS", id="dhcp-only"),
    ],
)
def test_dnsmasq_runs_as_neutrons_dhcp_agent_does(argument: str, why: str) -> None:
    assert argument in dnsmasq_argv(SUBNET, 1450, "brq-tenant", Path("/state")), why


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        pytest.param("192.168.0.2", True, id="pool-start"),
        pytest.param("192.168.0.20", True, id="pool-end"),
        pytest.param("192.168.0.21", False, id="first-reserved-address"),
        pytest.param("192.168.0.1", False, id="gateway"),
    ],
)
def test_in_allocation_pool(address: str, inside: bool) -> None:
    assert SUBNET.in_allocation_pool(address) is inside


@pytest.mark.parametrize(
    "element",
    [
        pytest.param("fa:16:3e:05:66:e0 . 192.168.0.3", id="the-port-own-mac-and-address"),
        pytest.param("0a:4c:c0:a8:00:15 . 192.168.0.21", id="first-pair"),
        pytest.param("0a:4c:c0:a8:00:16 . 192.168.0.22", id="second-pair"),
    ],
)
def test_ruleset_lets_each_pair_through(element: str) -> None:
    assert element in port_security_ruleset("tap0", PORT)


def test_ruleset_lists_nothing_but_the_port_and_its_pairs() -> None:
    ruleset = port_security_ruleset("tap0", PORT)
    elements = ruleset.split("elements = {", 1)[1].split("}", 1)[0]
    assert elements.count(" . ") == 1 + len(PORT.allowed_address_pairs)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft (nftables)"
)
def test_ruleset_loads_into_nftables() -> None:
    namespace = f"lxdhost-nft-check-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        loaded = subprocess.run(
            ["ip", "netns", "exec", namespace, "nft", "-f", "-"],
            input=port_security_ruleset("tap0", PORT),
            capture_output=True,
            text=True,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)

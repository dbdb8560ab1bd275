"""The address plan: reduced pool, reserved range, per-host container slots, and what fits."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lxdhost.addressing import (
    AddressPlan,
    AddressPlanError,
    AddressRange,
    AddressRequest,
    plan_addresses,
    slot_mac_address,
    slot_name,
)


def request(
    cidr: str = "192.168.0.0/24",
    hosts: int = 1,
    slots: int = 10,
    pool_size: int = 19,
    **bounds: str,
) -> AddressRequest:
    return AddressRequest(
        cidr=cidr,
        host_names=tuple(f"lxd-{n}" for n in range(1, hosts + 1)),
        slots_per_host=slots,
        dhcp_pool_size=pool_size,
        **bounds,
    )


@pytest.mark.parametrize(
    ("asked", "gateway", "pool", "reserved"),
    [
        pytest.param(
            request(),
            "192.168.0.1",
            "192.168.0.2-192.168.0.20",
            "192.168.0.21-192.168.0.254",
            id="the-blogs-subnet-update",
        ),
        pytest.param(
            request(gateway_ip="192.168.0.254"),
            "192.168.0.254",
            "192.168.0.1-192.168.0.19",
            "192.168.0.20-192.168.0.253",
            id="gateway-last-reserved-stops-before-it",
        ),
        pytest.param(
            request(gateway_ip="192.168.0.10"),
            "192.168.0.10",
            "192.168.0.11-192.168.0.29",
            "192.168.0.30-192.168.0.254",
            id="gateway-inside-default-pool-pool-starts-after-it",
        ),
        pytest.param(
            request(gateway_ip="192.168.0.30"),
            "192.168.0.30",
            "192.168.0.1-192.168.0.19",
            "192.168.0.20-192.168.0.29",
            id="gateway-after-pool-reserved-stops-before-it",
        ),
        pytest.param(
            request(dhcp_pool_start="192.168.0.100", dhcp_pool_end="192.168.0.109"),
            "192.168.0.1",
            "192.168.0.100-192.168.0.109",
            "192.168.0.110-192.168.0.254",
            id="explicit-pool-bounds-win-over-size",
        ),
        pytest.param(
            request("10.0.0.0/28", hosts=1, slots=10, pool_size=2),
            "10.0.0.1",
            "10.0.0.2-10.0.0.3",
            "10.0.0.4-10.0.0.14",
            id="a-slash-28-holds-one-host-of-ten",
        ),
    ],
)
def test_plan_places_gateway_pool_and_reserved_range(
    asked: AddressRequest, gateway: str, pool: str, reserved: str
) -> None:
    plan = plan_addresses(asked)
    assert str(plan.gateway_ip) == gateway
    assert str(plan.allocation_pool) == pool
    assert str(plan.reserved_range) == reserved


def test_each_host_gets_the_next_consecutive_block_of_slots() -> None:
    plan = plan_addresses(request(hosts=3, slots=4))
    blocks = [[str(slot.ip_address) for slot in host.container_slots] for host in plan.hosts]
    assert blocks == [
        ["192.168.0.21", "192.168.0.22", "192.168.0.23", "192.168.0.24"],
        ["192.168.0.25", "192.168.0.26", "192.168.0.27", "192.168.0.28"],
        ["192.168.0.29", "192.168.0.30", "192.168.0.31", "192.168.0.32"],
    ]
    assert [slot.name for slot in plan.hosts[2].container_slots] == [
        "slot-01",
        "slot-02",
        "slot-03",
        "slot-04",
    ]


@pytest.mark.parametrize(
    ("index", "slots", "name"),
    [
        pytest.param(1, 10, "slot-01", id="two-digits-by-default"),
        pytest.param(10, 10, "slot-10", id="tenth"),
        pytest.param(7, 120, "slot-007", id="three-digits-when-there-are-over-99"),
    ],
)
def test_slot_names_sort_in_address_order(index: int, slots: int, name: str) -> None:
    assert slot_name(index, slots) == name


@pytest.mark.parametrize(
    ("address", "mac"),
    [
        pytest.param("192.168.0.21", "0a:4c:c0:a8:00:15", id="address-bytes-after-prefix"),
        pytest.param("10.255.0.1", "0a:4c:0a:ff:00:01", id="zero-padded-hex"),
    ],
)
def test_slot_mac_is_derived_from_the_address(address: str, mac: str) -> None:
    assert slot_mac_address(IPv4Address(address)) == mac


def test_slot_macs_are_locally_administered_unicast() -> None:
    first_octet = int(slot_mac_address(IPv4Address("192.168.0.21")).split(":")[0], 16)
    assert first_octet & 0b10, "locally administered bit must be set"
    assert not first_octet & 0b01, "multicast bit must be clear"


@pytest.mark.parametrize(
    ("asked", "key", "fragment"),
    [
        pytest.param(request("fd00::/64"), "cidr", "IPv6", id="ipv6-cidr"),
        pytest.param(request("10.0.0.1/24"), "cidr", "10.0.0.0/24", id="host-bits-set"),
        pytest.param(request("not-a-cidr"), "cidr", "not a network", id="garbage-cidr"),
        pytest.param(request("10.0.0.0/30"), "cidr", "too small", id="slash-30"),
        pytest.param(
            request(gateway_ip="192.168.1.1"), "gateway", "outside cidr", id="gateway-outside"
        ),
        pytest.param(
            request(gateway_ip="192.168.0.255"), "gateway", "broadcast", id="gateway-broadcast"
        ),
        pytest.param(
            request(hosts=3, pool_size=3), "dhcpPoolSize", "at least 4", id="pool-misses-dhcp-port"
        ),
        pytest.param(
            request(dhcp_pool_start="192.168.0.2"),
            "dhcpPoolEnd",
            "set together",
            id="pool-start-without-end",
        ),
        pytest.param(
            request(dhcp_pool_start="192.168.0.9", dhcp_pool_end="192.168.0.3"),
            "dhcpPoolEnd",
            "comes before",
            id="pool-bounds-reversed",
        ),
        pytest.param(
            request(dhcp_pool_start="192.168.0.1", dhcp_pool_end="192.168.0.9"),
            "dhcpPoolStart",
            "holds the gateway",
            id="pool-holds-gateway",
        ),
        pytest.param(
            request("10.0.0.0/24", pool_size=300), "dhcpPoolSize", "do not fit", id="pool-too-big"
        ),
        pytest.param(
            request("192.168.0.0/28", hosts=3, slots=10, pool_size=4),
            "slotsPerHost",
            "at most 0 host(s) x 10 slot(s) fit, or 3 host(s) x 3 slot(s)",
            id="slash-28-says-what-fits",
        ),
    ],
)
def test_impossible_plans_name_the_key_and_the_fix(
    asked: AddressRequest, key: str, fragment: str
) -> None:
    with pytest.raises(AddressPlanError) as caught:
        plan_addresses(asked)
    assert any(p.startswith(f"{key}: ") and fragment in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_every_problem_is_reported_at_once() -> None:
    asked = AddressRequest(
        cidr="192.168.0.0/24",
        host_names=(),
        slots_per_host=0,
        dhcp_pool_size=19,
        gateway_ip="10.0.0.1",
    )
    with pytest.raises(AddressPlanError) as caught:
        plan_addresses(asked)
    keys = sorted(problem.split(":")[0] for problem in caught.value.problems)
    assert keys == ["gateway", "hostCount", "slotsPerHost"]


KNOWN_KEYS = ("cidr", "gateway", "dhcpPoolSize", "dhcpPoolStart", "dhcpPoolEnd", "slotsPerHost")


@st.composite
def requests(draw: st.DrawFn) -> AddressRequest:
    prefix = draw(st.integers(min_value=16, max_value=29))
    network = IPv4Network(
        (draw(st.integers(0, 2**32 - 1)) >> (32 - prefix) << (32 - prefix), prefix)
    )
    hosts = draw(st.integers(min_value=1, max_value=12))
    first, last = int(network.network_address) + 1, int(network.broadcast_address) - 1
    gateway = draw(
        st.one_of(st.none(), st.integers(first, last).map(lambda n: str(IPv4Address(n))))
    )
    return AddressRequest(
        cidr=str(network),
        host_names=tuple(f"lxd-{n}" for n in range(1, hosts + 1)),
        slots_per_host=draw(st.integers(min_value=1, max_value=40)),
        dhcp_pool_size=draw(st.integers(min_value=1, max_value=600)),
        gateway_ip=gateway,
    )


def assert_plan_is_sound(asked: AddressRequest, plan: AddressPlan) -> None:
    cidr = plan.cidr
    excluded = {cidr.network_address, cidr.broadcast_address, plan.gateway_ip}
    pool = set(plan.allocation_pool)
    assert all(address in cidr for address in pool)
    assert not pool & excluded
    assert len(pool) >= len(asked.host_names) + 1  # every host and Neutron's DHCP port
    slots = [slot.ip_address for host in plan.hosts for slot in host.container_slots]
    assert len(slots) == len(set(slots)), "slots overlap"
    assert not set(slots) & pool, "a slot lies in the DHCP pool"
    assert not set(slots) & excluded
    assert all(address in cidr for address in slots)
    assert all(address in plan.reserved_range for address in slots)
    assert [host.host_name for host in plan.hosts] == list(asked.host_names)
    assert all(len(host.container_slots) == asked.slots_per_host for host in plan.hosts)
    macs = [slot.mac_address for host in plan.hosts for slot in host.container_slots]
    assert len(macs) == len(set(macs)), "slot MACs collide"


@settings(max_examples=400, deadline=None)
@given(requests())
def test_any_request_gives_a_sound_plan_or_a_clear_error(asked: AddressRequest) -> None:
    try:
        plan = plan_addresses(asked)
    except AddressPlanError as error:
        assert error.problems
        assert all(problem.split(":")[0] in KNOWN_KEYS for problem in error.problems)
        return
    assert_plan_is_sound(asked, plan)


@settings(max_examples=300, deadline=None)
@given(requests())
def test_with_the_default_gateway_a_plan_exists_exactly_when_it_fits(
    asked: AddressRequest,
) -> None:
    asked = AddressRequest(
        cidr=asked.cidr,
        host_names=asked.host_names,
        slots_per_host=asked.slots_per_host,
        dhcp_pool_size=asked.dhcp_pool_size,
    )
    network = IPv4Network(asked.cidr)
    # Gateway on the first host address, the pool right after it, the slots after the pool.
    first_host, last_host = int(network.network_address) + 1, int(network.broadcast_address) - 1
    pool_end = first_host + asked.dhcp_pool_size
    fits = (
        asked.dhcp_pool_size >= len(asked.host_names) + 1
        and pool_end <= last_host
        and last_host - pool_end >= len(asked.host_names) * asked.slots_per_host
    )
    try:
        plan = plan_addresses(asked)
    except AddressPlanError as error:
        assert not fits, error.problems
        return
    assert fits
    assert int(plan.allocation_pool.end) == pool_end
    assert int(plan.reserved_range.start) == pool_end + 1


def test_address_range_iterates_and_contains_inclusively() -> None:
    span = AddressRange(IPv4Address("10.0.0.2"), IPv4Address("10.0.0.4"))
    assert [str(a) for a in span] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert span.size == 3
    assert IPv4Address("10.0.0.4") in span
    assert IPv4Address("10.0.0.5") not in span
    assert span.as_allocation_pool() == {"start": "10.0.0.2", "end": "10.0.0.4"}

"""The tenant subnet's address plan: the DHCP pool for the LXD hosts and static container slots.

Neutron's DHCP server only answers the MACs of ports it knows, so bridged containers cannot get
addresses from it. The plan splits the subnet in two: a reduced allocation pool, from which
Neutron gives each LXD host (and its own DHCP port) an address, and a reserved range after it
that Neutron never hands out, cut into one block of container slots per host. Each slot is a
static address plus a MAC derived from it, so the same plan always gives the same bytes.

Pure Python: no Pulumi, no cloud. Errors name the stack configuration keys they come from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network

# A locally administered (bit 1 of the first octet set), unicast (bit 0 clear) prefix: such
# MACs never clash with a vendor's, nor with Neutron's own `fa:16:3e` base.
SLOT_MAC_PREFIX = "0a:4c"

# The smallest subnet with room for a gateway, a DHCP port, a host and one slot.
LONGEST_PREFIX = 29


class AddressPlanError(ValueError):
    """The requested plan cannot be built; `problems` holds one line per bad key."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, order=True)
class AddressRange:
    """An inclusive range of IPv4 addresses, as a Neutron allocation pool is written."""

    start: IPv4Address
    end: IPv4Address

    @property
    def size(self) -> int:
        return int(self.end) - int(self.start) + 1

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address) and self.start <= address <= self.end

    def __iter__(self) -> Iterator[IPv4Address]:
        return (IPv4Address(n) for n in range(int(self.start), int(self.end) + 1))

    def as_allocation_pool(self) -> dict[str, str]:
        """The range as `openstack.networking.Subnet`'s `allocation_pools` item spells it."""
        return {"start": str(self.start), "end": str(self.end)}

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True)
class ContainerSlot:
    """A static address for one container: the LXD profile `name` carries `hwaddr` and the IP."""

    name: str
    ip_address: IPv4Address
    mac_address: str


@dataclass(frozen=True)
class HostAddresses:
    """One LXD host's block of the reserved range."""

    host_name: str
    container_slots: tuple[ContainerSlot, ...]


@dataclass(frozen=True)
class AddressRequest:
    """What the stack asks for; `None` means "the default" (see `plan_addresses`)."""

    cidr: str
    host_names: tuple[str, ...]
    slots_per_host: int
    dhcp_pool_size: int
    gateway_ip: str | None = None
    dhcp_pool_start: str | None = None
    dhcp_pool_end: str | None = None


@dataclass(frozen=True)
class AddressPlan:
    """The subnet's addresses: who gets which, and which Neutron must never hand out."""

    cidr: IPv4Network
    gateway_ip: IPv4Address
    allocation_pool: AddressRange
    reserved_range: AddressRange
    hosts: tuple[HostAddresses, ...]

    @property
    def prefix_length(self) -> int:
        return self.cidr.prefixlen

    def container_slots(self, host_name: str) -> tuple[ContainerSlot, ...]:
        for host in self.hosts:
            if host.host_name == host_name:
                return host.container_slots
        raise KeyError(host_name)


def slot_mac_address(address: IPv4Address) -> str:
    """The MAC a container on `address` uses: the prefix, then the address's four bytes."""
    return ":".join([SLOT_MAC_PREFIX, *(f"{byte:02x}" for byte in address.packed)])


def slot_name(index: int, slots_per_host: int) -> str:
    """`slot-01`, `slot-02`, ...: zero-padded so that names sort in address order."""
    width = max(2, len(str(slots_per_host)))
    return f"slot-{index:0{width}d}"


def plan_addresses(request: AddressRequest) -> AddressPlan:
    """Build the plan, or raise `AddressPlanError` listing every problem.

    Defaults: the gateway is the subnet's first host address; the pool is the first
    `dhcp_pool_size` host addresses that do not hold the gateway (192.168.0.2-192.168.0.20 in a
    /24 with the default 19, as in `neutron subnet-update --allocation-pool`), unless
    `dhcp_pool_start` and `dhcp_pool_end` give it. The reserved range runs from the address
    after the pool to the last host address (stopping before the gateway if it lies there);
    host `i` gets its `i`-th block of `slots_per_host` consecutive addresses.
    """
    cidr = _parse_cidr(request.cidr)
    problems: list[str] = []
    if request.slots_per_host < 1:
        problems.append(f"slotsPerHost: must be at least 1, got {request.slots_per_host}")
    if not request.host_names:
        problems.append("hostCount: at least one host is needed")
    first_host = cidr.network_address + 1
    last_host = cidr.broadcast_address - 1

    gateway = _gateway(request.gateway_ip, cidr, first_host, problems)
    pool = _allocation_pool(
        request,
        cidr=cidr,
        gateway=gateway,
        first_host=first_host,
        last_host=last_host,
        problems=problems,
    )
    if problems or gateway is None or pool is None:
        raise AddressPlanError(problems)

    # Neutron's DHCP port takes one pool address and every host another one.
    needed_in_pool = len(request.host_names) + 1
    if pool.size < needed_in_pool:
        key = "dhcpPoolStart" if request.dhcp_pool_start else "dhcpPoolSize"
        problems.append(
            f"{key}: a pool of {pool.size} address(es) ({pool}) cannot serve "
            f"{len(request.host_names)} host(s) and Neutron's DHCP port: it needs at least "
            f"{needed_in_pool}"
        )

    reserved = _reserved_range(pool, gateway, last_host)
    available = 0 if reserved is None else reserved.size
    needed = len(request.host_names) * request.slots_per_host
    if needed > available:
        problems.append(_what_fits(request, cidr, reserved, available, needed))
    if problems or reserved is None:
        raise AddressPlanError(problems)

    hosts = []
    addresses = iter(reserved)
    for host_name in request.host_names:
        slots = []
        for index in range(1, request.slots_per_host + 1):
            address = next(addresses)
            slots.append(
                ContainerSlot(
                    name=slot_name(index, request.slots_per_host),
                    ip_address=address,
                    mac_address=slot_mac_address(address),
                )
            )
        hosts.append(HostAddresses(host_name=host_name, container_slots=tuple(slots)))
    return AddressPlan(
        cidr=cidr,
        gateway_ip=gateway,
        allocation_pool=pool,
        reserved_range=reserved,
        hosts=tuple(hosts),
    )


def _parse_cidr(text: str) -> IPv4Network:
    try:
        loose = ip_network(text, strict=False)
    except ValueError:
        raise AddressPlanError(
            [f"cidr: {text!r} is not a network such as 192.168.0.0/24"]
        ) from None
    if not isinstance(loose, IPv4Network):
        raise AddressPlanError(
            [f"cidr: {text} is IPv6; only IPv4 subnets are supported (container slots are IPv4)"]
        )
    try:
        network = IPv4Network(text, strict=True)
    except ValueError:
        raise AddressPlanError(
            [f"cidr: {text} has host bits set; the network is {loose.with_prefixlen}"]
        ) from None
    if network.prefixlen > LONGEST_PREFIX:
        raise AddressPlanError(
            [
                f"cidr: {text} is too small: a /{LONGEST_PREFIX} or larger is needed for a "
                "gateway, Neutron's DHCP port, a host and its container slots"
            ]
        )
    return network


def _gateway(
    text: str | None,
    cidr: IPv4Network,
    first_host: IPv4Address,
    problems: list[str],
) -> IPv4Address | None:
    if text is None:
        return first_host
    return _address_in("gateway", text, cidr, problems)


def _address_in(key: str, text: str, cidr: IPv4Network, problems: list[str]) -> IPv4Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        problems.append(f"{key}: {text!r} is not an IPv4 address")
        return None
    if not isinstance(address, IPv4Address):
        problems.append(f"{key}: {text} is IPv6; the subnet is IPv4")
        return None
    if address not in cidr:
        problems.append(f"{key}: {text} is outside cidr {cidr}")
        return None
    if address in (cidr.network_address, cidr.broadcast_address):
        problems.append(f"{key}: {text} is the network or broadcast address of {cidr}")
        return None
    return address


def _allocation_pool(
    request: AddressRequest,
    *,
    cidr: IPv4Network,
    gateway: IPv4Address | None,
    first_host: IPv4Address,
    last_host: IPv4Address,
    problems: list[str],
) -> AddressRange | None:
    start_text, end_text = request.dhcp_pool_start, request.dhcp_pool_end
    if start_text is not None or end_text is not None:
        if start_text is None or end_text is None:
            missing = "dhcpPoolStart" if start_text is None else "dhcpPoolEnd"
            problems.append(f"{missing}: dhcpPoolStart and dhcpPoolEnd are set together")
            return None
        start = _address_in("dhcpPoolStart", start_text, cidr, problems)
        end = _address_in("dhcpPoolEnd", end_text, cidr, problems)
        if start is None or end is None:
            return None
        if end < start:
            problems.append(f"dhcpPoolEnd: {end} comes before dhcpPoolStart {start}")
            return None
        pool = AddressRange(start, end)
        if gateway is not None and gateway in pool:
            problems.append(f"dhcpPoolStart: the pool {pool} holds the gateway {gateway}")
            return None
        return pool

    size = request.dhcp_pool_size
    if size < 1:
        problems.append(f"dhcpPoolSize: must be at least 1, got {size}")
        return None
    start = first_host
    if gateway is not None and int(start) <= int(gateway) < int(start) + size:
        # Neutron refuses a pool that holds the gateway: the pool starts after it instead.
        start = gateway + 1
    # Integer arithmetic: near 255.255.255.255 an address past the end does not exist.
    if int(start) + size - 1 > int(last_host):
        host_count = int(last_host) - int(first_host) + 1
        problems.append(
            f"dhcpPoolSize: {size} addresses do not fit in {cidr}, which has {host_count} host "
            "addresses in all, the gateway and the container slots included"
        )
        return None
    return AddressRange(start, start + (size - 1))


def _reserved_range(
    pool: AddressRange, gateway: IPv4Address, last_host: IPv4Address
) -> AddressRange | None:
    start, end = pool.end + 1, last_host
    if start == gateway:
        start = gateway + 1
    elif start < gateway <= end:
        end = gateway - 1
    return AddressRange(start, end) if start <= end else None


def _what_fits(
    request: AddressRequest,
    cidr: IPv4Network,
    reserved: AddressRange | None,
    available: int,
    needed: int,
) -> str:
    hosts, slots = len(request.host_names), request.slots_per_host
    where = f"{available} after the pool ({reserved})" if reserved else "none after the pool"
    return (
        f"slotsPerHost: {hosts} host(s) x {slots} slot(s) need {needed} static addresses, but "
        f"{cidr} has {where}: at most {available // slots} host(s) x {slots} slot(s) fit, or "
        f"{hosts} host(s) x {available // hosts} slot(s); use a larger cidr or a smaller "
        "dhcpPoolSize"
    )

"""A Neutron-like tenant network made of the parts Neutron itself uses, in a network namespace.

- the network: a Linux bridge, with the subnet's gateway address on it;
- DHCP as Neutron's DHCP agent runs it: dnsmasq with a `static` dhcp-range and a hosts file of
  one entry per port, so only known MACs get a lease and only their fixed addresses;
- port security as Neutron enforces it on a VM's tap: nftables rules (bridge family) that let
  frames in from the port only when their source MAC and IPv4 address (and, for ARP, the
  sender's MAC and address) are the port's own or one of its `allowed_address_pairs`;
- the cloud's local package mirror, over HTTP on the gateway address.

The rendering functions are pure and unit-tested; `NeutronLikeNetwork` runs them in a namespace it
creates, and removes the namespace and every process it started when it closes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

NFT_TABLE = "neutron"
BRIDGE = "brq-tenant"  # Neutron's linuxbridge agent names its bridges brq<network id>


@dataclass(frozen=True)
class AllowedAddressPair:
    """One of a port's `allowed_address_pairs`, named as pulumi-openstack names it."""

    ip_address: str
    mac_address: str


@dataclass(frozen=True)
class Port:
    """A Neutron port, as the program's run recorded it."""

    name: str
    mac_address: str
    fixed_ip: str
    allowed_address_pairs: tuple[AllowedAddressPair, ...]


@dataclass(frozen=True)
class Subnet:
    """The tenant subnet: its CIDR, gateway and allocation pool."""

    cidr: str
    gateway_ip: str
    allocation_pool_start: str
    allocation_pool_end: str

    def in_allocation_pool(self, address: str) -> bool:
        ip = ipaddress.IPv4Address(address)
        start = ipaddress.IPv4Address(self.allocation_pool_start)
        end = ipaddress.IPv4Address(self.allocation_pool_end)
        return start <= ip <= end


def dnsmasq_hosts(ports: Sequence[Port]) -> str:
    """Neutron's DHCP agent's hosts file: `mac,host-<ip>,ip` per port."""
    return "".join(
        f"{p.mac_address},host-{p.fixed_ip.replace('.', '-')},{p.fixed_ip}\n" for p in ports
    )


def dnsmasq_argv(subnet: Subnet, mtu: int, interface: str, state: Path) -> list[str]:
    """dnsmasq as Neutron's DHCP agent starts it: static range, known hosts only."""
    network = ipaddress.ip_network(subnet.cidr)
    return [
        "dnsmasq",
        "--keep-in-foreground",
        "--no-hosts",
        "--no-resolv",
        "--port=0",  # DHCP only: the guests need no DNS here
        "--conf-file=/dev/null",
        f"--pid-file={state / 'dnsmasq.pid'}",
        f"--dhcp-hostsfile={state / 'hosts'}",
        f"--dhcp-leasefile={state / 'leases'}",
        "--bind-interfaces",
        f"--interface={interface}",
        "--except-interface=lo",
        f"--dhcp-range=set:subnet,{network.network_address},static,{network.netmask},86400s",
        f"--dhcp-option=tag:subnet,option:router,{subnet.gateway_ip}",
        f"--dhcp-option-force=option:mtu,{mtu}",
        "--dhcp-lease-max=256",
        "--log-dhcp",
        f"--log-facility={state / 'dnsmasq.log'}",
    ]


def _set_name(tap: str) -> str:
    return f"{tap}_pairs"


def _pair_elements(port: Port) -> list[str]:
    own = AllowedAddressPair(ip_address=port.fixed_ip, mac_address=port.mac_address)
    pairs = [own, *port.allowed_address_pairs]
    return [f"{p.mac_address} . {p.ip_address}" for p in pairs]


def port_security_ruleset(tap: str, port: Port) -> str:
    """nftables rules (bridge family) for one port, as Neutron's anti-spoofing filters it.

    Frames from the port's tap pass only if their source MAC and IPv4 address are a known
    pair; ARP likewise on its sender fields; DHCP requests (no address yet) from a known MAC.
    Everything else from the tap is dropped, IPv6 included (this network has no IPv6 subnet).
    """
    pairs = _set_name(tap)
    macs = sorted({port.mac_address, *(p.mac_address for p in port.allowed_address_pairs)})
    return "\n".join(
        [
            f"table bridge {NFT_TABLE} {{",
            f"  set {pairs} {{",
            "    type ether_addr . ipv4_addr",
            f"    elements = {{ {', '.join(_pair_elements(port))} }}",
            "  }",
            f"  set {tap}_macs {{",
            "    type ether_addr",
            f"    elements = {{ {', '.join(macs)} }}",
            "  }",
            f"  chain {tap}_from_port {{",
            f"    ether type ip udp sport 68 udp dport 67 ether saddr @{tap}_macs accept",
            f"    ether type ip ether saddr . ip saddr @{pairs} accept",
            # Both the frame's source and ARP's sender MAC must belong to the sender address.
            f"    ether type arp ether saddr . arp saddr ip @{pairs} "
            f"arp saddr ether . arp saddr ip @{pairs} accept",
            "    counter drop",
            "  }",
            "  chain ports {",
            "    type filter hook prerouting priority filter; policy accept;",
            f'    iifname "{tap}" jump {tap}_from_port',
            "  }",
            "}",
            "",
        ]
    )


def run(argv: Sequence[str], timeout: float = 60) -> str:
    """Run a command; its output on success, an error naming it and its stderr otherwise."""
    result = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()[-2000:]}"
        )
    return result.stdout


class NeutronLikeNetwork:
    """The tenant network in its own namespace; a context manager that always cleans up."""

    def __init__(self, subnet: Subnet, mtu: int, mirror_root: Path | None = None) -> None:
        self.subnet = subnet
        self.mtu = mtu
        self.namespace = f"lxdhost-boot-{os.getpid()}-{time.monotonic_ns() % 100000}"
        self.state = Path(tempfile.mkdtemp(prefix="lxdhost-boot-net-"))
        # dnsmasq drops root once started, then rereads its hosts file from here.
        self.state.chmod(0o755)
        self._mirror_root = mirror_root
        self._processes: list[subprocess.Popen[bytes]] = []
        self._ports: dict[str, Port] = {}  # tap -> port

    def open(self) -> NeutronLikeNetwork:
        """Create the namespace and start its services; on failure, remove what was made."""
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> NeutronLikeNetwork:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def run(self, argv: Sequence[str], timeout: float = 60) -> str:
        return run(self.exec_argv(argv), timeout=timeout)

    def _create(self) -> None:
        network = ipaddress.ip_network(self.subnet.cidr)
        run(["ip", "netns", "add", self.namespace])
        self.run(["ip", "link", "set", "lo", "up"])
        self.run(["ip", "link", "add", BRIDGE, "mtu", str(self.mtu), "type", "bridge"])
        self.run(
            ["ip", "addr", "add", f"{self.subnet.gateway_ip}/{network.prefixlen}", "dev", BRIDGE]
        )
        self.run(["ip", "link", "set", BRIDGE, "up"])
        (self.state / "hosts").write_text("")
        self._start(dnsmasq_argv(self.subnet, self.mtu, BRIDGE, self.state), "dnsmasq")
        if self._mirror_root is not None:
            self._start_mirror(self._mirror_root)

    def _start(self, argv: Sequence[str], name: str) -> subprocess.Popen[bytes]:
        log = (self.state / f"{name}.out").open("wb")
        process = subprocess.Popen(
            self.exec_argv(argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._processes.append(process)
        time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited at start: {(self.state / f'{name}.out').read_text()[-2000:]}"
            )
        return process

    def _start_mirror(self, repository: Path) -> None:
        # The image's mirror URL has the path /debian: serve a folder whose `debian` is the
        # repository.
        docroot = self.state / "mirror"
        docroot.mkdir()
        (docroot / "debian").symlink_to(repository)
        self._start(
            [
                "python3",
                "-m",
                "http.server",
                "80",
                "--bind",
                self.subnet.gateway_ip,
                "--directory",
                str(docroot),
            ],
            "mirror",
        )

    def add_port(self, tap: str, port: Port) -> None:
        """A VM port: its tap on the bridge, its DHCP host entry, its anti-spoofing rules."""
        self.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
        self.run(["ip", "link", "set", tap, "mtu", str(self.mtu), "master", BRIDGE])
        self.run(["ip", "link", "set", tap, "up"])
        self._ports[tap] = port
        (self.state / "hosts").write_text(dnsmasq_hosts(list(self._ports.values())))
        self._reload_dnsmasq()
        rules = self.state / f"{tap}.nft"
        rules.write_text(port_security_ruleset(tap, port))
        self.run(["nft", "-f", str(rules)])

    def _reload_dnsmasq(self) -> None:
        # dnsmasq rereads --dhcp-hostsfile on SIGHUP, which is how Neutron's agent updates it.
        pid = int((self.state / "dnsmasq.pid").read_text().strip() or "0")
        if pid:
            os.kill(pid, 1)

    @contextlib.contextmanager
    def without_pair(self, tap: str, pair: AllowedAddressPair) -> Iterator[None]:
        """The port as if `pair` were not in its allowed_address_pairs, restored afterwards."""
        element = f"{{ {pair.mac_address} . {pair.ip_address} }}"
        self.run(["nft", "delete", "element", "bridge", NFT_TABLE, _set_name(tap), element])
        try:
            yield
        finally:
            self.run(["nft", "add", "element", "bridge", NFT_TABLE, _set_name(tap), element])

    def dropped_frames(self, tap: str) -> int:
        """Frames the port's anti-spoofing rules dropped so far."""
        listing = self.run(["nft", "list", "chain", "bridge", NFT_TABLE, f"{tap}_from_port"])
        for line in listing.splitlines():
            if "counter packets" in line and "drop" in line:
                return int(line.split("counter packets")[1].split()[0])
        return 0

    def leases(self) -> str:
        path = self.state / "leases"
        return path.read_text() if path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("dnsmasq.log", "mirror.out"):
            path = self.state / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._processes.clear()
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False)
        shutil.rmtree(self.state, ignore_errors=True)

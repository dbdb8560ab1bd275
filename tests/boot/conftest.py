"""Fixtures for the boot test: images, the tenant network, and a host booted on it per variant.

Everything the fixtures create (network namespace, taps, dnsmasq, nftables rules, the mirror,
qemu) is removed when the fixture ends, whether the tests passed or not.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import pytest

import hostimage as image
from lxdhost.offline import run_program

from .server import ServerUnderTest, first_server
from .tenant import NeutronLikeNetwork
from .vm import Guest, GuestSpec, meta_data

# The tools the suite runs, and the Debian package each comes from (named in the skip reason).
TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "debootstrap": "debootstrap",
    "cloud-localds": "cloud-image-utils",
    "dnsmasq": "dnsmasq-base",
    "nft": "nftables",
    "mke2fs": "e2fsprogs",
    "dpkg-scanpackages": "dpkg-dev",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "ip": "iproute2",
    "unshare": "util-linux",
}

# Bounded waits, generous for TCG on two shared cores (measured: first boot ~2-4 min).
FIRST_BOOT_TIMEOUT = 900
SECOND_BOOT_TIMEOUT = 600
SSH_TIMEOUT = 180

TAP = "tap-host0"


@dataclass(frozen=True)
class Variant:
    """One way the program can lay out a Debian host, and the image that goes with it."""

    id: str
    host_network: str  # lxdhost:hostNetwork, and the image's layout
    lxd_init: str  # lxdhost:lxdInit

    def stack_config(self) -> dict[str, object]:
        return {
            "lxdhost:networkMode": "create",
            "lxdhost:externalNetwork": "public",
            "lxdhost:distro": "debian",
            "lxdhost:hostNetwork": self.host_network,
            "lxdhost:lxdInit": self.lxd_init,
            "lxdhost:image": "debian-12-genericcloud-amd64",
            "lxdhost:flavor": "m1.small",
            "lxdhost:keyPair": "boot-test",
            "lxdhost:hostCount": 1,
            "lxdhost:slotsPerHost": 2,
            "lxdhost:cidr": "192.168.0.0/24",
        }


VARIANTS = (
    # The program's default layout for a Debian 12 image that has netplan.
    Variant(id="netplan-preseed", host_network="netplan", lxd_init="preseed"),
    # The seed blog's layout: /etc/network/interfaces and cloud-init's lxd module.
    Variant(id="ifupdown-module", host_network="ifupdown", lxd_init="module"),
)


@dataclass
class Figures:
    """Seconds since qemu started, per milestone; printed per variant."""

    first_boot_done: float | None = None
    second_boot_done: float | None = None
    container_reached_gateway: float | None = None

    def line(self, variant: str) -> str:
        def show(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} s"

        return (
            f"boot figures [{variant}] from qemu start:"
            f" first boot done {show(self.first_boot_done)}"
            f", second boot done {show(self.second_boot_done)}"
            f", first container reached the gateway {show(self.container_reached_gateway)}"
        )


FIGURES: dict[str, Figures] = {}


@dataclass
class BootedHost:
    """A host booted from the program's user-data, past its reboot, reachable over SSH."""

    variant: Variant
    server: ServerUnderTest
    network: NeutronLikeNetwork
    guest: Guest
    tap: str
    figures: Figures
    containers: list[str] = field(default_factory=list)
    image_imported: bool = False


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for variant, figures in FIGURES.items():
        terminalreporter.write_line(figures.line(variant))


@pytest.fixture(scope="session")
def boot_environment() -> None:
    """Skip, naming what is missing, where the suite cannot run."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, taps, nftables, debootstrap)")
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        pytest.skip(f"needs the Debian packages {', '.join(missing)} (scripts/install --boot)")
    # A CI timeout sends SIGTERM: make it unwind like Ctrl-C, so every fixture's cleanup runs
    # (no namespace, qemu or dnsmasq left behind).
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def container_image(boot_environment: None) -> image.ContainerImage:
    built = image.build_container_image()
    if built.build_seconds:
        print(f"\nbuilt the container image in {built.build_seconds:.0f} s: {built.tarball}")
    return built


@pytest.fixture(scope="session")
def ssh_key(boot_environment: None) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="lxdhost-boot-key-"))
    key = folder / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "boot-test", "-f", str(key)],
        check=True,
    )
    yield key
    shutil.rmtree(folder, ignore_errors=True)


def server_for(variant: Variant) -> ServerUnderTest:
    """Host 0 of a test stack, as the program declares it under Neutron-like mocks."""
    run = run_program(f"boot-{variant.id}", variant.stack_config())
    return first_server(run)


@dataclass
class Launch:
    """A variant's VM, started early so that it boots while the next image builds."""

    variant: Variant
    server: ServerUnderTest
    workdir: Path
    figures: Figures
    network: NeutronLikeNetwork | None = None
    guest: Guest | None = None

    def start(self, built: image.HostImage, ssh_key: Path) -> None:
        self.network = NeutronLikeNetwork(
            self.server.subnet, self.server.mtu, mirror_root=built.apt_repository
        ).open()
        self.network.add_port(TAP, self.server.port)
        self.guest = Guest(
            self.network,
            TAP,
            built,
            GuestSpec(
                user_data=self.server.user_data,
                meta_data=meta_data(
                    f"boot-test-{self.variant.id}",
                    "lxdhost-0",
                    ssh_key.with_suffix(".pub").read_text().strip(),
                ),
                mac_address=self.server.port.mac_address,
            ),
            workdir=self.workdir,
            ssh_key=ssh_key,
        )

    def close(self) -> None:
        if self.guest is not None:
            self.guest.close()
            self.guest = None
        if self.network is not None:
            self.network.close()
            self.network = None
        keep = os.environ.get("LXDHOST_BOOT_KEEP")
        if keep and self.workdir.exists():
            # For a failure's post-mortem: serial log, seed, disk overlay.
            shutil.copytree(self.workdir, Path(keep) / self.variant.id, dirs_exist_ok=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _selected_variants(session: pytest.Session) -> list[Variant]:
    wanted = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        variant = callspec.params.get("booted_host") if callspec is not None else None
        if isinstance(variant, Variant):
            wanted.add(variant.id)
    return [variant for variant in VARIANTS if variant.id in wanted]


@pytest.fixture(scope="session")
def launches(
    request: pytest.FixtureRequest,
    container_image: image.ContainerImage,
    ssh_key: Path,
) -> Iterator[dict[str, Launch | BaseException]]:
    """Every selected variant's VM, each started as soon as its image is ready.

    A variant whose image or network fails to come up records its error; only its own tests
    report it. Whatever was started is stopped and removed at the end of the session.
    """
    started: dict[str, Launch | BaseException] = {}
    try:
        for variant in _selected_variants(request.session):
            launch = Launch(
                variant=variant,
                server=server_for(variant),
                workdir=Path(tempfile.mkdtemp(prefix=f"lxdhost-boot-{variant.id}-")),
                figures=FIGURES.setdefault(variant.id, Figures()),
            )
            started[variant.id] = launch
            try:
                built = image.build_host_image(variant.host_network, container_image)
                if built.build_seconds:
                    print(f"\nbuilt the {variant.id} host image in {built.build_seconds:.0f} s")
                gateway = launch.server.subnet.gateway_ip
                if gateway != image.NOCLOUD.mirror_host:
                    raise AssertionError(
                        f"the image's mirror is at {image.NOCLOUD.mirror_host}, "
                        f"the test stack's gateway is {gateway}"
                    )
                launch.start(built, ssh_key)
            except Exception as error:  # reported by this variant's tests
                launch.close()
                started[variant.id] = error
        yield started
    finally:
        for outcome in started.values():
            if isinstance(outcome, Launch):
                outcome.close()


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: v.id)
def booted_host(
    request: pytest.FixtureRequest, launches: dict[str, Launch | BaseException]
) -> Iterator[BootedHost]:
    """The variant's host past its first boot and reboot, reachable over SSH."""
    variant: Variant = request.param
    launch = launches[variant.id]
    if isinstance(launch, BaseException):
        raise launch
    guest, network, figures = launch.guest, launch.network, launch.figures
    assert guest is not None and network is not None
    try:
        figures.first_boot_done = guest.wait_for_boot(1, FIRST_BOOT_TIMEOUT)
        print(f"\n[{variant.id}] first boot done at {figures.first_boot_done:.0f} s")
        figures.second_boot_done = guest.wait_for_boot(2, FIRST_BOOT_TIMEOUT + SECOND_BOOT_TIMEOUT)
        print(f"[{variant.id}] second boot done at {figures.second_boot_done:.0f} s")
        guest.wait_for_ssh(launch.server.port.fixed_ip, SSH_TIMEOUT)
        yield BootedHost(
            variant=variant,
            server=launch.server,
            network=network,
            guest=guest,
            tap=TAP,
            figures=figures,
        )
    finally:
        # Free the CPU for the next variant's tests.
        launch.close()
        print(f"\n{figures.line(variant.id)}")

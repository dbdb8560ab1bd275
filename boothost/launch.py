"""One boot of a variant's host, from qemu's start to the host ready on br0: the boot test's
fixtures, the time-to-ready benchmark and the soak script all boot through this.

`Launch` owns one VM and its Neutron-like network; `Launcher` starts the variants' VMs in order,
at most two at a time, so that one boots while another's tests or image build run, without four
TCG guests sharing two cores. `bring_up` waits for the boots a variant needs and for SSH.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

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


def missing_requirements() -> str | None:
    """What keeps the boots from running here (root, the Debian packages), or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, taps, nftables, debootstrap)"
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        return f"needs the Debian packages {', '.join(missing)} (scripts/install --boot)"
    return None


def unwind_on_sigterm() -> None:
    """Make SIGTERM (a CI timeout) unwind like Ctrl-C, so that every cleanup runs: no
    namespace, qemu or dnsmasq is left behind."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def make_ssh_key(folder: Path, comment: str) -> Path:
    """A new key pair in `folder`; the private key's path (the public one ends in .pub)."""
    key = folder / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
        check=True,
    )
    return key


# Bounded waits, generous for TCG on two shared cores (measured: first boot ~2-4 min).
FIRST_BOOT_TIMEOUT = 900
SECOND_BOOT_TIMEOUT = 600
LATER_BOOT_TIMEOUT = 600
SSH_TIMEOUT = 180

TAP = "tap-host0"


@dataclass(frozen=True)
class Variant:
    """One way the program can lay out a Debian host, and the image that goes with it."""

    id: str
    host_network: str  # lxdhost:hostNetwork, and the image's layout
    lxd_init: str  # lxdhost:lxdInit
    bring_up: str = "reboot"  # lxdhost:bringUp

    @property
    def boots_to_ready(self) -> int:
        """Boots cloud-init finishes before the host is ready: the reboot makes a second."""
        return 2 if self.bring_up == "reboot" else 1

    def stack_config(self) -> dict[str, object]:
        return {
            "lxdhost:networkMode": "create",
            "lxdhost:externalNetwork": "public",
            "lxdhost:distro": "debian",
            "lxdhost:hostNetwork": self.host_network,
            "lxdhost:lxdInit": self.lxd_init,
            "lxdhost:bringUp": self.bring_up,
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
    # The same two, with br0 brought up in place instead of at a reboot.
    Variant(
        id="netplan-preseed-in-place",
        host_network="netplan",
        lxd_init="preseed",
        bring_up="in-place",
    ),
    Variant(
        id="ifupdown-module-in-place",
        host_network="ifupdown",
        lxd_init="module",
        bring_up="in-place",
    ),
)


@dataclass
class Figures:
    """Seconds since qemu started, per milestone; printed per variant."""

    first_boot_done: float | None = None
    second_boot_done: float | None = None  # the reboot's; none when br0 comes up in place
    host_ready: float | None = None  # SSH answers on br0's address, the boot that needs it done
    container_reached_gateway: float | None = None

    def line(self, variant: str) -> str:
        def show(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} s"

        return (
            f"boot figures [{variant}] from qemu start:"
            f" first boot done {show(self.first_boot_done)}"
            f", second boot done {show(self.second_boot_done)}"
            f", host ready {show(self.host_ready)}"
            f", first container reached the gateway {show(self.container_reached_gateway)}"
        )


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
    import_started: bool = False  # the container image's import began while the host came up


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

    @classmethod
    def new(cls, variant: Variant, figures: Figures) -> Launch:
        """A launch of host 0 of the variant's stack, in a folder of its own."""
        return cls(
            variant=variant,
            server=server_for(variant),
            workdir=Path(tempfile.mkdtemp(prefix=f"lxdhost-boot-{variant.id}-")),
            figures=figures,
        )

    def prepare(self, container_image: image.ContainerImage, ssh_key: Path) -> None:
        """Build (or take from the cache) the variant's image, then start its VM."""
        built = image.build_host_image(self.variant.host_network, container_image)
        if built.build_seconds:
            print(f"\nbuilt the {self.variant.id} host image in {built.build_seconds:.0f} s")
        gateway = self.server.subnet.gateway_ip
        if gateway != image.NOCLOUD.mirror_host:
            raise AssertionError(
                f"the image's mirror is at {image.NOCLOUD.mirror_host}, "
                f"the test stack's gateway is {gateway}"
            )
        self.start(built, ssh_key)

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

    def close(self, keep: Path | None = None) -> None:
        """Stop the VM and its network; copy its folder into `keep` (or $LXDHOST_BOOT_KEEP)."""
        if self.guest is not None:
            self.guest.close()
            self.guest = None
        if self.network is not None:
            self.network.close()
            self.network = None
        kept = keep or os.environ.get("LXDHOST_BOOT_KEEP")
        if kept and self.workdir.exists():
            # For a failure's post-mortem: serial log, seed, disk overlay.
            shutil.copytree(self.workdir, Path(kept) / self.variant.id, dirs_exist_ok=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Launcher:
    """The variants' VMs, started in order with at most `at_once` running.

    A variant whose image or network fails to come up records its error, raised when its host
    is asked for. `release` stops a variant's VM and starts the next one's.
    """

    def __init__(
        self,
        variants: Sequence[Variant],
        container_image: image.ContainerImage,
        ssh_key: Path,
        figures: dict[str, Figures],
        at_once: int = 2,
    ) -> None:
        self.variants = list(variants)
        self.container_image = container_image
        self.ssh_key = ssh_key
        self.figures = figures
        self.at_once = at_once
        self.started: dict[str, Launch | BaseException] = {}
        self.running: set[str] = set()

    def _fill(self) -> None:
        for variant in self.variants:
            if len(self.running) >= self.at_once:
                return
            if variant.id in self.started:
                continue
            self.started[variant.id] = self._start(variant)

    def _start(self, variant: Variant) -> Launch | BaseException:
        launch = Launch.new(variant, self.figures.setdefault(variant.id, Figures()))
        try:
            launch.prepare(self.container_image, self.ssh_key)
        except Exception as error:  # reported by this variant's tests
            launch.close()
            return error
        self.running.add(variant.id)
        return launch

    def get(self, variant: Variant) -> Launch:
        self._fill()
        if variant.id not in self.started:
            # Asked out of order: make room by starting it now.
            self.started[variant.id] = self._start(variant)
        outcome = self.started[variant.id]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def release(self, variant: Variant) -> None:
        outcome = self.started.get(variant.id)
        if isinstance(outcome, Launch):
            outcome.close()
        self.running.discard(variant.id)
        self._fill()

    def close(self) -> None:
        for outcome in self.started.values():
            if isinstance(outcome, Launch):
                outcome.close()
        self.running.clear()


def bring_up(launch: Launch, log: bool = True) -> BootedHost:
    """Wait for the boots the variant needs (one, or two with the reboot) and for SSH."""
    variant, guest, network, figures = launch.variant, launch.guest, launch.network, launch.figures
    if guest is None or network is None:
        raise RuntimeError(f"{variant.id}: the VM is not running")
    figures.first_boot_done = guest.wait_for_boot(1, FIRST_BOOT_TIMEOUT)
    if log:
        print(f"\n[{variant.id}] first boot done at {figures.first_boot_done:.0f} s", flush=True)
    if variant.boots_to_ready == 2:
        figures.second_boot_done = guest.wait_for_boot(2, FIRST_BOOT_TIMEOUT + SECOND_BOOT_TIMEOUT)
        if log:
            print(
                f"[{variant.id}] second boot done at {figures.second_boot_done:.0f} s", flush=True
            )
    guest.wait_for_ssh(launch.server.port.fixed_ip, SSH_TIMEOUT)
    figures.host_ready = guest.elapsed()
    if log:
        print(f"[{variant.id}] host ready at {figures.host_ready:.0f} s", flush=True)
    return BootedHost(
        variant=variant,
        server=launch.server,
        network=network,
        guest=guest,
        tap=TAP,
        figures=figures,
    )

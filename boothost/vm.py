"""A qemu guest booted like a Nova server: NoCloud seed, virtio disk, a NIC on the port's tap.

The guest runs inside the tenant network's namespace, so its NIC is a tap on the tenant bridge
with the port's MAC at PCI address 3 (the guest names it `ens3`, as OpenStack's KVM guests do).
The host image stays untouched: each boot writes to a qcow2 overlay. The serial console goes to
a file whose markers time the boots; commands reach the guest over SSH from the namespace, with
a key the test makes and hands in through the NoCloud meta-data, as Nova's metadata would.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hostimage import HostImage

from .tenant import NeutronLikeNetwork

# cloud-init's final stage prints this on the console when a boot's modules are done; its
# first stage, the other, when a boot's cloud-init begins.
FINISHED = re.compile(r"Cloud-init v\. \S+ finished at ")
STARTED = re.compile(r"Cloud-init v\. \S+ running 'init-local' ")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class GuestSpec:
    """The server: its user-data and meta-data, its port's MAC, its size."""

    user_data: str
    meta_data: str
    mac_address: str
    memory_mib: int = 2048
    cpus: int = 2


def meta_data(instance_id: str, hostname: str, public_key: str) -> str:
    """NoCloud meta-data carrying what Nova's metadata service would: id, name, key pair."""
    return (
        f"instance-id: {instance_id}\nlocal-hostname: {hostname}\npublic-keys:\n  - {public_key}\n"
    )


def qemu_argv(
    image: HostImage, overlay: Path, seed: Path, *, serial: Path, tap: str, spec: GuestSpec
) -> list[str]:
    # KVM hangs on these machines; TCG is slower but dependable.
    return [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        "-m",
        str(spec.memory_mib),
        "-smp",
        str(spec.cpus),
        # No default devices (CD-ROM, floppy, VGA): probing them costs seconds under TCG.
        "-nodefaults",
        "-display",
        "none",
        "-serial",
        f"file:{serial}",
        "-kernel",
        str(image.kernel),
        "-initrd",
        str(image.initrd),
        "-append",
        # quiet: the emulated UART is slow, and cloud-init still prints its stages on it.
        "console=ttyS0 root=/dev/vda rw panic=10 quiet",
        "-drive",
        f"file={overlay},if=none,id=root,format=qcow2",
        "-device",
        "virtio-blk-pci,drive=root,addr=4",
        "-drive",
        f"file={seed},if=none,id=seed,format=raw,readonly=on",
        "-device",
        "virtio-blk-pci,drive=seed,addr=5",
        "-netdev",
        f"tap,id=n0,ifname={tap},script=no,downscript=no",
        "-device",
        f"virtio-net-pci,netdev=n0,addr=3,mac={spec.mac_address}",
    ]


class GuestError(AssertionError):
    """The guest did not do what the test waited for; the message has the serial log's tail."""


class Guest:
    """One qemu process; `close()` stops it."""

    def __init__(
        self,
        network: NeutronLikeNetwork,
        tap: str,
        image: HostImage,
        spec: GuestSpec,
        *,
        workdir: Path,
        ssh_key: Path,
    ) -> None:
        self.network = network
        self.workdir = workdir
        self.serial = workdir / "serial.log"
        self.ssh_key = ssh_key
        self.address: str | None = None
        overlay = workdir / "overlay.qcow2"
        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "raw",
                "-b",
                str(image.disk),
                str(overlay),
            ],
            check=True,
        )
        (workdir / "user-data").write_text(spec.user_data)
        (workdir / "meta-data").write_text(spec.meta_data)
        seed = workdir / "seed.img"
        subprocess.run(
            ["cloud-localds", str(seed), str(workdir / "user-data"), str(workdir / "meta-data")],
            check=True,
        )
        self.serial.write_text("")
        self.started = time.monotonic()
        self._qemu = subprocess.Popen(
            network.exec_argv(
                qemu_argv(image, overlay, seed, serial=self.serial, tap=tap, spec=spec)
            ),
            stdout=(workdir / "qemu.out").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.boots_finished_at: list[float] = []
        threading.Thread(target=self._watch_boots, daemon=True).start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def serial_text(self) -> str:
        return self.serial.read_text(errors="replace")

    def serial_tail(self, lines: int = 60) -> str:
        """The console's last lines, without colour codes, progress spinners or blank lines."""
        text = ANSI_ESCAPE.sub("", self.serial_text().replace("\r", "\n"))
        kept = [line for line in text.splitlines() if line.strip() and "Job " not in line]
        return "\n".join(kept[-lines:])

    def fail(self, message: str) -> GuestError:
        return GuestError(
            f"{message} ({self.elapsed():.0f} s after qemu started)\n"
            f"--- serial console, last lines:\n{self.serial_tail()}\n"
            f"{self.network.log_tail()}"
        )

    def _watch_boots(self) -> None:
        # Runs beside the tests: a variant's guest boots while another variant is tested, and
        # its figures must be when each boot ended, not when a test looked.
        while self._qemu.poll() is None:
            seen = len(FINISHED.findall(self.serial_text()))
            while len(self.boots_finished_at) < seen:
                self.boots_finished_at.append(self.elapsed())
            time.sleep(1)

    def boots_started(self) -> int:
        """How many boots cloud-init has begun, from the console."""
        return len(STARTED.findall(self.serial_text()))

    def wait_for_boot(self, number: int, timeout: float) -> float:
        """Wait for the end of boot `number` (cloud-init finished); seconds after qemu started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.boots_finished_at) >= number:
                return self.boots_finished_at[number - 1]
            if self._qemu.poll() is not None:
                raise self.fail(f"qemu exited with {self._qemu.returncode}")
            time.sleep(2)
        raise self.fail(f"boot {number} did not finish within {timeout:.0f} s")

    def wait_for_ssh(self, address: str, timeout: float) -> None:
        self.address = address
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            result = self._ssh("true", timeout=20)
            if result.returncode == 0:
                return
            last = result.stderr.strip()
            time.sleep(3)
        raise self.fail(f"no SSH to root@{address} within {timeout:.0f} s: {last}")

    def _ssh(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        if self.address is None:
            raise self.fail("the guest's address is not known yet")
        argv = self.network.exec_argv(
            [
                "ssh",
                "-i",
                str(self.ssh_key),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                f"root@{self.address}",
                command,
            ]
        )
        try:
            return subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout} s")

    def ssh(self, command: str, timeout: float = 120) -> str:
        """Run a shell command as root in the guest; its stdout, or a failure with the console."""
        result = self._ssh(command, timeout)
        if result.returncode != 0:
            raise self.fail(
                f"guest command failed ({result.returncode}): {command}\n"
                f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
            )
        return result.stdout

    def ssh_status(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command whose failure is an answer, not an error (a ping that must not pass)."""
        return self._ssh(command, timeout)

    def close(self) -> None:
        if self._qemu.poll() is None:
            self._qemu.terminate()
            try:
                self._qemu.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._qemu.kill()
                self._qemu.wait(timeout=20)

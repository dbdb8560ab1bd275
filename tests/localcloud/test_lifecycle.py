"""`down` leaves nothing behind, and `up` after `down` needs no reinstall.

Runs in the machine's own namespace (it removes the cloud's): scripts/test-local-cloud runs it
after the API suites, with a server running, so that `down` has a guest to stop too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import SETTINGS, TOP

pytestmark = pytest.mark.localcloud

SCRIPT = TOP / "scripts/local-cloud"


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in argv], capture_output=True, text=True, check=False)


def in_cloud(*argv: str) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", SETTINGS["LC_NS"], *argv)


def openstack_run(*argv: str) -> subprocess.CompletedProcess[str]:
    """An openstack command as the project's user, whatever its outcome."""
    return in_cloud("openstack", "--os-cloud", SETTINGS["LC_CLOUD"], *argv)


def openstack(*argv: str) -> str:
    """An openstack command as the project's user that must succeed; its answer as a value."""
    value = ("-f", "value") if "-c" in argv else ()
    result = openstack_run(*argv, *value)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def started_processes() -> dict[int, str]:
    """Every process the cloud runs: its recorded daemons, and what they started on their own."""
    processes = {}
    for pid_file in Path(SETTINGS["LC_RUN"]).glob("*.pid"):
        # "PID START": the start time tells a reused PID from ours (scripts/local-cloud).
        pid = int(pid_file.read_text().split()[0])
        processes[pid] = pid_file.stem
        # Its workers too (neutron-server's, uwsgi's, rabbitmq's Erlang VM).
        for child in descendants(pid):
            processes[child] = f"{pid_file.stem} worker"
    for line in run("ps", "-eo", "pid=,args=").stdout.splitlines():
        pid_text, _, args = line.strip().partition(" ")
        if (
            re.search(r"privsep-helper.*--config-file /etc/(neutron|nova)/", args)
            or re.search(r"qemu-system-x86_64.*guest=instance-", args)
            or re.search(r"^(dnsmasq|haproxy) .*neutron", args)
        ):
            processes[int(pid_text)] = args.split()[0]
    return processes


def descendants(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:  # the task ended meanwhile
            continue
    return [*children, *(grandchild for child in children for grandchild in descendants(child))]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def timed(*argv: str | Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run(*argv)
    return result, time.monotonic() - started


@pytest.fixture
def running_server() -> Iterator[None]:
    """A server on a network of its own, deleted at the end (the cloud is up again by then)."""
    network = openstack("network", "create", "lifecycle", "-c", "id")
    try:
        openstack(
            "subnet",
            "create",
            "--network",
            network,
            "--subnet-range",
            "192.168.9.0/24",
            "lifecycle",
            "-c",
            "id",
        )
        openstack(
            "server",
            "create",
            "--image",
            SETTINGS["LC_IMAGE"],
            "--flavor",
            SETTINGS["LC_FLAVOR"],
            "--network",
            network,
            "--wait",
            "lifecycle",
            "-c",
            "id",
        )
        yield
    finally:
        if run(SCRIPT, "status").returncode == 0:
            openstack_run("server", "delete", "--wait", "lifecycle")
            openstack_run("network", "delete", network)
            gone = openstack_run("network", "show", network)
            assert gone.returncode != 0, f"network {network} was not deleted"


def test_down_stops_everything_and_up_brings_the_cloud_back(running_server: None) -> None:
    assert run("ip", "netns", "identify").stdout.strip() == "", "run outside the cloud's namespace"
    before = started_processes()
    assert any("qemu" in name for name in before.values()), before
    assert any("dnsmasq" in name for name in before.values()), before

    down, down_seconds = timed(SCRIPT, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    left = {pid: name for pid, name in before.items() if alive(pid)}
    assert left == {}
    namespaces = run("ip", "netns", "list").stdout
    assert not re.search(rf"^({SETTINGS['LC_NS']}|qdhcp-|qrouter-)", namespaces, re.M), namespaces
    links = run("ip", "-o", "link").stdout
    assert not re.search(r": (brq|tap|vxlan-|lcext|lcvx)", links), links
    assert "neutron" not in run("iptables-save").stdout
    assert "neutron" not in run("ebtables-save").stdout
    status = run(SCRIPT, "status")
    assert status.returncode == 3 and "down" in status.stdout

    up, up_seconds = timed(SCRIPT, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "installing" not in up.stdout
    status = run(SCRIPT, "status")
    assert status.returncode == 0, status.stdout
    again, again_seconds = timed(SCRIPT, "up")
    assert again.returncode == 0 and "already up" in again.stdout
    print(
        f"\ndown {down_seconds:.0f} s, up after down {up_seconds:.0f} s, "
        f"up on a running cloud {again_seconds:.0f} s"
    )

    openstack("server", "delete", "--wait", "lifecycle")
    openstack("network", "delete", "lifecycle")


def test_up_after_its_state_directory_is_deleted_brings_the_cloud_back() -> None:
    """The state directory (password, SSH key, set-up markers) deleted while the databases stay:
    `up` makes a new one and brings the databases, Nova's cell mappings among them, to it."""
    state = Path(SETTINGS["LC_STATE"])
    aside = state.with_name(state.name + ".before-test")
    old_password = (state / "password").read_text()
    old_key = (state / "id_ed25519.pub").read_text()
    down = run(SCRIPT, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    shutil.rmtree(aside, ignore_errors=True)
    state.rename(aside)

    up, up_seconds = timed(SCRIPT, "up")
    assert up.returncode == 0, f"{up.stdout}{up.stderr}\n(the old state directory: {aside})"
    assert (state / "password").read_text() != old_password
    key = (state / "id_ed25519.pub").read_text()
    assert key != old_key
    # Keystone took the new password, Nova reaches its cells' databases (`up` ran
    # `nova-manage cell_v2 discover_hosts`, which opens each), and the key pair is the new key.
    keypair = openstack("keypair", "show", SETTINGS["LC_KEYPAIR"], "--public-key")
    assert keypair.split()[:2] == key.split()[:2]
    cells = in_cloud(
        "setpriv", "--reuid=nova", "--regid=nova", "--init-groups", "--",
        "nova-manage", "cell_v2", "list_cells",
    )  # fmt: skip
    assert cells.returncode == 0, cells.stderr
    names = [row.split("|")[1].strip() for row in cells.stdout.splitlines() if "| cell" in row]
    assert names == ["cell0", "cell1"], cells.stdout
    openstack("server", "list")
    shutil.rmtree(aside)
    print(f"\nup with a new state directory {up_seconds:.0f} s")

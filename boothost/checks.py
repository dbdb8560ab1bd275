"""What the boot test asks of a booted host, shared with the soak script and the benchmark.

Queries run over SSH in the guest (`lxc`, `ip`, cloud-init's log); the `check_` functions raise
AssertionError naming what was wrong.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import time
from typing import Any

import yaml

from hostimage.build import CONTAINER_IMAGE_PATH

from .launch import LATER_BOOT_TIMEOUT, SSH_TIMEOUT, BootedHost

IMAGE_ALIAS = "boot-test"
CONTAINER_CLOUD_INIT_TIMEOUT = 300
CONTAINER_RESTART_TIMEOUT = 180
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


IMPORT_UNIT = "lxdhost-image-import"
IMPORT_TIMEOUT = 600
IMPORT_LOADED = f'[ "$(systemctl show --property LoadState --value {IMPORT_UNIT})" = loaded ]'
# Started in the background, so that a connection the bring-up drops cannot stop it. Once
# started, asking again answers yes: an answer lost to a slow or dropped connection must not
# start a second import, nor leave the first unknown.
START_IMPORT = (
    f"lxc info >/dev/null 2>&1 && {{ {IMPORT_LOADED} || systemd-run --quiet --unit {IMPORT_UNIT} "
    "--property Type=oneshot --remain-after-exit "
    f"lxc image import {CONTAINER_IMAGE_PATH} --alias {IMAGE_ALIAS}; }}"
)


def ensure_image(host: BootedHost) -> None:
    """The container image is in LXD: imported now, or waited for if it was started early."""
    if host.image_imported:
        return
    # An early start whose answer was lost still left its unit behind.
    started = host.import_started or host.guest.ssh_status(IMPORT_LOADED).returncode == 0
    if not started:
        host.guest.ssh(f"lxc image import {CONTAINER_IMAGE_PATH} --alias {IMAGE_ALIAS}", 600)
    else:
        deadline = time.monotonic() + IMPORT_TIMEOUT
        state: dict[str, str] = {}
        # A oneshot unit is "activating" while its command runs.
        while time.monotonic() < deadline:
            shown = host.guest.ssh(f"systemctl show --property ActiveState,Result {IMPORT_UNIT}")
            state = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
            if state.get("ActiveState") != "activating":
                break
            time.sleep(2)
        if state != {"ActiveState": "active", "Result": "success"}:
            journal = host.guest.ssh_status(f"journalctl --no-pager -u {IMPORT_UNIT}").stdout
            raise host.guest.fail(f"the early image import ended {state}:\n{journal[-2000:]}")
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


def running(state: list[dict[str, Any]]) -> bool:
    return [c.get("status") for c in state] == ["Running"]


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


def check_cloud_init(host: BootedHost, boots: int) -> None:
    """cloud-init is done, ran on `boots` boots, and logged no warning or error on any."""
    status = host.guest.ssh("cloud-init status --long", 60)
    assert "status: done" in status, status
    log = host.guest.ssh("cat /var/log/cloud-init.log", 60)
    starts = [m.start() for m in BOOT_SECTION.finditer(log)]
    assert len(starts) == boots, f"expected {boots} boots in cloud-init.log, saw {len(starts)}"
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(log)], strict=True), 1):
        problems = [line for line in log[start:end].splitlines() if LOG_PROBLEM.search(line)]
        assert not problems, f"boot {number}: cloud-init logged\n" + "\n".join(problems)


def check_bridge(booted_host: BootedHost) -> None:
    """br0 holds ens3, the port's MAC and its leased address, all at the network's MTU."""
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


def check_lxd(booted_host: BootedHost) -> None:
    """LXD has a pool, a default profile on br0, and a slot profile per address pair."""
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


def first_container_reaches_the_gateway(host: BootedHost, name: str = "slot-container") -> None:
    """Launch a container on the first slot profile and wait until it pings the gateway."""
    slots = slot_profiles(host)
    slot = sorted(slots)[0]
    launch(host, name, ["default", slot], {})
    gateway = host.server.subnet.gateway_ip
    if not pings(host, name, gateway, REACH_ATTEMPTS):
        hwaddr, address = slot_address(slots[slot])
        raise AssertionError(f"{slot} ({hwaddr}, {address}) cannot reach the gateway {gateway}")


def check_after_reboot(host: BootedHost, container: str) -> None:
    """Reboot the host once more: it comes back the same, `container` running on its slot."""
    guest = host.guest
    boots = host.variant.boots_to_ready + 1
    # The connection drops as the guest goes down: its answer says nothing.
    guest.ssh_status("systemctl reboot", 30)
    guest.wait_for_boot(boots, LATER_BOOT_TIMEOUT)
    guest.wait_for_ssh(host.server.port.fixed_ip, SSH_TIMEOUT)
    check_cloud_init(host, boots)
    check_bridge(host)
    check_lxd(host)
    # LXD starts again what was running when the host went down; its address comes back with
    # the container's own network configuration.
    # The slot's MAC is the profile's, so it shows in the expanded config, not the volatile one.
    expanded = yaml.safe_load(guest.ssh(f"lxc config show {container} --expanded"))
    hwaddr = str(expanded.get("devices", {}).get("eth0", {}).get("hwaddr", ""))
    expected = {mac: address for mac, address in map(slot_address, slot_profiles(host).values())}
    address = expected.get(hwaddr)
    assert address, f"{container} has MAC {hwaddr!r}, which is no slot's"
    deadline = time.monotonic() + CONTAINER_RESTART_TIMEOUT
    state: list[dict[str, Any]] = []
    held: list[str] = []
    while time.monotonic() < deadline:
        state = json.loads(guest.ssh(f"lxc list {container} --format json"))
        held = ipv4_of(host, container) if running(state) else []
        if held == [address]:
            break
        time.sleep(3)
    assert running(state), f"{container} after the reboot: {state}"
    assert held == [address], f"{container} holds {held}, its slot's address is {address}"
    gateway = host.server.subnet.gateway_ip
    assert pings(host, container, gateway, REACH_ATTEMPTS), (
        f"after the reboot {container} cannot reach the gateway {gateway}"
    )

"""The whole life of stack `local` on the local cloud, driven through Pulumi's Automation API.

The suite runs the project's own CLI (scripts/install-pulumi) on a copy of the checkout with its
own `.pulumi-state`, as pulumi/providertest does: each step is followed by assertions on what
the engine reports (its change summary) and on what the cloud reports (openstacksdk), not on
terminal text. It needs the local cloud up (scripts/test-lifecycle brings it up) and destroys
what it made, whether it passed or not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openstack
import pytest
import yaml
from openstack.connection import Connection
from pulumi import automation as auto

from localcloud.harness import copy_checkout, local_cloud_settings
from localcloud.harness import pulumi_environment as harness_environment
from tests.localcloud.conftest import cloud

TOP = Path(__file__).resolve().parents[2]
STACK = "local"
PASSPHRASE = "local"  # Pulumi.local.yaml's salt is for this passphrase


SETTINGS = local_cloud_settings()
__all__ = ["cloud"]  # the project's member user on the local cloud's APIs, shared with its suite


def project_contents(cloud: Connection) -> dict[str, list[str]]:
    """What the project holds beyond what `scripts/local-cloud up` made, by kind; no empty kind."""
    project = cloud.current_project_id
    network = cloud.network
    held = {
        "servers": [s.name for s in cloud.compute.servers()],
        "ports": [p.id for p in network.ports(project_id=project)],
        "networks": [n.name for n in network.networks(project_id=project)],
        "subnets": [s.name for s in network.subnets(project_id=project)],
        "routers": [r.name for r in network.routers(project_id=project)],
        "floating IPs": [f.floating_ip_address for f in network.ips(project_id=project)],
        "security groups": [
            g.name for g in network.security_groups(project_id=project) if g.name != "default"
        ],
        # The local cloud's own key pair is not a stack's.
        "key pairs": [k.name for k in cloud.compute.keypairs() if k.name != SETTINGS["LC_KEYPAIR"]],
    }
    return {kind: names for kind, names in held.items() if names}


@pytest.fixture(scope="session", autouse=True)
def empty_project(cloud: Connection) -> None:
    """The suite counts what its stacks leave, so it starts only in an empty project: what an
    earlier run or a user's stack left there is named, not deleted behind their back."""
    held = project_contents(cloud)
    if held:
        pytest.exit(
            f"the local cloud's project {SETTINGS['LC_PROJECT']} holds what the suite did not "
            f"make: {json.dumps(held)}; destroy the stacks that made it, or delete it all with "
            "`scripts/local-cloud clear`",
            returncode=1,
        )


def pulumi_environment() -> dict[str, str]:
    """`scripts/pulumi-env`'s environment, with the local stack's passphrase."""
    return harness_environment(PASSPHRASE)


@dataclass
class LocalStack:
    """Stack `local` in a copy of the checkout, and the figures its steps took."""

    stack: auto.Stack
    path: Path
    figures: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    # What the last timed step did to each resource it did not leave the same, as
    # `OP NAME (KEYS)`: an assertion on a change summary names them when it fails.
    stepped: list[str] = field(default_factory=list)

    def timed(self, name: str, step: Any, **options: Any) -> Any:
        began = time.monotonic()
        caller = options.pop("on_event", None)
        self.stepped = []

        def on_event(event: auto.EngineEvent) -> None:
            self.stepped.extend(step_of(event))
            if caller is not None:
                caller(event)

        try:
            return step(on_output=print, on_event=on_event, color="never", **options)
        finally:
            # A step that fails is timed too: how long until the cloud refused is a figure.
            self.figures[name] = time.monotonic() - began
            stepped = "; ".join(self.stepped) or "no change"
            print(f"---- {name}: {self.figures[name]:.1f} s; {stepped}")

    def outputs(self) -> dict[str, Any]:
        return {name: output.value for name, output in self.stack.outputs().items()}

    def since_up(self, name: str) -> None:
        self.figures[name] = time.monotonic() - self.started
        print(f"---- {name}: {self.figures[name]:.1f} s after `pulumi up` started")

    def cli(
        self, *arguments: str, check: bool = True, capture: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`pulumi ARGUMENTS` on this stack, for a command the Automation API has no method for
        (`pulumi state unprotect`); with `capture`, its output is kept instead of shown."""
        environment = pulumi_environment()
        return subprocess.run(
            ["pulumi", *arguments, "--stack", self.stack.name, "--non-interactive"],
            cwd=self.path, env={**os.environ, **environment}, check=check,
            capture_output=capture, text=True,
        )  # fmt: skip

    def resource_names(self) -> set[str]:
        """The names of the resources the stack's state holds."""
        resources = self.stack.export_stack().deployment.get("resources") or []
        return {resource["urn"].rsplit("::", 1)[1] for resource in resources}


def step_of(event: auto.EngineEvent) -> list[str]:
    """A resource's step, as `OP NAME (KEYS)`, from the engine's event that ends it; none for a
    resource left the same, for a default provider (the engine's summary leaves them out: their
    inputs are the stack's configuration), or for any other event."""
    if event.res_outputs_event is None:
        return []
    step = event.res_outputs_event.metadata
    op = str(getattr(step.op, "value", step.op))
    name = step.urn.rsplit("::", 1)[1]
    default_provider = step.type.startswith("pulumi:providers:") and name.startswith("default")
    if op == "same" or default_provider:
        return []
    keys = f" ({', '.join(step.diffs)})" if step.diffs else ""
    return [f"{op} {name}{keys}"]


def changes(counts: Mapping[str, int] | None) -> dict[str, int]:
    """An engine's change summary, without the resources it left the same."""
    return {op: n for op, n in (counts or {}).items() if op != "same" and n}


def host_warnings(events: list[auto.EngineEvent], host_name: str) -> list[str]:
    """The engine's warnings about this LXD host, as its diagnostics events carry them."""
    return [
        event.diagnostic_event.message.strip()
        for event in events
        if event.diagnostic_event is not None
        and event.diagnostic_event.severity == "warning"
        and f"LXD host {host_name} " in event.diagnostic_event.message
    ]


def host_servers(cloud: Connection, host: str) -> list[Any]:
    """The project's servers named after the host (Nova matches the name as a regex)."""
    return list(cloud.compute.servers(name=f"^{host}$"))


def host_ports(cloud: Connection, host: str) -> list[str]:
    """The ids of the project's ports named after the host."""
    return [p.id for p in cloud.network.ports(name=host, project_id=cloud.current_project_id)]


REPLACING_OPS = {"replace", "create-replacement", "delete-replaced"}


def engine_steps(events: list[auto.EngineEvent]) -> dict[str, str]:
    """Each cloud resource's step in a preview, by name: `replace` or the op, `same` left out.
    Components are left out: their inputs reach no cloud (the offline diff leaves them out too)."""
    steps: dict[str, set[str]] = {}
    for event in events:
        pre = event.resource_pre_event
        if pre is None or pre.metadata.type.startswith(("lxdhost:", "pulumi:")):
            continue
        steps.setdefault(pre.metadata.urn.rsplit("::", 1)[1], set()).add(pre.metadata.op.value)
    return {
        name: "replace" if ops & REPLACING_OPS else ops.pop()
        for name, ops in steps.items()
        if ops != {"same"}
    }


# The settings of a stack whose hosts' LXD is set up by their user_data alone (no API, no
# containers): the suites about something else wait for no host's LXD.
USER_DATA_LXD = {"lxdhost:lxdManagement": "user-data"}

# Seconds from `up` to cloud-init's end on a host of the libvirt compute host: TCG on two shared
# cores, and the reboot bring-up's second boot.
READY_TIMEOUT = 900

# Below the tenant network's 1450 (VXLAN), which Neutron's DHCP sends: the stack's must win on
# the host's NIC, its bridge and the containers.
MTU = 1400


@contextmanager
def stack_on_local_cloud(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    config: Mapping[str, str],
    base: str = STACK,
) -> Iterator[LocalStack]:
    """Stack `name`: its own committed stack file, or else stack `base`'s settings, and
    `config`, in a copy of the checkout; destroyed when the block ends, whatever happened."""
    environment = pulumi_environment()
    if shutil.which("pulumi", path=environment["PATH"]) is None:
        raise AssertionError(
            "no pulumi on PATH after scripts/pulumi-env: run scripts/install-pulumi"
        )
    path = tmp_path_factory.mktemp(name) / "project"
    copy_checkout(path)
    if not (path / f"Pulumi.{name}.yaml").exists():
        shutil.copy2(path / f"Pulumi.{base}.yaml", path / f"Pulumi.{name}.yaml")
    # The Automation API runs the CLI it finds on this process's PATH.
    saved = dict(os.environ)
    os.environ.update(environment)
    try:
        stack = auto.create_or_select_stack(
            name,
            work_dir=str(path),
            opts=auto.LocalWorkspaceOptions(env_vars=environment),
        )
        # `path`: a key such as `lxdhost:packages[0]` sets an array's item.
        stack.set_all_config(
            {key: auto.ConfigValue(value) for key, value in config.items()}, path=True
        )
        if config.get("lxdhost:lxdManagement") == "user-data":
            # Pulumi.local.yaml's containers are made through LXD's API only.
            stack.remove_config("lxdhost:containers")
        local = LocalStack(stack, path)
        try:
            yield local
        finally:
            stack.destroy(on_output=print, color="never")
            print("figures:", json.dumps({k: round(v, 1) for k, v in local.figures.items()}))
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def admin() -> Iterator[Connection]:
    """The local cloud's admin: quotas, and where Nova put a server."""
    connection = openstack.connect(cloud=SETTINGS["LC_CLOUD_ADMIN"], load_envvars=False)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with stack_on_local_cloud(tmp_path_factory, STACK, {"lxdhost:mtu": str(MTU)}) as local:
        yield local


@dataclass(frozen=True)
class Host:
    """One host of the stack as its outputs give it, reachable over SSH from this machine."""

    name: str
    fixed_ip: str
    floating_ip: str
    slots: list[dict[str, str]]

    def ssh_status(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The command's result; a connection the host's reboot drops or stalls exits 255."""
        arguments = [
            "ssh", "-i", f"{SETTINGS['LC_STATE']}/id_ed25519",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
            f"debian@{self.floating_ip}", command,
        ]  # fmt: skip
        try:
            return subprocess.run(
                arguments, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as expired:
            return subprocess.CompletedProcess(arguments, 255, "", f"timed out: {expired}")

    def ssh(self, command: str, timeout: float = 120) -> str:
        result = self.ssh_status(command, timeout)
        if result.returncode != 0:
            raise AssertionError(
                f"{self.name}: `{command}` exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout


def hosts_of(outputs: dict[str, Any]) -> list[Host]:
    return [
        Host(
            name,
            host["fixedIp"],
            host["floatingIp"],
            [{"name": slot, **value} for slot, value in sorted(host["containerSlots"].items())],
        )
        for name, host in sorted(outputs["hosts"].items())
    ]


def wait_until_ready(local: LocalStack, host: Host, timeout: float = READY_TIMEOUT) -> None:
    """SSH, then cloud-init done (across the reboot bring-up's reboot), with no warning or
    error in cloud-init's log."""
    wait_for(f"{host.name}: SSH", lambda: host.ssh_status("true", 30).returncode == 0, timeout)
    host.ssh_status("cloud-init status --wait --long", timeout)
    # The reboot bring-up ends the first boot's connection: wait again after it.
    wait_for(
        f"{host.name}: cloud-init done",
        lambda: "status: done" in host.ssh_status("cloud-init status", 30).stdout,
        timeout,
    )
    local.since_up(f"{host.name} ready")
    status = host.ssh_status("cloud-init status --long")
    assert "status: done" in status.stdout, status.stdout
    problems = host.ssh(
        "sudo grep -E '\\[(WARNING|ERROR|CRITICAL)\\]' /var/log/cloud-init.log || true"
    )
    assert problems == "", problems


def assert_bridged(host: Host, cloud: Connection, mtu: int, nic: str = "ens3") -> None:
    """`br0` holds the host's address and its port's MAC, with `nic` (the port's NIC, as the
    guest named it) as its member; both at `mtu`, below the MTU Neutron's DHCP sends; LXD's
    default profile on br0."""
    port = port_of(cloud, host.fixed_ip)
    bridge = json.loads(host.ssh("ip -j addr show dev br0"))[0]
    assert bridge["address"] == port.mac_address
    addresses = [a["local"] for a in bridge["addr_info"] if a["family"] == "inet"]
    assert addresses == [host.fixed_ip]
    links = {link["ifname"]: link for link in json.loads(host.ssh("ip -j link show"))}
    assert nic in links, sorted(links)
    assert links[nic].get("master") == "br0", links[nic]
    assert links[nic]["address"] == port.mac_address
    network_mtu = cloud.network.get_network(port.network_id).mtu
    assert network_mtu > mtu
    assert (links[nic]["mtu"], links["br0"]["mtu"]) == (mtu, mtu)
    default = yaml.safe_load(host.ssh("sudo lxc profile show default"))
    assert default["devices"]["eth0"]["parent"] == "br0"


def port_of(cloud: Connection, fixed_ip: str) -> Any:
    """The project's one port holding `fixed_ip`."""
    ports = list(cloud.network.ports(fixed_ips=f"ip_address={fixed_ip}"))
    assert len(ports) == 1, f"ports holding {fixed_ip}: {[p.id for p in ports]}"
    return ports[0]


def wait_for(what: str, check: Any, timeout: float, interval: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")

"""An `up` killed while Nova builds a host's server, and the runbook that finishes it
(docs/troubleshooting.md, "An `up` that was killed"), on the local cloud.

A killed CLI (a lost CI runner, a rebooted machine; not Ctrl-C, which lets the engine finish
what it started) leaves two things behind on a file backend: the update's lock on the stack,
and the creates it had started, as pending operations in the state. A pending create is not a
resource of the state: a plain `up` would boot the server again beside the one Nova built. The
runbook: `pulumi cancel`; delete what the cloud made for each pending create (here the server);
`pulumi refresh --clear-pending-creates`; then `up`, which makes it again. (`refresh
--import-pending-creates` with the server's URN and id was tried first: this CLI, 3.259.0,
dropped the pending create and added no resource, so the next `up` would boot a second server.)

The kill point is the test's own. `up` runs one step at a time (`--parallel 1`), and the kill
lands once the CLI's event log shows the server's create begun and Nova lists the server: the
server is then the one pending create, and Nova has it. Stack `scale`'s settings with one host,
on the fake compute host (marker `scale`): Nova builds the server in seconds, with no guest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openstack.connection import Connection
from pulumi import automation as auto

from .conftest import (
    SETTINGS,
    LocalStack,
    changes,
    engine_steps,
    host_ports,
    host_servers,
    pulumi_environment,
    stack_on_local_cloud,
    wait_for,
)

pytestmark = [pytest.mark.lifecycle, pytest.mark.scale]

STACK = "interrupted"
HOST = "lxd-1"
SERVER_TYPE = "openstack:compute/instance:Instance"
KILL_TIMEOUT = 180  # seconds for `up` to reach the server's create, and Nova to list it


@pytest.fixture(scope="module")
def interrupted_stack(
    tmp_path_factory: pytest.TempPathFactory, cloud: Connection
) -> Iterator[LocalStack]:
    config = {"lxdhost:hostCount": "1"}
    try:
        with stack_on_local_cloud(tmp_path_factory, STACK, config, base="scale") as local:
            try:
                yield local
            finally:
                # A test stopped before the runbook's `cancel` leaves the killed update's lock,
                # which the teardown's `destroy` would refuse.
                local.cli("cancel", "--yes", check=False)
    finally:
        # A test stopped before the runbook's import leaves Nova's server outside the state.
        for server in cloud.compute.servers(name=f"^{HOST}$"):
            print(f"deleting server {server.id}, which the stack's state did not hold")
            cloud.compute.delete_server(server)
            cloud.compute.wait_for_delete(server)


def engine_events(log: Path) -> list[dict[str, object]]:
    """The events the CLI has written to its event log so far (a last line still being
    written is left for the next read)."""
    events = []
    for line in log.read_text().splitlines() if log.exists() else []:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return events


def server_create_begun(log: Path) -> str | None:
    """The URN of the server whose create the engine has begun, if it has."""
    for event in engine_events(log):
        pre = event.get("resourcePreEvent")
        if isinstance(pre, dict):
            metadata = pre["metadata"]
            if metadata["type"] == SERVER_TYPE and metadata["op"] == "create":
                return str(metadata["urn"])
    return None


def kill_up_while_nova_builds(local: LocalStack, cloud: Connection) -> str:
    """`pulumi up` on the stack, killed (SIGKILL to the CLI and its plugins) once the server's
    create has begun and Nova lists the server; the server's URN."""
    log = local.path / "events.jsonl"
    output = local.path / "up.log"
    arguments = [
        "pulumi", "up", "--yes", "--skip-preview", "--parallel", "1", "--event-log", str(log),
        "--stack", local.stack.name, "--non-interactive", "--color", "never",
    ]  # fmt: skip
    # `--event-log` exists only with the CLI's debug commands on, as the Automation API runs it.
    environment = {**os.environ, **pulumi_environment(), "PULUMI_DEBUG_COMMANDS": "true"}
    began = time.monotonic()
    with output.open("wb") as out:
        up = subprocess.Popen(
            arguments, cwd=local.path, env=environment,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = began + KILL_TIMEOUT
        urn = None
        while time.monotonic() < deadline and up.poll() is None:
            urn = urn or server_create_begun(log)
            if urn is not None and host_servers(cloud, HOST):
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
                local.figures["up until killed"] = time.monotonic() - began
                print(f"---- up killed {local.figures['up until killed']:.1f} s after it began")
                return urn
            time.sleep(0.2)
        raise AssertionError(
            f"`pulumi up` {'exited ' + str(up.returncode) if up.poll() is not None else 'ran on'}"
            f" before Nova listed server {HOST} (server's create begun: {urn is not None}); "
            f"its output:\n{output.read_text()[-4000:]}"
        )
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def test_a_killed_up_is_finished_by_cancel_delete_clear_and_up(
    interrupted_stack: LocalStack, cloud: Connection
) -> None:
    local = interrupted_stack
    # Stack scale's flavor: the fake compute host, where no guest boots.
    assert local.stack.get_config("lxdhost:flavor").value == SETTINGS["LC_FAKE_FLAVOR"]
    server_urn = kill_up_while_nova_builds(local, cloud)

    # The state: the server's create pending, and no server among its resources.
    deployment = local.stack.export_stack().deployment
    pending = [(op["type"], op["resource"]["urn"]) for op in deployment["pending_operations"]]
    assert pending == [("creating", server_urn)]
    assert f"{HOST}-server" not in local.resource_names()

    # The killed update's lock: the next update is refused, and names `pulumi cancel`.
    with pytest.raises(auto.CommandError) as refused:
        local.stack.refresh(color="never")
    assert "pulumi cancel" in str(refused.value)
    local.cli("cancel", "--yes")

    # Nova builds the server without the CLI. The runbook deletes it (with the CLI here, the
    # pending create cannot be imported: `refresh --import-pending-creates` drops it and adds
    # no resource), clears the pending create, and lets `up` boot the host again.
    def built() -> bool:
        return [getattr(s, "status", None) for s in host_servers(cloud, HOST)] == ["ACTIVE"]

    wait_for(f"Nova to finish server {HOST}", built, 120, 2)
    (orphan,) = host_servers(cloud, HOST)
    subprocess.run(
        ["openstack", "--os-cloud", SETTINGS["LC_CLOUD"], "server", "delete", "--wait", orphan.id],
        check=True, timeout=180,
    )  # fmt: skip
    assert host_servers(cloud, HOST) == []
    local.cli("refresh", "--yes", "--clear-pending-creates")
    assert not local.stack.export_stack().deployment.get("pending_operations")

    # The `up` that finishes the stack boots the host once, on the port the killed `up` made.
    events: list[auto.EngineEvent] = []
    result = local.timed("up after the runbook", local.stack.up, on_event=events.append)
    assert result.summary.result == "succeeded"
    assert engine_steps(events).get(f"{HOST}-server") == "create"
    (server,) = host_servers(cloud, HOST)
    assert server.id != orphan.id
    (port_id,) = host_ports(cloud, HOST)
    assert [i.port_id for i in cloud.compute.server_interfaces(server)] == [port_id]
    ids = {r["urn"]: r.get("id") for r in local.stack.export_stack().deployment["resources"]}
    assert ids[server_urn] == server.id

    preview = local.timed("preview", local.stack.preview)
    assert changes(preview.change_summary) == {}

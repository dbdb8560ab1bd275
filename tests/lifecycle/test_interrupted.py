"""An `up` killed half-way, and the runbook that completes it without a second server
(docs/troubleshooting.md, "An interrupted `pulumi up`"), on the local cloud.

The CLI is killed (SIGKILL, with its plugins) once Nova has accepted the host's server and
before the provider has seen it ACTIVE: the server exists in the cloud, and the state holds it
only as a pending create. A plain `up` would make a second server beside it. The runbook imports
the pending create with the server's id (`pulumi refresh --import-pending-creates`), after which
`up` completes what is missing, and the project holds one server on the one port.
"""

from __future__ import annotations

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
    USER_DATA_LXD,
    LocalStack,
    changes,
    pulumi_environment,
    stack_on_local_cloud,
    wait_for,
)

pytestmark = pytest.mark.lifecycle

STACK = "interrupted"
HOST = "lxd-1"
SERVER_TIMEOUT = 180  # seconds from the CLI's start to Nova listing the server


@pytest.fixture(scope="module")
def interrupted_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with stack_on_local_cloud(tmp_path_factory, STACK, USER_DATA_LXD) as local:
        yield local


def servers(cloud: Connection) -> list[str]:
    return [server.id for server in cloud.compute.servers(name=f"^{HOST}$")]


def pending_creates(local: LocalStack) -> dict[str, str]:
    """Resource name: URN, for each operation the state holds as interrupted while creating."""
    deployment = local.stack.export_stack().deployment
    return {
        operation["resource"]["urn"].rsplit("::", 1)[1]: operation["resource"]["urn"]
        for operation in deployment.get("pending_operations") or []
        if operation["type"] == "creating"
    }


def kill_up_once_nova_has_the_server(local: LocalStack, cloud: Connection, log: Path) -> None:
    """`pulumi up` as a user runs it, killed with its plugins (their process group) as soon as
    Nova lists the server."""
    with log.open("w") as output:
        cli = subprocess.Popen(
            ["pulumi", "up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"],
            cwd=local.path, env={**os.environ, **pulumi_environment()}, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_for("Nova to list the server", lambda: bool(servers(cloud)), SERVER_TIMEOUT, 0.5)
        finally:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()
    print(log.read_text())


def test_an_up_killed_after_nova_took_the_server_completes_with_one_server(
    interrupted_stack: LocalStack, cloud: Connection, tmp_path: Path
) -> None:
    started = time.monotonic()
    kill_up_once_nova_has_the_server(interrupted_stack, cloud, tmp_path / "up.log")
    interrupted_stack.figures["up until killed"] = time.monotonic() - started
    (server_id,) = servers(cloud)
    pending = pending_creates(interrupted_stack)
    assert f"{HOST}-server" in pending, pending
    assert f"{HOST}-server" not in interrupted_stack.resource_names()

    # The runbook: each pending create the cloud holds is imported with its id.
    interrupted_stack.cli(
        "refresh", "--yes", "--import-pending-creates", pending[f"{HOST}-server"], server_id,
    )  # fmt: skip
    assert pending_creates(interrupted_stack) == {}
    assert f"{HOST}-server" in interrupted_stack.resource_names()

    events: list[auto.EngineEvent] = []
    result = interrupted_stack.timed(
        "up (after the runbook)", interrupted_stack.stack.up, on_event=events.append
    )
    assert result.summary.result == "succeeded"
    created = {
        event.resource_pre_event.metadata.urn.rsplit("::", 1)[1]
        for event in events
        if event.resource_pre_event is not None
        and event.resource_pre_event.metadata.op.value == "create"
    }
    # What the killed `up` never reached is made now; the server is not made twice.
    assert f"{HOST}-server" not in created
    assert servers(cloud) == [server_id]
    ports = [p.id for p in cloud.network.ports(name=HOST, project_id=cloud.current_project_id)]
    (interface,) = cloud.compute.server_interfaces(server_id)
    assert ports == [interface.port_id]
    preview = interrupted_stack.timed("preview", interrupted_stack.stack.preview)
    assert changes(preview.change_summary) == {}

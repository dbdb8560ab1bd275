"""A host whose server Nova put in ERROR, and the runbook its warning gives
(docs/troubleshooting.md, "A host that is SHUTOFF or in ERROR"), on the local cloud.

Nova puts a server in ERROR when it cannot build or run it; the local cloud's admin does the
same with `server set --state error` (Nova's reset-state), which is how this test gets one. The
provider shows no change for such a server, on `preview` or after `refresh`; the program's
warning is the only sign, and its runbook is: delete the server with the command the warning
gives, then `pulumi up --refresh`, which boots a new server on the same port. The warning's
other way, `pulumi up --replace`, stops on the delete's wait, as the runbook says; the same
`up --refresh` then finishes it.

With `serverStatusRead: refreshed` the program reads the status the last refresh stored
instead of asking Nova: the last test shows a plain preview missing the ERROR and `pulumi
preview --refresh` naming it, with the same runbook.

Stack `scale`'s settings with one host, on the fake compute host (marker `scale`): what is
proven is Nova's and the provider's side, which a fake server has as a real one does.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from openstack.connection import Connection
from pulumi import automation as auto

from .conftest import (
    SETTINGS,
    LocalStack,
    changes,
    host_servers,
    host_warnings,
    stack_on_local_cloud,
    wait_for,
)

pytestmark = [pytest.mark.lifecycle, pytest.mark.scale]

STACK = "error"
HOST = "lxd-1"
GONE_TIMEOUT = 120  # seconds for Nova to delete a server


@pytest.fixture(scope="module")
def error_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with stack_on_local_cloud(
        tmp_path_factory, STACK, {"lxdhost:hostCount": "1"}, base="scale"
    ) as local:
        yield local


def server_of(cloud: Connection) -> Any:
    (server,) = host_servers(cloud, HOST)
    return server


def put_in_error(admin: Connection, server: Any) -> None:
    admin.compute.reset_server_state(server, "error")
    admin.compute.wait_for_server(server, status="ERROR", wait=60)


def port_id_of_server(cloud: Connection, server: Any) -> str:
    (interface,) = list(cloud.compute.server_interfaces(server))
    return str(interface.port_id)


def preview_warning(local: LocalStack, name: str, **options: Any) -> str:
    """The preview's one warning about the host; the preview itself shows no change."""
    events: list[auto.EngineEvent] = []
    result = local.timed(name, local.stack.preview, on_event=events.append, **options)
    assert changes(result.change_summary) == {}
    (warning,) = host_warnings(events, HOST)
    return warning


def quiet_preview(local: LocalStack, name: str) -> None:
    """A preview with no change and no warning about the host."""
    events: list[auto.EngineEvent] = []
    result = local.timed(name, local.stack.preview, on_event=events.append)
    assert changes(result.change_summary) == {}
    assert host_warnings(events, HOST) == []


def delete_command(warning: str, server: Any) -> str:
    """The warning's `openstack server delete`, checked to name the cloud and the server."""
    delete = re.search(r"`(openstack [^`]* server delete [^`]*)`", warning)
    assert delete is not None, warning
    assert delete.group(1) == (
        f"openstack --os-cloud {SETTINGS['LC_CLOUD']} server delete {server.id}"
    )
    return delete.group(1)


def rebuilt_on_the_same_port(local: LocalStack, cloud: Connection, old: Any, port: str) -> Any:
    """`pulumi up --refresh` once Nova no longer has the old server: the new one, ACTIVE, on
    the old one's port."""
    wait_for(
        f"Nova to delete server {old.id}",
        lambda: cloud.compute.find_server(old.id, ignore_missing=True) is None,
        GONE_TIMEOUT,
        2,
    )
    result = local.timed("up --refresh", local.stack.up, refresh=True)
    assert result.summary.result == "succeeded"
    assert changes(result.summary.resource_changes).get("create") == 1
    new = server_of(cloud)
    assert new.id != old.id and new.status == "ACTIVE"
    assert port_id_of_server(cloud, new) == port
    hosts = local.outputs()["hosts"]
    assert list(hosts) == [HOST]
    assert hosts[HOST]["serverStatus"] == "ACTIVE"
    return new


def test_a_host_in_error_is_named_on_preview_and_rebuilt_by_its_runbook(
    error_stack: LocalStack, cloud: Connection, admin: Connection
) -> None:
    local = error_stack
    assert local.stack.get_config("lxdhost:flavor").value == SETTINGS["LC_FAKE_FLAVOR"]
    assert local.timed("up", local.stack.up).summary.result == "succeeded"
    server = server_of(cloud)
    port = port_id_of_server(cloud, server)
    quiet_preview(local, "preview")

    put_in_error(admin, server)
    # The refresh stores Nova's `error` as the server's power_state; from then on the provider
    # ignores the difference with the program's `active`, and the warning alone tells.
    refreshed = local.timed("refresh (host in ERROR)", local.stack.refresh)
    print("refresh:", refreshed.summary.resource_changes)
    warning = preview_warning(local, "preview (host in ERROR)")
    assert f"LXD host {HOST} is down: its server {server.id} is in ERROR in Nova" in warning
    # The runbook, as a user runs it: the warning's command, then `pulumi up --refresh`.
    subprocess.run(shlex.split(delete_command(warning, server)), check=True, timeout=120)
    rebuilt_on_the_same_port(local, cloud, server, port)
    quiet_preview(local, "preview (rebuilt)")


def test_replacing_a_host_in_error_stops_on_the_delete_and_up_refresh_finishes_it(
    error_stack: LocalStack, cloud: Connection, admin: Connection
) -> None:
    local = error_stack
    server = server_of(cloud)
    port = port_id_of_server(cloud, server)
    put_in_error(admin, server)
    urn = re.search(r"pulumi up --replace '([^']+)'", preview_warning(local, "preview (ERROR)"))
    assert urn is not None
    with pytest.raises(auto.CommandError) as stopped:
        local.timed("up --replace", local.stack.up, replace=[urn.group(1)])
    assert "unexpected state 'ERROR'" in str(stopped.value)
    rebuilt_on_the_same_port(local, cloud, server, port)
    quiet_preview(local, "preview (rebuilt again)")


def test_read_from_the_refreshed_state_an_error_shows_on_preview_refresh(
    error_stack: LocalStack, cloud: Connection, admin: Connection
) -> None:
    local = error_stack
    local.stack.set_config("lxdhost:serverStatusRead", auto.ConfigValue("refreshed"))
    try:
        # The key changes no resource: the stack is as the last `up --refresh` left it.
        quiet_preview(local, "preview (refreshed)")
        server = server_of(cloud)
        port = port_id_of_server(cloud, server)
        put_in_error(admin, server)
        # No request to Nova: the state still holds the `active` the last refresh stored.
        quiet_preview(local, "preview (ERROR, state not refreshed)")
        warning = preview_warning(local, "preview --refresh (ERROR)", refresh=True)
        assert f"LXD host {HOST} is down: its server {server.id} is in ERROR in Nova" in warning
        subprocess.run(shlex.split(delete_command(warning, server)), check=True, timeout=120)
        rebuilt_on_the_same_port(local, cloud, server, port)
        quiet_preview(local, "preview (rebuilt, refreshed)")
    finally:
        local.stack.remove_config("lxdhost:serverStatusRead")

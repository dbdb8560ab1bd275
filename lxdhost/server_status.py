"""A host's server as Nova reports it, and what to run when it is not running.

Pulumi alone does not show a dead host. The provider's `Instance` stores Nova's status in
`power_state` and ignores a stored `error` when it diffs (`suppressPowerStateDiffs`), and a
server stopped out of band shows only after a `pulumi refresh`. So the program reads each
existing server's status, in one of two ways (`ServerStatusRead`, the stack's
`serverStatusRead`): `live`, every `preview` and `up` asks Nova through the provider's
`getInstanceV2` data source (nine API requests a server); `refreshed`, it takes the
`power_state` the last refresh stored, with no request. `status_warning` turns what it reads
into one warning that names the host and the command to run. The runbook behind the commands:
docs/troubleshooting.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

RUNBOOK = "docs/troubleshooting.md#a-host-that-is-shutoff-or-in-error"


class ServerStatusRead(StrEnum):
    """Where the program reads each existing server's status."""

    LIVE = "live"  # from Nova, at every preview and up
    REFRESHED = "refreshed"  # from the stack's state, as the last refresh stored it


# The one status of a running server, as Nova names it.
RUNNING = "ACTIVE"


@dataclass(frozen=True)
class HostServer:
    """What the warning's commands name: the host, its Nova server, and the server's URN."""

    host_name: str
    server_id: str
    server_urn: str
    # The clouds.yaml entry the stack's provider uses (`openstack:cloud`), for `--os-cloud`;
    # None when the environment (OS_CLOUD, OS_AUTH_URL, ...) names the cloud.
    os_cloud: str | None = None

    def openstack(self, command: str) -> str:
        """An `openstack` command line on this server's cloud."""
        cloud = f" --os-cloud {self.os_cloud}" if self.os_cloud else ""
        return f"openstack{cloud} {command}"


@dataclass(frozen=True)
class ServerReading:
    """Nova's status of a server (`ACTIVE`, `SHUTOFF`, `ERROR`, ...), upper case as
    `openstack server show` prints it; None when Nova has no such server, or when the status
    could not be read, and then `error` says why."""

    status: str | None
    error: str | None = None


def reading_from_lookup(result: Mapping[str, object] | None) -> ServerReading:
    """The data source's answer: Nova's status, lower-cased, as `powerState`, or no status at
    all when Nova has no such server (on a 404 the data source clears its id and answers with
    nothing)."""
    power_state = (result or {}).get("powerState")
    if isinstance(power_state, str) and power_state:
        return ServerReading(power_state.upper())
    return ServerReading(None)


def reading_from_state(power_state: object) -> ServerReading:
    """The `power_state` the stack's state holds for the server: Nova's status, lower-cased, as
    the last refresh (or the server's create or update) stored it."""
    if isinstance(power_state, str) and power_state:
        return ServerReading(power_state.upper())
    return ServerReading(None, error="the stack's state holds no status for it")


# The data source refuses the statuses outside its own list (REBOOT, SUSPENDED, BUILD, ...)
# with this error; the status it names is still the server's.
_INVALID_POWER_STATE = re.compile(r"Invalid power_state for instance \S+: ([A-Za-z_]+)")


def reading_from_error(message: str) -> ServerReading:
    """A failed lookup: the server's status if the error names one, otherwise the error."""
    found = _INVALID_POWER_STATE.search(message)
    if found:
        return ServerReading(found.group(1).upper())
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return ServerReading(None, error=" ".join(lines) or "no reason given")


# Statuses the server leaves by itself: Nova is working on it.
_BUSY = frozenset(
    {"BUILD", "REBOOT", "HARD_REBOOT", "MIGRATING"}
    | {"RESIZE", "REVERT_RESIZE", "REBUILD", "PASSWORD"}
)
# Statuses one `openstack server ...` command ends: the command's verb.
_ONE_COMMAND = {
    "SHUTOFF": "start",
    "PAUSED": "unpause",
    "SUSPENDED": "resume",
    "SHELVED": "unshelve",
    "SHELVED_OFFLOADED": "unshelve",
    "RESCUE": "unrescue",
    "SOFT_DELETED": "restore",
    "VERIFY_RESIZE": "resize confirm",
}


def status_warning(server: HostServer, reading: ServerReading) -> str | None:
    """The warning for a host whose server is not running, naming the host and what to run;
    None for a running one. The same reading gives the same text, word for word."""
    if reading.status == RUNNING:
        return None
    host = f"LXD host {server.host_name}"
    show = f"`{server.openstack(f'server show {server.server_id} -c status')}`"
    if reading.status is None and reading.error is not None:
        what = (
            f"{host}: the status of its server {server.server_id} could not be read from Nova "
            f"({reading.error}). Check it: {show}."
        )
    elif reading.status is None or reading.status == "DELETED":
        what = (
            f"{host} is gone: Nova has no server {server.server_id} any more, and "
            "`pulumi preview` shows no change for it until a refresh. Boot a new one on the "
            "same port: `pulumi up --refresh`."
        )
    elif reading.status == "ERROR":
        what = (
            f"{host} is down: its server {server.server_id} is in ERROR in Nova, and neither "
            "`pulumi refresh` nor `pulumi preview` shows a change for it (the provider ignores "
            "a server in ERROR). Delete it, then let Pulumi boot a new one on the same port: "
            f"`{server.openstack(f'server delete {server.server_id}')}`, and once {show} "
            "finds no server, `pulumi up --refresh`. (`pulumi up --replace "
            f"'{server.server_urn}'` also deletes it, then stops with \"unexpected state "
            "'ERROR'\": follow it with `pulumi up --refresh` the same way.)"
        )
    elif reading.status in _ONE_COMMAND:
        verb = _ONE_COMMAND[reading.status]
        what = (
            f"{host} is down: its server {server.server_id} is {reading.status} in Nova, and "
            "`pulumi preview` shows no change for it. Run "
            f"`{server.openstack(f'server {verb} {server.server_id}')}`."
        )
    elif reading.status in _BUSY:
        what = (
            f"{host} is not running yet: Nova is working on its server {server.server_id} "
            f"({reading.status}). Run `pulumi preview` again once {show} says ACTIVE."
        )
    elif reading.status == "UNKNOWN":
        what = (
            f"{host} may be down: Nova cannot reach the compute host of its server "
            f"{server.server_id} (UNKNOWN). The cloud's operators fix that; {show} says ACTIVE "
            "again once they have."
        )
    else:
        what = (
            f"{host} may be down: its server {server.server_id} is {reading.status} in Nova, "
            f"not ACTIVE. Check it: {show}."
        )
    return f"{what} Runbook: {RUNBOOK}"

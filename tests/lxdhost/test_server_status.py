"""`lxdhost.server_status`: what Nova's status of a host's server means, and what to run."""

from __future__ import annotations

import pytest

from lxdhost.server_status import (
    RUNBOOK,
    HostServer,
    ServerReading,
    reading_from_error,
    reading_from_lookup,
    reading_from_state,
    status_warning,
)

SERVER_ID = "8f14e45f-ceea-467a-9575-3c5e1a2a1b2c"
URN = (
    "urn:pulumi:local::lxdhost::lxdhost:index:LxdHost"
    "$openstack:compute/instance:Instance::lxd-1-server"
)
SERVER = HostServer("lxd-1", SERVER_ID, URN, os_cloud="lxdhost-local")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param({"id": SERVER_ID, "powerState": "active"}, "ACTIVE", id="active"),
        pytest.param({"id": SERVER_ID, "powerState": "shutoff"}, "SHUTOFF", id="shutoff"),
        pytest.param({"id": SERVER_ID, "powerState": "error"}, "ERROR", id="error"),
        pytest.param({}, None, id="404-answers-nothing"),
        pytest.param(None, None, id="no-answer"),
        pytest.param({"id": "", "powerState": ""}, None, id="empty-status"),
    ],
)
def test_a_lookup_reads_novas_status_upper_case(
    result: dict[str, str] | None, expected: str | None
) -> None:
    assert reading_from_lookup(result) == ServerReading(expected)


@pytest.mark.parametrize(
    ("power_state", "expected"),
    [
        pytest.param("active", ServerReading("ACTIVE"), id="active"),
        pytest.param("error", ServerReading("ERROR"), id="error"),
        pytest.param("build", ServerReading("BUILD"), id="build"),
        pytest.param(
            None, ServerReading(None, "the stack's state holds no status for it"), id="none"
        ),
        pytest.param(
            "", ServerReading(None, "the stack's state holds no status for it"), id="empty"
        ),
    ],
)
def test_the_stored_power_state_reads_as_novas_status(
    power_state: str | None, expected: ServerReading
) -> None:
    assert reading_from_state(power_state) == expected


def test_no_stored_status_is_a_warning_to_check_not_a_host_gone() -> None:
    warning = status_warning(SERVER, reading_from_state(None))
    assert warning is not None
    assert "could not be read" in warning and "is gone" not in warning


def test_a_status_outside_the_data_sources_list_is_read_from_its_error() -> None:
    message = (
        "invoke of openstack:compute/getInstanceV2:getInstanceV2 failed: invocation of "
        "openstack:compute/getInstanceV2:getInstanceV2 returned an error: invoking "
        f"openstack:compute/getInstanceV2:getInstanceV2: 1 error occurred:\n"
        f"\t* Invalid power_state for instance {SERVER_ID}: HARD_REBOOT\n"
    )
    assert reading_from_error(message) == ServerReading("HARD_REBOOT")


def test_any_other_error_is_kept_on_one_line() -> None:
    reading = reading_from_error("invoke failed:\n  connection refused\n")
    assert reading == ServerReading(None, error="invoke failed: connection refused")


def test_a_running_server_gives_no_warning() -> None:
    assert status_warning(SERVER, ServerReading("ACTIVE")) is None


@pytest.mark.parametrize(
    ("status", "command"),
    [
        pytest.param("SHUTOFF", f"lxdhost-local server start {SERVER_ID}`", id="shutoff"),
        pytest.param("ERROR", f"lxdhost-local server delete {SERVER_ID}`", id="error"),
        pytest.param("PAUSED", f"server unpause {SERVER_ID}`", id="paused"),
        pytest.param("SUSPENDED", f"server resume {SERVER_ID}`", id="suspended"),
        pytest.param("SHELVED_OFFLOADED", f"server unshelve {SERVER_ID}`", id="shelved"),
        pytest.param("VERIFY_RESIZE", f"server resize confirm {SERVER_ID}`", id="resized"),
        pytest.param("REBOOT", "Run `pulumi preview` again once", id="busy"),
        pytest.param("DELETED", "`pulumi up --refresh`", id="deleted"),
        pytest.param(None, "`pulumi up --refresh`", id="not-found"),
        pytest.param("UNKNOWN", "cloud's operators", id="compute-host-unreachable"),
        pytest.param("SOMETHING_NEW", f"server show {SERVER_ID} -c status`", id="unforeseen"),
    ],
)
def test_a_server_not_running_is_named_with_what_to_run(status: str | None, command: str) -> None:
    warning = status_warning(SERVER, ServerReading(status))
    assert warning is not None
    assert warning.startswith("LXD host lxd-1 ")
    assert command in warning
    assert warning.endswith(f"Runbook: {RUNBOOK}")
    assert "\n" not in warning


def test_error_names_the_replace_the_provider_cannot_finish_and_its_way_out() -> None:
    warning = status_warning(SERVER, ServerReading("ERROR"))
    assert warning is not None
    assert f"`pulumi up --replace '{URN}'`" in warning
    assert "unexpected state 'ERROR'" in warning
    assert warning.index("server delete") < warning.index("`pulumi up --refresh`")


def test_an_unreadable_status_is_a_warning_with_the_reason() -> None:
    warning = status_warning(SERVER, ServerReading(None, error="connection refused"))
    assert warning is not None
    assert "lxd-1" in warning and "(connection refused)" in warning
    assert f"server show {SERVER_ID} -c status" in warning


def test_without_a_named_cloud_the_commands_use_the_environments() -> None:
    server = HostServer("lxd-1", SERVER_ID, URN)
    warning = status_warning(server, ServerReading("SHUTOFF"))
    assert warning is not None and f"`openstack server start {SERVER_ID}`" in warning


def test_a_stopped_host_reads_in_full() -> None:
    # The whole text once: what a user reads on `pulumi preview`, word for word.
    assert status_warning(SERVER, ServerReading("SHUTOFF")) == (
        f"LXD host lxd-1 is down: its server {SERVER_ID} is SHUTOFF in Nova, and "
        "`pulumi preview` shows no change for it. Run "
        f"`openstack --os-cloud lxdhost-local server start {SERVER_ID}`. "
        "Runbook: docs/troubleshooting.md#a-host-that-is-shutoff-or-in-error"
    )

"""A host whose packages cannot be installed keeps the network it booted with.

Stack `failsafe` is stack `local` with the netplan layout, on the local cloud's ifupdown image,
and a package no mirror has: apt installs nothing, so netplan is missing. The host must not
reboot into a bridge it cannot bring up: it stays on its NIC's DHCP address, reachable, and
cloud-init reports the failed install and why the bridge waited.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openstack.connection import Connection

from .conftest import (
    READY_TIMEOUT,
    USER_DATA_LXD,
    LocalStack,
    hosts_of,
    stack_on_local_cloud,
    wait_for,
)

pytestmark = pytest.mark.lifecycle

MISSING_PACKAGE = "lxdhost-no-such-package"


@pytest.fixture(scope="module")
def failsafe_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = {
        **USER_DATA_LXD,
        "lxdhost:hostNetwork": "netplan",
        "lxdhost:packages[0]": MISSING_PACKAGE,
    }
    with stack_on_local_cloud(tmp_path_factory, "failsafe", config) as local:
        yield local


def test_a_host_whose_packages_fail_stays_on_the_network_it_booted_with(
    failsafe_stack: LocalStack, cloud: Connection
) -> None:
    result = failsafe_stack.timed("up", failsafe_stack.stack.up)
    assert result.summary.result == "succeeded"
    (host,) = hosts_of(failsafe_stack.outputs())
    wait_for(
        f"{host.name}: SSH", lambda: host.ssh_status("true", 30).returncode == 0, READY_TIMEOUT
    )
    status = host.ssh_status("cloud-init status --wait --long", READY_TIMEOUT)
    failsafe_stack.since_up("cloud-init finished")
    # The install failed, and cloud-init says so.
    assert "status: error" in status.stdout, status.stdout + status.stderr
    # apt's own words go to the output log.
    output = host.ssh("sudo cat /var/log/cloud-init-output.log")
    assert f"Unable to locate package {MISSING_PACKAGE}" in output
    # power_state's condition runs once cloud-init has finished: it names what is missing, and
    # cloud-init warns that it will not reboot. A second boot would have run init-local again.
    wait_for(
        "power_state's condition",
        lambda: (
            "lxdhost-ready: not installed: netplan;"
            in host.ssh("sudo cat /var/log/cloud-init-output.log")
        ),
        120,
    )
    log = host.ssh("sudo cat /var/log/cloud-init.log")
    assert "check_condition command (/usr/local/sbin/lxdhost-ready): unexpected exit 2" in log
    assert log.count("running 'init-local'") == 1
    # Still on the NIC's own lease, and no bridge: the host SSH just reached is its port's.
    assert host.ssh_status("ip link show br0").returncode != 0
    (address,) = host.ssh("ip -4 -o addr show scope global | awk '{print $2, $4}'").splitlines()
    nic, cidr = address.split()
    assert cidr.split("/")[0] == host.fixed_ip, address
    assert nic != "br0"

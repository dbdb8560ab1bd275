"""The local cloud (scripts/local-cloud), as the project's member user sees it.

The API suites run inside the cloud's network namespace, where its APIs listen
(scripts/test-local-cloud runs them there); every resource a test creates is deleted when it
ends, whether it passed or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest
from openstack.connection import Connection
from openstack.network.v2.network import Network
from openstack.network.v2.subnet import Subnet

from localcloud.harness import local_cloud_settings

TOP = Path(__file__).resolve().parents[2]


SETTINGS = local_cloud_settings()


@pytest.fixture(scope="session")
def cloud() -> Iterator[Connection]:
    connection = openstack.connect(cloud=SETTINGS["LC_CLOUD"], load_envvars=False)
    try:
        connection.authorize()
    except Exception as error:
        raise AssertionError(
            f"the local cloud does not answer ({error}): bring it up with "
            f"`sudo scripts/local-cloud up`"
        ) from error
    yield connection
    connection.close()


Cleanup = Callable[[Callable[[], Any]], None]


@pytest.fixture
def cleanup() -> Iterator[Cleanup]:
    """Register a deletion; all run, newest first, when the test ends."""
    deletions: list[Callable[[], Any]] = []
    yield deletions.append
    errors = []
    for delete in reversed(deletions):
        try:
            delete()
        except openstack.exceptions.SDKException as error:
            errors.append(error)
    if errors:
        raise AssertionError(f"clean-up failed: {errors}")


def tenant_subnet(cloud: Connection, cleanup: Cleanup, name: str) -> tuple[Network, Subnet]:
    """A network and a 192.168.0.0/24 subnet with the program's default reduced pool."""
    network = cloud.network.create_network(name=name)
    cleanup(lambda: cloud.network.delete_network(network))
    subnet = cloud.network.create_subnet(
        name=name,
        network_id=network.id,
        ip_version=4,
        cidr="192.168.0.0/24",
        allocation_pools=[{"start": "192.168.0.2", "end": "192.168.0.20"}],
    )
    cleanup(lambda: cloud.network.delete_subnet(subnet))
    return network, subnet

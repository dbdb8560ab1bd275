"""An `up` the cloud refuses half-way, and the `up` that completes it, on the local cloud.

Stack `quota` is stack `local` while the project may run no instance: Nova refuses the server,
`up` fails with Nova's words, and what was made before stays in the state. Once the quota is
back, the next `up` creates only what was missing, with no second port. The host is not waited
for: a server Nova made is enough here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from openstack.connection import Connection
from pulumi import automation as auto

from .conftest import (
    SETTINGS,
    USER_DATA_LXD,
    LocalStack,
    changes,
    host_ports,
    stack_on_local_cloud,
)

pytestmark = pytest.mark.lifecycle

STACK = "quota"
HOST = "lxd-1"
# Nova's TooManyInstances (nova/exception.py), as its API returns it with the 403.
NOVA_REFUSAL = "Quota exceeded for instances: Requested 1, but already used 0 of 0 instances"


@pytest.fixture(scope="module")
def quota_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with stack_on_local_cloud(tmp_path_factory, STACK, USER_DATA_LXD) as local:
        yield local


@contextmanager
def instances_quota(admin: Connection, instances: int) -> Iterator[None]:
    """The project's compute quota `instances` while the block runs; restored after it."""
    project = admin.identity.find_project(SETTINGS["LC_PROJECT"], ignore_missing=False)
    before = admin.get_compute_quotas(project.id).instances
    admin.set_compute_quotas(project.id, instances=instances)
    try:
        yield
    finally:
        admin.set_compute_quotas(project.id, instances=before)
        assert admin.get_compute_quotas(project.id).instances == before


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[1]


def test_an_up_refused_by_the_instance_quota_completes_once_it_is_raised(
    quota_stack: LocalStack, cloud: Connection, admin: Connection
) -> None:
    refused: list[auto.EngineEvent] = []
    with instances_quota(admin, 0), pytest.raises(auto.CommandError):
        quota_stack.timed("up (no instances)", quota_stack.stack.up, on_event=refused.append)
    (last,) = quota_stack.stack.history(page_size=1)
    assert last.result == "failed"
    failed = [name_of(e.res_op_failed_event.metadata.urn) for e in refused if e.res_op_failed_event]
    assert failed == [f"{HOST}-server"]
    errors = [
        (name_of(e.diagnostic_event.urn or "::"), e.diagnostic_event.message)
        for e in refused
        if e.diagnostic_event is not None and e.diagnostic_event.severity == "error"
    ]
    # The server is the one resource in error, and its error carries Nova's words (the
    # engine's own "update failed" names no resource).
    assert {name for name, _ in errors if name} == {f"{HOST}-server"}
    assert {name for name, message in errors if NOVA_REFUSAL in message} == {f"{HOST}-server"}
    made = quota_stack.resource_names()
    assert f"{HOST}-port" in made and f"{HOST}-server" not in made
    assert list(cloud.compute.servers()) == []
    assert len(host_ports(cloud, HOST)) == 1

    completed: list[auto.EngineEvent] = []
    result = quota_stack.timed("up (quota back)", quota_stack.stack.up, on_event=completed.append)
    assert result.summary.result == "succeeded"
    missing = quota_stack.resource_names() - made
    created = {
        name_of(e.resource_pre_event.metadata.urn)
        for e in completed
        if e.resource_pre_event is not None and e.resource_pre_event.metadata.op.value == "create"
    }
    assert f"{HOST}-server" in created
    assert created == missing
    assert changes(result.summary.resource_changes) == {"create": len(missing)}
    # One port, the one the failed `up` made, and the server on it.
    (port_id,) = host_ports(cloud, HOST)
    (server,) = list(cloud.compute.servers())
    assert [i.port_id for i in cloud.compute.server_interfaces(server)] == [port_id]
    state = quota_stack.stack.export_stack().deployment["resources"]
    ids = {name_of(r["urn"]): r.get("id") for r in state}
    assert (ids[f"{HOST}-port"], ids[f"{HOST}-server"]) == (port_id, server.id)

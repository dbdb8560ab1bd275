"""Re-uploading the hosts' image, and moving hosts to another, on the local cloud
(docs/troubleshooting.md, "Re-uploading the hosts' image").

With `lxdhost:imageUpdates: new-hosts` (the default) a host keeps the image it booted from
whatever becomes of it: the old image hidden or deleted, a new one under the same name, or
`lxdhost:image` naming another. Hosts created afterwards boot what `lxdhost:image` names, and so
does a host replaced for any reason: `pulumi up --replace`, or a change of its user_data. With
`replace`, a new name replaces the hosts on the next `up`.

Stack `scale`'s settings on the fake compute host (marker `scale`), booted from scratch images
of the project's own: a fake server boots nothing, so any bytes do, and what is proven is the
engine's, the provider's and Glance's side, which a fake server has as a real one does.
"""

from __future__ import annotations

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
    engine_steps,
    host_servers,
    stack_on_local_cloud,
)

pytestmark = [pytest.mark.lifecycle, pytest.mark.scale]

STACK = "reupload"
IMAGE = "lxdhost-reupload"
OTHER_IMAGE = "lxdhost-reupload-other"
IMAGE_BYTES = b"\0" * (1 << 20)


@pytest.fixture(scope="module")
def images(cloud: Connection) -> Iterator[list[Any]]:
    """The images the test uploads, deleted at the end whatever happened."""
    made: list[Any] = []
    try:
        yield made
    finally:
        for image in made:
            cloud.image.delete_image(image, ignore_missing=True)


def upload(cloud: Connection, made: list[Any], name: str = IMAGE) -> Any:
    """A new image of that name, another one if one is there already."""
    image = cloud.image.create_image(
        name,
        data=IMAGE_BYTES,
        disk_format="raw",
        container_format="bare",
        allow_duplicates=True,
        wait=True,
    )
    made.append(image)
    return image


@pytest.fixture(scope="module")
def reupload_stack(
    tmp_path_factory: pytest.TempPathFactory, images: list[Any], cloud: Connection
) -> Iterator[LocalStack]:
    upload(cloud, images)
    config = {"lxdhost:hostCount": "1", "lxdhost:image": IMAGE}
    with stack_on_local_cloud(tmp_path_factory, STACK, config, base="scale") as local:
        yield local


def image_of(cloud: Connection, host: str) -> str:
    (server,) = host_servers(cloud, host)
    return str(server.image.id)


def preview_steps(
    local: LocalStack, name: str, notes: list[str] | None = None
) -> tuple[dict[str, str], str]:
    """The preview's steps for the stack's cloud resources, by name (`same` left out), and its
    `--diff` text; `notes` gets the program's info messages."""
    events: list[auto.EngineEvent] = []
    result = local.timed(name, local.stack.preview, on_event=events.append, diff=True)
    if notes is not None:
        notes.extend(
            event.diagnostic_event.message
            for event in events
            if event.diagnostic_event is not None and event.diagnostic_event.severity == "info"
        )
    return engine_steps(events), result.stdout


def test_the_old_image_hidden_changes_nothing_and_new_hosts_boot_the_new_one(
    reupload_stack: LocalStack, cloud: Connection, images: list[Any]
) -> None:
    local = reupload_stack
    assert local.stack.get_config("lxdhost:flavor").value == SETTINGS["LC_FAKE_FLAVOR"]
    assert local.timed("up", local.stack.up).summary.result == "succeeded"
    (old,) = images
    assert image_of(cloud, "lxd-1") == old.id

    new = upload(cloud, images)
    # As a user types it.
    openstack("image", "set", "--hidden", old.id)
    assert assert_unchanged(local, "old image hidden") == []

    local.stack.set_config("lxdhost:hostCount", auto.ConfigValue("2"))
    grown = local.timed("up (a second host)", local.stack.up)
    # The host's component, port and server.
    assert changes(grown.summary.resource_changes) == {"create": 3}, local.stepped
    assert image_of(cloud, "lxd-1") == old.id
    assert image_of(cloud, "lxd-2") == new.id


def test_the_old_image_deleted_changes_nothing(
    reupload_stack: LocalStack, cloud: Connection, images: list[Any]
) -> None:
    local = reupload_stack
    old, new = images
    server = server_id(cloud, "lxd-1")
    openstack("image", "delete", old.id)
    assert assert_unchanged(local, "old image deleted") == []
    assert server_id(cloud, "lxd-1") == server
    assert image_of(cloud, "lxd-1") == old.id
    assert image_of(cloud, "lxd-2") == new.id


def test_a_replaced_host_boots_the_newest_image_of_its_name(
    reupload_stack: LocalStack, cloud: Connection, images: list[Any]
) -> None:
    """The runbook's way to move one host to the new upload."""
    local = reupload_stack
    new = images[1]
    old_server = server_id(cloud, "lxd-1")
    # Where the runbook finds the URN.
    assert server_urn(local) in local.cli("stack", "--show-urns", capture=True).stdout
    replaced = local.timed("up --replace lxd-1", local.stack.up, replace=[server_urn(local)])
    assert changes(replaced.summary.resource_changes) == {"replace": 1}, local.stepped
    assert server_id(cloud, "lxd-1") != old_server
    assert image_of(cloud, "lxd-1") == new.id


def test_another_image_name_is_for_new_and_replaced_hosts_or_replaces_them(
    reupload_stack: LocalStack, cloud: Connection, images: list[Any]
) -> None:
    local = reupload_stack
    named = images[1]
    other = upload(cloud, images, OTHER_IMAGE)
    local.stack.set_config("lxdhost:image", auto.ConfigValue(OTHER_IMAGE))
    notes = assert_unchanged(local, "lxdhost:image names another")
    # The preview says why it shows nothing, host by host.
    kept = f"keeps the image it booted from, {IMAGE!r}; lxdhost:image names {OTHER_IMAGE!r}"
    for host in ("lxd-1", "lxd-2"):
        assert [n for n in notes if n.startswith(f"LXD host {host} {kept}")], notes

    # A host replaced for any reason boots what lxdhost:image names then: here, a user_data
    # change. (The engine checks a replacement's inputs afresh, ignored ones among them.)
    local.stack.set_config("lxdhost:packages[0]", auto.ConfigValue("jq"), path=True)
    rebuilt = local.timed("up (user_data changed)", local.stack.up)
    # The servers, and their components' outputs (the user_data's bound grows with a package).
    assert changes(rebuilt.summary.resource_changes) == {"replace": 2, "update": 2}, local.stepped
    assert (image_of(cloud, "lxd-1"), image_of(cloud, "lxd-2")) == (other.id, other.id)

    # `imageUpdates: replace`, back to the first name: the preview shows every host replaced,
    # `up --target` replaces one, and `up` the rest.
    local.stack.set_config("lxdhost:imageUpdates", auto.ConfigValue("replace"))
    local.stack.set_config("lxdhost:image", auto.ConfigValue(IMAGE))
    steps, diff = preview_steps(local, "preview (imageUpdates: replace)")
    assert steps == {"lxd-1-server": "replace", "lxd-2-server": "replace"}, diff
    one = local.timed(
        "up --target lxd-1 (imageUpdates: replace)",
        local.stack.up,
        target=[server_urn(local)],
        target_dependents=True,
    )
    assert changes(one.summary.resource_changes) == {"replace": 1}, local.stepped
    assert (image_of(cloud, "lxd-1"), image_of(cloud, "lxd-2")) == (named.id, other.id)
    rest = local.timed("up (imageUpdates: replace)", local.stack.up)
    assert changes(rest.summary.resource_changes) == {"replace": 1}, local.stepped
    assert image_of(cloud, "lxd-2") == named.id

    local.stack.set_config("lxdhost:imageUpdates", auto.ConfigValue("new-hosts"))
    assert assert_unchanged(local, "imageUpdates: new-hosts again") == []


def openstack(*arguments: str) -> None:
    """An `openstack` command on the local cloud, as a user types it."""
    subprocess.run(
        ["openstack", "--os-cloud", SETTINGS["LC_CLOUD"], *arguments], check=True, timeout=120
    )


def assert_unchanged(local: LocalStack, name: str) -> list[str]:
    """A refresh, then a preview with no step and an `up` that changes nothing; the preview's
    notes."""
    local.timed(f"refresh ({name})", local.stack.refresh)
    notes: list[str] = []
    steps, diff = preview_steps(local, f"preview ({name})", notes)
    assert steps == {}, diff
    kept = local.timed(f"up ({name})", local.stack.up)
    assert changes(kept.summary.resource_changes) == {}, local.stepped
    return notes


def server_id(cloud: Connection, host: str) -> str:
    (server,) = host_servers(cloud, host)
    return str(server.id)


def server_urn(local: LocalStack, host: str = "lxd-1") -> str:
    resources = local.stack.export_stack().deployment["resources"]
    (urn,) = [r["urn"] for r in resources if r["urn"].endswith(f"::{host}-server")]
    return str(urn)

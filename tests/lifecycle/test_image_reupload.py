"""Re-uploading the hosts' image, as docs/troubleshooting.md ("Re-uploading the hosts' image")
says to, on the local cloud.

A host booted from `lxdhost:image` by name keeps the image it booted from. The documented way to
re-upload: the new image under the same name, then `openstack image set --hidden` on the old
one. Then nothing changes for the hosts that are up, and a host added afterwards boots the new
image. What the page warns of is shown too: once the old image is deleted, a refresh makes the
next `up` rebuild the host, which the preview calls an update of `imageName`.

Stack `scale`'s settings on the fake compute host (marker `scale`), booted from a scratch image
of the project's own: a fake server boots nothing, so any bytes do, and what is proven is the
provider's and Glance's side, which a fake server has as a real one does.
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


def upload(cloud: Connection, made: list[Any]) -> Any:
    """A new image named IMAGE, another one if one is there already."""
    image = cloud.image.create_image(
        IMAGE,
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


def preview_steps(local: LocalStack, name: str) -> tuple[dict[str, str], str]:
    """The preview's steps for the stack's cloud resources, by name (`same` left out), and its
    `--diff` text."""
    events: list[auto.EngineEvent] = []
    result = local.timed(name, local.stack.preview, on_event=events.append, diff=True)
    return engine_steps(events), result.stdout


def test_a_hidden_old_image_changes_nothing_and_new_hosts_boot_the_new_one(
    reupload_stack: LocalStack, cloud: Connection, images: list[Any]
) -> None:
    local = reupload_stack
    assert local.stack.get_config("lxdhost:flavor").value == SETTINGS["LC_FAKE_FLAVOR"]
    assert local.timed("up", local.stack.up).summary.result == "succeeded"
    (old,) = images
    assert image_of(cloud, "lxd-1") == old.id

    new = upload(cloud, images)
    # The documented command, as a user types it.
    subprocess.run(
        ["openstack", "--os-cloud", SETTINGS["LC_CLOUD"], "image", "set", "--hidden", old.id],
        check=True,
        timeout=120,
    )
    refreshed = local.timed("refresh (old image hidden)", local.stack.refresh)
    assert changes(refreshed.summary.resource_changes) == {}
    assert preview_steps(local, "preview (old image hidden)")[0] == {}

    local.stack.set_config("lxdhost:hostCount", auto.ConfigValue("2"))
    grown = local.timed("up (a second host)", local.stack.up)
    # The host's component, port and server.
    assert changes(grown.summary.resource_changes) == {"create": 3}
    assert image_of(cloud, "lxd-1") == old.id
    assert image_of(cloud, "lxd-2") == new.id


def test_deleting_the_old_image_makes_the_next_up_rebuild_its_host(
    reupload_stack: LocalStack, cloud: Connection, images: list[Any]
) -> None:
    local = reupload_stack
    old = images[0]
    assert image_of(cloud, "lxd-1") == old.id
    cloud.image.delete_image(old)
    local.timed("refresh (old image deleted)", local.stack.refresh)
    # An update in the preview's words; the provider rebuilds the server (its root disk).
    steps, diff = preview_steps(local, "preview (old image deleted)")
    assert steps == {"lxd-1-server": "update"}
    assert f'~ imageName: "Image not found" => "{IMAGE}"' in diff, diff

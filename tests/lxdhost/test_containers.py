"""`lxdhost:containers`: every bad entry named, before anything exists."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lxdhost.addressing import AddressRequest, plan_addresses
from lxdhost.containers import ContainerDeclaration, ContainerImage, parse_containers

PLAN = plan_addresses(
    AddressRequest(
        cidr="192.168.0.0/24", host_names=("lxd-1", "lxd-2"), slots_per_host=3, dhcp_pool_size=19
    )
)


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "web1",
        "host": "lxd-1",
        "slot": "slot-01",
        "image": "debian-cloud",
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


def _problems(*entries: object) -> list[str]:
    return parse_containers(json.dumps(list(entries)), PLAN)[1]


def test_a_good_entry_is_read_with_its_defaults() -> None:
    containers, problems = parse_containers([_entry()], PLAN)
    assert problems == []
    assert containers == (
        ContainerDeclaration("web1", "lxd-1", "slot-01", ContainerImage(alias="debian-cloud")),
    )


def test_the_cli_passes_the_list_as_json_text() -> None:
    containers, problems = parse_containers(json.dumps([_entry()]), PLAN)
    assert problems == []
    assert [container.name for container in containers] == ["web1"]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        pytest.param(
            _entry(slot="slot-04"),
            "containers[0].slot: 'slot-04' is not a slot of lxd-1 (slot-01 to slot-03; "
            "slotsPerHost sets how many)",
            id="slot-beyond-the-hosts",
        ),
        pytest.param(
            _entry(host="lxd-9"),
            "containers[0].host: 'lxd-9' is not one of the stack's hosts (lxd-1, lxd-2)",
            id="unknown-host",
        ),
        pytest.param(
            _entry(name="9web"),
            "containers[0].name: '9web' is not a name LXD takes (letters, digits and '-', "
            "starting with a letter, not ending with '-', at most 63)",
            id="name-lxd-refuses",
        ),
        pytest.param(
            _entry(name="web_1"),
            "containers[0].name: 'web_1' is not a name LXD takes (letters, digits and '-', "
            "starting with a letter, not ending with '-', at most 63)",
            id="underscore",
        ),
        pytest.param(
            _entry(image={"file": "/nonexistent/container.tar"}),
            "containers[0].image.file: /nonexistent/container.tar is missing: no such file here",
            id="missing-image-file",
        ),
        pytest.param(
            _entry(image={"alias": "a", "fingerprint": "0123456789ab"}),
            "containers[0].image: needs exactly one of alias, fingerprint or file, not alias "
            "and fingerprint",
            id="two-image-sources",
        ),
        pytest.param(
            _entry(image={"fingerprint": "XYZ"}),
            "containers[0].image.fingerprint: 'XYZ' is not an image fingerprint (12 to 64 "
            "lowercase hex digits)",
            id="bad-fingerprint",
        ),
        pytest.param(
            _entry(image={"fingerprint": "0123456789ab", "server": "https://images.example"}),
            "containers[0].image.server: an image server is read by alias: set alias",
            id="server-without-alias",
        ),
        pytest.param(
            _entry(image=None),
            "containers[0].image: required: an alias on the host, or a mapping with one of "
            "alias, fingerprint or file (and server, protocol for an alias on an image server)",
            id="no-image",
        ),
        pytest.param(
            _entry(userData="packages: [nginx]"),
            "containers[0].userData: user-data text starts with '#cloud-config' (or '#!' for a "
            "script); a mapping is written as a #cloud-config",
            id="user-data-without-header",
        ),
        pytest.param(
            _entry(profiles=["default"]),
            "containers[0].profiles[0]: 'default' is given already (default and the slot's own)",
            id="default-profile-again",
        ),
        pytest.param(
            _entry(color="blue"),
            "containers[0].color: unknown key (known: name, host, slot, image, userData, profiles)",
            id="unknown-key",
        ),
        pytest.param(
            _entry(slot=None),
            "containers[0].slot: required",
            id="no-slot",
        ),
    ],
)
def test_a_bad_entry_is_named_with_its_key(entry: dict[str, object], problem: str) -> None:
    assert _problems(entry) == [problem]


def test_two_containers_in_one_slot_and_a_name_twice_on_a_host() -> None:
    assert _problems(_entry(), _entry(), _entry(host="lxd-2")) == [
        "containers[1].slot: lxd-1's slot-01 is taken by containers[0]",
        "containers[1].name: 'web1' is also containers[0]'s on lxd-1",
    ]


def test_every_bad_entry_is_named_at_once() -> None:
    problems = _problems(_entry(host="nope"), "web2", _entry(name="db-", slot="slot-02"))
    assert [problem.split(":")[0] for problem in problems] == [
        "containers[0].host",
        "containers[1]",
        "containers[2].name",
    ]


def test_a_local_image_file_is_read_by_its_full_path(tmp_path: Path) -> None:
    image = tmp_path / "container.tar"
    image.write_bytes(b"tar")
    containers, problems = parse_containers([_entry(image={"file": str(image)})], PLAN)
    assert problems == []
    # sha256 of b"tar": a new file replaces the containers made from the old one.
    digest = hashlib.sha256(b"tar").hexdigest()
    assert containers[0].image == ContainerImage(file=str(image), file_sha256=digest)
    assert containers[0].image.as_props() == {"file": str(image), "sha256": digest}


def test_a_relative_image_file_is_refused() -> None:
    assert _problems(_entry(image={"file": "container.tar"})) == [
        "containers[0].image.file: 'container.tar' is relative: give its full path"
    ]


def test_user_data_given_as_a_mapping_is_a_cloud_config() -> None:
    containers, _ = parse_containers([_entry(userData={"packages": ["nginx"]})], PLAN)
    assert containers[0].user_data == "#cloud-config\npackages:\n- nginx\n"


def test_a_list_that_is_not_one_is_named() -> None:
    assert parse_containers("{", PLAN)[1] == ["containers: expected a list of mappings, got '{'"]
    assert parse_containers({"name": "web1"}, PLAN)[1] == [
        "containers: expected a list of mappings (a YAML sequence), got {'name': 'web1'}"
    ]

"""What each dynamic provider's diff tells the engine: replace, update, or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from lxdhost.lxdresources import _CertificateProvider, _ContainerProvider, _ProfileProvider

ACCESS = {
    "host": "lxd-1",
    "endpoint": "https://203.0.113.1:8443",
    "serverCertificate": "S",
    "clientCertificate": "C",
    "clientKey": "K",
    "bridge": "br0",
    "bridgeAddress": "192.168.0.3",
    "serverId": "server-1",
}
CONTAINER = {
    **ACCESS,
    "name": "web1",
    "slot": "slot-01",
    "address": "192.168.0.21",
    "image": {"alias": "debian"},
    "profiles": ["default", "slot-01"],
    "userData": "#cloud-config\n",
}


def _container_diff(olds: dict[str, Any], **news: Any) -> tuple[bool | None, list[str]]:
    result = _ContainerProvider().diff("lxd-1/web1", olds, {**CONTAINER, **news})
    return result.changes, list(result.replaces or [])


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        pytest.param({"image": {"alias": "other"}}, ["image"], id="image"),
        pytest.param({"userData": "#cloud-config\npackages: [nginx]\n"}, ["userData"], id="ud"),
        pytest.param({"slot": "slot-02"}, ["slot"], id="slot"),
        pytest.param({"serverId": "server-2"}, ["serverId"], id="host-replaced"),
    ],
)
def test_what_replaces_a_container(change: dict[str, Any], replaces: list[str]) -> None:
    assert _container_diff({**CONTAINER, "status": "Running"}, **change) == (True, replaces)


def test_extra_profiles_and_new_credentials_update_it_in_place() -> None:
    olds = {**CONTAINER, "status": "Running"}
    assert _container_diff(olds, profiles=["default", "slot-01", "web"]) == (True, [])
    assert _container_diff(olds, endpoint="https://203.0.113.9:8443") == (True, [])


def test_a_container_found_stopped_is_started() -> None:
    assert _container_diff({**CONTAINER, "status": "Stopped"}) == (True, [])


def test_a_running_container_as_declared_has_no_change() -> None:
    assert _container_diff({**CONTAINER, "status": "Running"}) == (False, [])


def test_a_profile_changes_in_place_and_is_replaced_with_its_host() -> None:
    profile = {**ACCESS, "name": "slot-01", "description": "d", "config": {}, "devices": {}}
    provider = _ProfileProvider()
    moved = provider.diff("x", profile, {**profile, "devices": {"eth0": {"mtu": "1400"}}})
    assert (moved.changes, moved.replaces) == (True, [])
    rebuilt = provider.diff("x", profile, {**profile, "serverId": "server-2"})
    assert (rebuilt.changes, rebuilt.replaces, rebuilt.delete_before_replace) == (
        True,
        ["serverId"],
        True,
    )
    assert provider.diff("x", profile, dict(profile)).changes is False


def test_a_certificate_is_made_once_and_again_only_for_new_names() -> None:
    provider = _CertificateProvider()
    made = provider.create({"kind": "server", "commonName": "lxd-1", "addresses": ["10.0.0.3"]})
    outs = made.outs or {}
    assert made.id == outs["fingerprint"]
    assert outs["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert outs["key"].startswith("-----BEGIN PRIVATE KEY-----")
    same = provider.diff(
        made.id, outs, {"kind": "server", "commonName": "lxd-1", "addresses": ["10.0.0.3"]}
    )
    assert same.changes is False
    moved = provider.diff(
        made.id, outs, {"kind": "server", "commonName": "lxd-1", "addresses": ["10.0.0.4"]}
    )
    assert moved.replaces == ["addresses"]

"""LXD: container slot profiles, the preseed form, the module form and their rejections."""

from __future__ import annotations

import pytest
import yaml

from tests.userdata.support import assert_problems_start
from userdata.lxd import (
    NETWORK_CONFIG_KEY,
    LxdProfile,
    container_slot_profile,
    module_form,
    preseed,
)
from userdata.validation import UserDataError


def slot(name: str = "slot-01", hwaddr: str = "0a:4c:c0:a8:00:65", **extra: object) -> LxdProfile:
    return container_slot_profile(
        name=name,
        hwaddr=hwaddr,
        address="192.168.0.101/24",
        gateway="192.168.0.1",
        nameservers=("8.8.8.8", "8.8.4.4"),
        **extra,  # type: ignore[arg-type]
    )


def test_slot_profile_has_a_complete_eth0_and_a_version_1_network_config() -> None:
    profile = slot()
    assert profile.name == "slot-01"
    # `-p default -p slot-01`: the slot's eth0 replaces the default's whole device.
    assert profile.devices == {
        "eth0": {"type": "nic", "nictype": "bridged", "name": "eth0", "hwaddr": "0a:4c:c0:a8:00:65"}
    }
    assert list(profile.config) == [NETWORK_CONFIG_KEY] == ["user.network-config"]
    assert yaml.safe_load(profile.config[NETWORK_CONFIG_KEY]) == {
        "version": 1,
        "config": [
            {
                "type": "physical",
                "name": "eth0",
                "mac_address": "0a:4c:c0:a8:00:65",
                "subnets": [
                    {
                        "type": "static",
                        "address": "192.168.0.101/24",
                        "gateway": "192.168.0.1",
                        "dns_nameservers": ["8.8.8.8", "8.8.4.4"],
                    }
                ],
            }
        ],
    }


def test_slot_parent_is_the_bridge_given_or_the_hosts_when_bound() -> None:
    assert slot(bridge="br7").devices["eth0"]["parent"] == "br7"
    assert slot().bound_to("lxbr").devices["eth0"]["parent"] == "lxbr"
    # An explicit parent is never overwritten (the host reports a mismatch instead).
    assert slot(bridge="br7").bound_to("br0").devices["eth0"]["parent"] == "br7"


def test_slot_mtu_goes_to_the_device_and_the_network_config() -> None:
    profile = slot(mtu=1450)
    assert profile.devices["eth0"]["mtu"] == "1450"
    assert yaml.safe_load(profile.config[NETWORK_CONFIG_KEY])["config"][0]["mtu"] == 1450


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"hwaddr": "0A:4C:C0:A8:00:65"}, ["profiles[slot-01].hwaddr:"], id="mac-case"),
        pytest.param(
            {"hwaddr": "03:00:00:00:00:01"}, ["profiles[slot-01].hwaddr:"], id="mac-multicast"
        ),
        pytest.param({"address": "192.168.0.101"}, ["profiles[slot-01].address:"], id="no-prefix"),
        pytest.param({"address": "192.168.0.300/24"}, ["profiles[slot-01].address:"], id="bad-ip"),
        pytest.param(
            {"gateway": "10.0.0.1"},
            ["profiles[slot-01].gateway: 10.0.0.1 is outside"],
            id="gw-outside",
        ),
        pytest.param({"gateway": "192.168.0.101"}, ["profiles[slot-01].gateway:"], id="gw-is-slot"),
        pytest.param(
            {"nameservers": ("dns.google",)}, ["profiles[slot-01].nameservers[0]:"], id="ns"
        ),
        pytest.param({"name": "slot 01"}, ["profiles[slot 01].name:"], id="name"),
        pytest.param(
            {"hwaddr": "x", "address": "y", "gateway": "z"},
            [
                "profiles[slot-01].hwaddr:",
                "profiles[slot-01].address:",
                "profiles[slot-01].gateway:",
            ],
            id="all-at-once",
        ),
    ],
)
def test_slot_rejects_bad_values_naming_each(
    arguments: dict[str, object], expected: list[str]
) -> None:
    values: dict[str, object] = {
        "name": "slot-01",
        "hwaddr": "0a:4c:c0:a8:00:65",
        "address": "192.168.0.101/24",
        "gateway": "192.168.0.1",
        "nameservers": ("8.8.8.8",),
    }
    values.update(arguments)
    with pytest.raises(UserDataError) as caught:
        container_slot_profile(**values)  # type: ignore[arg-type]
    assert_problems_start(caught.value.problems, expected)


def test_preseed_creates_the_pool_the_default_profile_and_the_slots() -> None:
    document = yaml.safe_load(
        preseed(bridge="br0", storage_backend="dir", storage_pool="default", profiles=(slot(),))
    )
    assert document["storage_pools"] == [
        {"name": "default", "driver": "dir", "description": "", "config": {}}
    ]
    default, slot_profile = document["profiles"]
    assert default == {
        "name": "default",
        "description": "Default LXD profile",
        "config": {},
        "devices": {
            "eth0": {"name": "eth0", "nictype": "bridged", "parent": "br0", "type": "nic"},
            "root": {"path": "/", "pool": "default", "type": "disk"},
        },
    }
    assert slot_profile["devices"]["eth0"]["parent"] == "br0"
    assert slot_profile["config"] == dict(slot().config)
    assert "config" not in document  # no core.https_address: the local socket only


def test_preseed_is_the_same_text_whatever_order_the_maps_were_built_in() -> None:
    forwards = LxdProfile(
        "p", {"a": {"type": "disk", "path": "/a"}, "b": {"type": "nic"}}, {"x": "1", "y": "2"}
    )
    backwards = LxdProfile(
        "p", {"b": {"type": "nic"}, "a": {"path": "/a", "type": "disk"}}, {"y": "2", "x": "1"}
    )
    render = lambda p: preseed(bridge="br0", storage_backend="dir", storage_pool="d", profiles=(p,))  # noqa: E731
    assert render(forwards) == render(backwards)


def test_preseed_listens_on_the_https_address_when_given() -> None:
    document = yaml.safe_load(
        preseed(bridge="br0", storage_backend="zfs", storage_pool="tank", https_address="[::]:8443")
    )
    assert document["config"] == {"core.https_address": "[::]:8443"}
    assert document["storage_pools"][0]["driver"] == "zfs"
    assert document["profiles"][0]["devices"]["root"]["pool"] == "tank"


def test_module_form_is_the_blogs_lxd_section() -> None:
    form = module_form(bridge="br0", storage_backend="dir", storage_pool="default")
    assert form.lxd.to_dict() == {
        "init": {"storage_backend": "dir"},
        "bridge": {"mode": "existing", "name": "br0", "ipv4_nat": False},
    }
    assert form.write_files == ()
    assert form.runcmd == ()


def test_module_form_names_a_non_default_pool() -> None:
    form = module_form(bridge="br0", storage_backend="btrfs", storage_pool="fast")
    assert form.lxd.to_dict()["init"] == {"storage_backend": "btrfs", "storage_pool": "fast"}


@pytest.mark.parametrize(
    ("address", "port", "command"),
    [
        pytest.param("10.0.0.5", 9443, "lxc config set core.https_address 10.0.0.5:9443", id="v4"),
        pytest.param("::", None, "lxc config set core.https_address [::]:8443", id="v6-default"),
    ],
)
def test_module_form_without_init_opens_the_api_from_runcmd(
    address: str, port: int | None, command: str
) -> None:
    form = module_form(
        bridge="br0",
        storage_backend="dir",
        storage_pool="default",
        network_address=address,
        network_port=port,
        lxd_init_creates_lxdbr0=True,
    )
    assert "init" not in form.lxd.to_dict()
    assert form.runcmd == (
        "lxc storage create default dir",
        "lxc profile device add default root disk path=/ pool=default",
        command,
    )


def test_module_form_creates_extra_profiles_from_files_after_lxd_init() -> None:
    form = module_form(
        bridge="br0",
        storage_backend="dir",
        storage_pool="default",
        profiles=(slot(), slot("slot-02", "0a:00:00:00:00:02")),
    )
    assert [f.path for f in form.write_files] == [
        "/etc/lxd-profiles/slot-01.yaml",
        "/etc/lxd-profiles/slot-02.yaml",
    ]
    body = yaml.safe_load(form.write_files[0].content)
    assert set(body) == {"description", "config", "devices"}  # `lxc profile edit` input
    assert body["devices"]["eth0"]["parent"] == "br0"
    assert form.runcmd == (
        "lxc profile create slot-01",
        "lxc profile edit slot-01 < /etc/lxd-profiles/slot-01.yaml",
        "lxc profile create slot-02",
        "lxc profile edit slot-02 < /etc/lxd-profiles/slot-02.yaml",
    )


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(
            LxdProfile("p", {"eth0": {"nictype": "bridged"}}),
            ["p.devices.eth0: a device needs a type"],
            id="no-type",
        ),
        pytest.param(
            LxdProfile("p", {"eth0": {"type": "nic", "nictype": "bridged", "parent": "lxdbr0"}}),
            ["p.devices.eth0.parent: 'lxdbr0' is not the host's bridge 'br0'"],
            id="other-bridge",
        ),
        pytest.param(
            LxdProfile("p", {"root": {"type": "disk", "size": 10}}),
            ["p.devices.root.size: 10 must be a string"],
            id="int-value",
        ),  # type: ignore[dict-item]
        pytest.param(
            LxdProfile("p", config={"limits.cpu": 2}),
            ["p.config.limits.cpu: 2 must be a string"],
            id="int-config",
        ),  # type: ignore[dict-item]
        pytest.param(
            LxdProfile("p", {"eth0": {"type": "nic", "hwaddr": "zz"}}),
            ["p.devices.eth0.hwaddr:"],
            id="hwaddr",
        ),
        pytest.param(LxdProfile("a/b"), ["p.name: 'a/b' is not an LXD profile name"], id="name"),
    ],
)
def test_profile_problems_name_the_device_key(profile: LxdProfile, expected: list[str]) -> None:
    assert_problems_start(profile.problems("p", bridge="br0"), expected)

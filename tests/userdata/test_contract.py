"""The entry points the Pulumi program (lxdhost/host.py) calls keep working."""

from __future__ import annotations

import pytest
import yaml

from userdata import (
    NOVA_USER_DATA_LIMIT,
    HostSpec,
    LxdProfile,
    UserDataError,
    encoded_size,
    render_host,
)
from userdata.lxd import container_slot_profile


def slot() -> LxdProfile:
    return container_slot_profile(
        name="slot-01",
        hwaddr="0a:4c:c0:a8:00:65",
        address="192.168.0.101/24",
        gateway="192.168.0.1",
        nameservers=("8.8.8.8", "8.8.4.4"),
    )


def test_program_call_renders_a_cloud_config_within_novas_limit() -> None:
    spec = HostSpec(distro="ubuntu", macaddress="fa:16:3e:12:34:56", profiles=(slot(),))
    text = render_host(spec)
    assert text.startswith("#cloud-config\n")
    assert 0 < encoded_size(text) <= NOVA_USER_DATA_LIMIT
    preseed = yaml.safe_load(yaml.safe_load(text)["lxd"]["preseed"])
    slot_profile = next(p for p in preseed["profiles"] if p["name"] == "slot-01")
    assert slot_profile["devices"]["eth0"] == {
        "type": "nic",
        "nictype": "bridged",
        "parent": "br0",
        "name": "eth0",
        "hwaddr": "0a:4c:c0:a8:00:65",
    }


def test_slot_parent_follows_the_hosts_bridge() -> None:
    text = render_host(HostSpec(bridge="lxdbr1", profiles=(slot(),)))
    preseed = yaml.safe_load(yaml.safe_load(text)["lxd"]["preseed"])
    assert {p["devices"]["eth0"]["parent"] for p in preseed["profiles"]} == {"lxdbr1"}


def test_bad_spec_raises_one_error_naming_every_field() -> None:
    with pytest.raises(UserDataError) as caught:
        render_host(HostSpec(macaddress="zz", interface="bad name", lxd_form="x"))  # type: ignore[arg-type]
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "interface",
        "macaddress",
        "lxd_form",
    ]

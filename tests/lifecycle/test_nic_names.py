"""Both bridge layouts on a guest whose NIC is not `ens3`, through Neutron's real DHCP.

The hosts boot from a copy of the local cloud's Debian image with `hw_video_model=none`: Nova
gives such a guest no video device, so its NIC takes PCI slot 2 and the guest names it `ens2`
(with the cloud's VNC console, the video device holds slot 2 and the NIC is `ens3`, as on most
clouds). The user-data names no NIC: each layout finds the port's by its MAC.

- ifupdown (the image's own), brought up by the reboot: at the second boot, br0's `pre-up`
  finds the NIC and puts it in the bridge.
- netplan, brought up in place: netplan.io comes from the cloud's mirror (which carries both
  layouts' packages), its file matches the NIC by MAC, and the bring-up script finds the NIC's
  name to check the bridge took its address.

Both at `mtu: 1400`, below the 1450 Neutron's DHCP sends: the stack's MTU wins on the NIC and
on br0 (ifupdown: dhclient's `supersede`; netplan: `dhcp4-overrides: use-mtu: false`). The boot
test proves the layouts on a network without Neutron; this is their proof on the real one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from openstack.connection import Connection

from .conftest import (
    MTU,
    SETTINGS,
    USER_DATA_LXD,
    LocalStack,
    assert_bridged,
    hosts_of,
    stack_on_local_cloud,
    wait_until_ready,
)

pytestmark = pytest.mark.lifecycle

IMAGE = "lxdhost-no-video"
# The name the guest gives the port's NIC in PCI slot 2.
NIC = "ens2"


@pytest.fixture(scope="module")
def image_without_video(cloud: Connection) -> Iterator[str]:
    """The cloud's host image, copied into the project with `hw_video_model=none`; deleted at
    the end, whatever happened."""
    source = cloud.image.find_image(SETTINGS["LC_IMAGE"], ignore_missing=False)
    made = None
    try:
        with tempfile.NamedTemporaryFile(suffix=".qcow2") as copy:
            for chunk in cloud.image.download_image(source, stream=True).iter_content(1 << 20):
                copy.write(chunk)
            copy.flush()
            made = cloud.image.create_image(
                IMAGE,
                filename=copy.name,
                disk_format=source.disk_format,
                container_format=source.container_format,
                kernel_id=source.kernel_id,
                ramdisk_id=source.ramdisk_id,
                os_command_line=source.os_command_line,
                hw_video_model="none",
                wait=True,
                timeout=600,
            )
        yield IMAGE
    finally:
        if made is not None:
            cloud.image.delete_image(made, ignore_missing=True)


LAYOUTS = [
    pytest.param({"lxdhost:hostNetwork": "ifupdown", "lxdhost:bringUp": "reboot"}, id="ifupdown"),
    pytest.param({"lxdhost:hostNetwork": "netplan", "lxdhost:bringUp": "in-place"}, id="netplan"),
]


@pytest.fixture(params=LAYOUTS)
def nic_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    image_without_video: str,
) -> Iterator[LocalStack]:
    layout: dict[str, str] = request.param
    config = {
        **USER_DATA_LXD,
        **layout,
        "lxdhost:mtu": str(MTU),
        "lxdhost:image": image_without_video,
    }
    name = f"nic-{layout['lxdhost:hostNetwork']}"
    with stack_on_local_cloud(tmp_path_factory, name, config) as local:
        yield local


def layout_of(local: LocalStack) -> Any:
    return local.stack.get_config("lxdhost:hostNetwork").value


def test_the_layout_bridges_the_ports_nic_by_its_mac_whatever_its_name(
    nic_stack: LocalStack, cloud: Connection
) -> None:
    result = nic_stack.timed("up", nic_stack.stack.up)
    assert result.summary.result == "succeeded"
    (host,) = hosts_of(nic_stack.outputs())
    wait_until_ready(nic_stack, host)
    # The guest named its NIC ens2, and no ens3 exists: no name in the user-data could do.
    links = host.ssh("ls /sys/class/net").split()
    assert NIC in links and "ens3" not in links, links
    assert_bridged(host, cloud, MTU, nic=NIC)
    if layout_of(nic_stack) == "netplan":
        # netplan.io came from the cloud's mirror, and the bridge is netplan's: systemd-networkd
        # manages br0 from the file the user-data wrote, and ifupdown has nothing but loopback.
        assert host.ssh("dpkg-query -W -f '${Status}' netplan.io") == "install ok installed"
        assert "60-br0.yaml" in host.ssh("sudo ls /etc/netplan")
        assert "configured" in host.ssh("networkctl status br0 --no-pager")
        assert "configured" in host.ssh(f"networkctl status {NIC} --no-pager")
        interfaces = host.ssh("cat /etc/network/interfaces").splitlines()
        stanzas = [line.strip() for line in interfaces if line.strip() and not line.startswith("#")]
        assert stanzas == ["auto lo", "iface lo inet loopback"], interfaces
        # The in-place bring-up found the NIC by its MAC and said so in cloud-init's output.
        output = host.ssh("sudo cat /var/log/cloud-init-output.log")
        assert f"lxdhost-bring-up: {NIC} holds" in output, output[-2000:]
    else:
        # ifupdown brought br0 up at the second boot, its pre-up putting the NIC in it.
        journal = host.ssh("sudo journalctl -b -u networking --no-pager")
        assert f"lxdhost-bridge-port: {NIC} (MAC " in journal, journal

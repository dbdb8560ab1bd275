"""The scale mode's VIF plugging (localcloud/lib/fake.sh): a tap in namespace LC_FAKE_NS for each
port bound to the fake compute host LC_FAKE_HOST, as libvirt makes one for a real guest.

Nova's FakeDriver plugs nothing, and the linuxbridge agent acts only on devices that exist: with
a tap, the fake host's agent applies the port's security group and anti-spoofing rules and
reports the port up, as for a real server. A tap whose port is gone or bound elsewhere is
removed. Run by scripts/local-cloud with Debian's python3 in the cloud's namespace, as root; it
polls Neutron every two seconds and touches LC_RUN/fake-vif-plug.beat after each pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import openstack

NAMESPACE = os.environ["LC_FAKE_NS"]
HOST = os.environ["LC_FAKE_HOST"]
BEAT = Path(os.environ["LC_RUN"]) / "fake-vif-plug.beat"
# Nova's and the agent's device name: "tap" and the port id, cut to nova.network.model's
# NIC_NAME_LEN.
NIC_NAME_LEN = 14
PASS_SECONDS = 2.0


def ip(*arguments: str) -> str:
    return subprocess.run(
        ["ip", "-n", NAMESPACE, *arguments], check=True, capture_output=True, text=True
    ).stdout


def wanted(admin: openstack.connection.Connection) -> dict[str, str]:
    """Tap name: the port's MAC, for every Nova port bound to the fake host."""
    return {
        ("tap" + port.id)[:NIC_NAME_LEN]: port.mac_address
        for port in admin.network.ports(**{"binding:host_id": HOST})
        if (port.device_owner or "").startswith("compute:")
        and port.binding_vif_type not in ("unbound", "binding_failed")
    }


def present() -> set[str]:
    names = (line.split(": ")[1].split("@")[0] for line in ip("-o", "link", "show").splitlines())
    return {name for name in names if name.startswith("tap")}


def plug_pass(admin: openstack.connection.Connection) -> None:
    taps, have = wanted(admin), present()
    for name in sorted(taps.keys() - have):
        ip("tuntap", "add", "dev", name, "mode", "tap")
        # libvirt's tap: the guest's MAC with fe as its first octet.
        ip("link", "set", name, "address", "fe" + taps[name][2:], "up")
        print(f"plugged {name}", flush=True)
    for name in sorted(have - taps.keys()):
        ip("link", "delete", name)
        print(f"unplugged {name}", flush=True)


def main() -> int:
    admin = openstack.connect(cloud=os.environ["LC_CLOUD_ADMIN"], load_envvars=False)
    print(f"fake-vif-plug: taps in {NAMESPACE} for the ports bound to {HOST}", flush=True)
    while True:
        try:
            plug_pass(admin)
            BEAT.touch()
        except (openstack.exceptions.SDKException, subprocess.CalledProcessError) as error:
            # Neutron restarting, or a port gone between the two calls: the next pass retries.
            detail = getattr(error, "stderr", "") or ""
            print(f"fake-vif-plug: {error} {detail}".strip(), file=sys.stderr, flush=True)
        time.sleep(PASS_SECONDS)


if __name__ == "__main__":
    sys.exit(main())

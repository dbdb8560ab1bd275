"""The host bridge's files: the ifupdown (blog) and netplan renderers, and their rejections."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.userdata.support import FIXTURES, assert_problems_start
from userdata import HostSpec, render_host
from userdata.cloudconfig import WriteFile
from userdata.host import BringUp
from userdata.network import (
    BRIDGE_LINK_PATH,
    BRIDGE_PORT_PATH,
    CLOUD_INIT_NETPLAN_PATH,
    DHCLIENT_CONF_PATH,
    DISABLE_NETWORK_CONFIG_PATH,
    INTERFACES_PATH,
    HostBridge,
    NetworkRenderer,
    mac_problem,
    render_template,
)

BLOG_INTERFACES = """\
# Re-configure for LXD bridge
auto ens3
auto br0
iface br0 inet dhcp
    bridge_ports ens3

iface ens3 inet manual
    up ip link set ens3 promisc on
"""

BLOG_LINK = """\
[Match]
OriginalName=br0

[Link]
Name=br0
"""


def by_path(files: tuple[WriteFile, ...]) -> dict[str, WriteFile]:
    return {item.path: item for item in files}


def test_ifupdown_writes_the_blogs_files_with_ip_instead_of_ifconfig() -> None:
    files = HostBridge("ifupdown", disable_cloud_init_network=False).files()
    assert [(f.path, f.content, f.permissions) for f in files] == [
        (INTERFACES_PATH, BLOG_INTERFACES, None),
        (BRIDGE_LINK_PATH, BLOG_LINK, None),
    ]


def test_ifupdown_pins_the_port_mac_and_mtu_on_the_bridge() -> None:
    bridge = HostBridge("ifupdown", "eth1", "lxbr", mtu=1450, macaddress="fa:16:3e:00:00:01")
    interfaces = by_path(bridge.files())[INTERFACES_PATH].content
    assert interfaces == (
        "# Re-configure for LXD bridge\n"
        "auto eth1\n"
        "auto lxbr\n"
        "iface lxbr inet dhcp\n"
        "    bridge_ports eth1\n"
        "    hwaddress ether fa:16:3e:00:00:01\n"
        "    mtu 1450\n"
        "\n"
        "iface eth1 inet manual\n"
        "    mtu 1450\n"
        "    up ip link set eth1 promisc on\n"
    )
    assert "Name=lxbr" in by_path(bridge.files())[BRIDGE_LINK_PATH].content


def test_ifupdown_finds_the_nic_by_the_ports_mac_in_the_bridges_pre_up() -> None:
    bridge = HostBridge("ifupdown", macaddress="fa:16:3e:00:00:01", mtu=1400)
    files = by_path(bridge.files())
    assert files[INTERFACES_PATH].content == (
        "# Re-configure for LXD bridge\n"
        "# br0 takes the Neutron port's NIC, found by its MAC whatever the guest named it\n"
        f"# ({BRIDGE_PORT_PATH}), and the port's DHCP address.\n"
        "auto br0\n"
        "iface br0 inet dhcp\n"
        f"    pre-up {BRIDGE_PORT_PATH}\n"
        "    hwaddress ether fa:16:3e:00:00:01\n"
        "    mtu 1400\n"
        "    post-down ip link delete br0\n"
    )
    script = files[BRIDGE_PORT_PATH]
    assert script.permissions == "0755"
    assert '= "fa:16:3e:00:00:01" ]' in script.content
    assert 'ip link set "$nic" mtu 1400 promisc on master br0 up' in script.content


def test_ifupdown_with_a_named_nic_writes_no_pre_up_script() -> None:
    bridge = HostBridge("ifupdown", interface="ens3", macaddress="fa:16:3e:00:00:01")
    files = by_path(bridge.files())
    assert BRIDGE_PORT_PATH not in files
    assert "bridge_ports ens3" in files[INTERFACES_PATH].content


def fake_sys_class_net(root: Path, links: dict[str, tuple[str, bool]]) -> Path:
    """A stand-in for /sys/class/net: each link's `address`, and a `device` link for hardware."""
    (root / "pci-device").mkdir()
    net = root / "net"
    for name, (mac, hardware) in links.items():
        (net / name).mkdir(parents=True)
        (net / name / "address").write_text(mac + "\n")
        if hardware:
            (net / name / "device").symlink_to(root / "pci-device")
    return net


def run_port_nic(net: Path, mac: str) -> subprocess.CompletedProcess[str]:
    """The scripts' `port_nic`, run with `net` mounted over /sys/class/net in a mount
    namespace of its own (as an unprivileged user would too, through a user namespace)."""
    function = render_template("port-nic.sh.j2", macaddress=mac)
    script = f'mount --bind "$1" /sys/class/net\n{function}\nport_nic\n'
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(net)],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip


def test_port_nic_finds_the_nic_with_the_ports_mac_whatever_its_name(tmp_path: Path) -> None:
    mac = "fa:16:3e:00:00:01"
    net = fake_sys_class_net(
        tmp_path,
        {
            "lo": ("00:00:00:00:00:00", False),
            "br0": (mac, False),  # the bridge took the port's MAC: not the NIC
            "ens2": (mac, True),
            "ens4": ("fa:16:3e:00:00:02", True),
            "veth1a2b": ("10:66:6a:00:00:01", False),
        },
    )
    found = run_port_nic(net, mac)
    assert (found.returncode, found.stdout) == (0, "ens2\n"), found.stderr


def test_port_nic_names_the_mac_it_did_not_find(tmp_path: Path) -> None:
    net = fake_sys_class_net(tmp_path, {"br0": ("fa:16:3e:00:00:01", False)})
    found = run_port_nic(net, "fa:16:3e:00:00:01")
    assert found.returncode == 1
    assert found.stdout == ""
    assert "no NIC has the port's MAC fa:16:3e:00:00:01" in found.stderr


def test_ifupdown_disables_cloud_init_network_but_leaves_its_interfaces_d_file_unread() -> None:
    files = by_path(HostBridge("ifupdown").files())
    assert yaml.safe_load(files[DISABLE_NETWORK_CONFIG_PATH].content) == {
        "network": {"config": "disabled"}
    }
    # No `source` line: /etc/network/interfaces.d/50-cloud-init (DHCP on ens3) is never read.
    assert "source" not in files[INTERFACES_PATH].content
    assert CLOUD_INIT_NETPLAN_PATH not in files


def test_netplan_bridges_the_nic_with_dhcp_on_the_bridge_and_the_ports_mac() -> None:
    bridge = HostBridge("netplan", macaddress="fa:16:3e:12:34:56", mtu=1450)
    files = by_path(bridge.files())
    netplan = files["/etc/netplan/60-br0.yaml"]
    assert netplan.permissions == "0600"
    # The NIC is the one with the port's MAC, whatever the guest named it.
    port_nic = {
        "match": {"macaddress": "fa:16:3e:12:34:56"},
        "dhcp4": False,
        "dhcp6": False,
        "mtu": 1450,
    }
    assert yaml.safe_load(netplan.content) == {
        "network": {
            "version": 2,
            "renderer": "networkd",
            "ethernets": {"neutron-port": port_nic},
            "bridges": {
                "br0": {
                    "interfaces": ["neutron-port"],
                    "macaddress": "fa:16:3e:12:34:56",
                    "mtu": 1450,
                    "dhcp4": True,
                    # The stack's MTU, not the one Neutron's DHCP sends.
                    "dhcp4-overrides": {"use-mtu": False},
                    "parameters": {"stp": False, "forward-delay": 0},
                }
            },
        }
    }


def test_netplan_bridges_a_named_nic_by_its_name_even_with_the_ports_mac() -> None:
    bridge = HostBridge("netplan", interface="enp1s0", macaddress="fa:16:3e:12:34:56")
    netplan = yaml.safe_load(by_path(bridge.files())["/etc/netplan/60-br0.yaml"].content)
    assert netplan["network"]["ethernets"] == {"enp1s0": {"dhcp4": False, "dhcp6": False}}
    assert netplan["network"]["bridges"]["br0"]["interfaces"] == ["enp1s0"]


def test_netplan_without_mac_or_mtu_leaves_them_to_systemd_and_dhcp() -> None:
    netplan = yaml.safe_load(
        by_path(HostBridge("netplan").files())["/etc/netplan/60-br0.yaml"].content
    )
    assert "macaddress" not in netplan["network"]["bridges"]["br0"]
    assert "dhcp4-overrides" not in netplan["network"]["bridges"]["br0"]
    assert netplan["network"]["ethernets"] == {"ens3": {"dhcp4": False, "dhcp6": False}}


def test_ifupdown_keeps_the_stacks_mtu_over_dhcps() -> None:
    bridge = HostBridge("ifupdown", "eth1", "lxbr", mtu=1400, macaddress="fa:16:3e:00:00:01")
    dhclient = by_path(bridge.files())[DHCLIENT_CONF_PATH]
    # Added to the distro's dhclient.conf, not written over it.
    assert dhclient.append
    assert 'interface "lxbr" {\n  supersede interface-mtu 1400;\n}\n' in dhclient.content


def test_ifupdown_without_an_mtu_leaves_dhclient_as_it_is() -> None:
    assert DHCLIENT_CONF_PATH not in by_path(HostBridge("ifupdown").files())


def test_netplan_neutralises_cloud_inits_file_and_disables_its_network_config() -> None:
    files = HostBridge("netplan").files()
    assert [f.path for f in files] == [
        "/etc/netplan/60-br0.yaml",
        CLOUD_INIT_NETPLAN_PATH,
        DISABLE_NETWORK_CONFIG_PATH,
    ]
    neutralised = by_path(files)[CLOUD_INIT_NETPLAN_PATH]
    assert yaml.safe_load(neutralised.content) == {"network": {"version": 2}}
    assert neutralised.permissions == "0600"


def test_netplan_on_debian_also_replaces_ifupdowns_interfaces_file() -> None:
    files = by_path(HostBridge("netplan", replace_interfaces=True).files())
    interfaces = files[INTERFACES_PATH].content
    assert "iface lo inet loopback" in interfaces
    assert "\nsource" not in interfaces
    assert "ens3" not in interfaces.split("\n", 2)[-1]  # only the comment names it


def test_without_disabling_cloud_init_only_the_bridge_file_is_written() -> None:
    files = HostBridge("netplan", disable_cloud_init_network=False).files()
    assert [f.path for f in files] == ["/etc/netplan/60-br0.yaml"]


@pytest.mark.parametrize(
    ("bridge", "expected"),
    [
        pytest.param(HostBridge("networkd"), ["host_network: 'networkd'"], id="renderer"),  # type: ignore[arg-type]
        pytest.param(HostBridge("netplan", interface="ens3 "), ["interface: 'ens3 '"], id="space"),
        pytest.param(
            HostBridge("netplan", bridge="a-very-long-bridge"),
            ["bridge: 'a-very-long-bridge' is not a Linux interface name"],
            id="name-over-15",
        ),
        pytest.param(HostBridge("netplan", bridge="ens3"), ["bridge: 'ens3' is also"], id="same"),
        pytest.param(
            HostBridge("netplan", interface="br0", macaddress="fa:16:3e:12:34:56"),
            ["interface: 'br0' is the bridge's name"],
            id="named-as-the-bridge",
        ),
        pytest.param(HostBridge("netplan", mtu=100), ["mtu: 100 is outside"], id="mtu-low"),
        pytest.param(HostBridge("netplan", mtu=True), ["mtu: True is outside"], id="mtu-bool"),  # type: ignore[arg-type]
        pytest.param(
            HostBridge("ifupdown", macaddress="FA:16:3E:12:34:56"),
            ["macaddress: 'FA:16:3E:12:34:56' is not a MAC"],
            id="mac-upper-case",
        ),
        pytest.param(
            HostBridge("ifupdown", macaddress="fa:16:3e:12:34"),
            ["macaddress: 'fa:16:3e:12:34' is not a MAC"],
            id="mac-five-octets",
        ),
        pytest.param(
            HostBridge("ifupdown", macaddress="fa-16-3e-12-34-56"),
            ["macaddress: 'fa-16-3e-12-34-56' is not a MAC"],
            id="mac-dashes",
        ),
        pytest.param(
            HostBridge("ifupdown", macaddress="01:00:5e:00:00:01"),
            ["macaddress: '01:00:5e:00:00:01' is a multicast MAC"],
            id="mac-multicast",
        ),
        pytest.param(
            HostBridge("ifupdown", interface="", bridge="", macaddress="x"),
            ["interface: ''", "bridge: ''", "interface: '' is the bridge's", "macaddress: 'x'"],
            id="everything-at-once",
        ),
    ],
)
def test_rejects_bad_bridge_parameters(bridge: HostBridge, expected: list[str]) -> None:
    assert_problems_start(bridge.problems(), expected)


def test_mac_problem_accepts_a_neutron_port_mac() -> None:
    assert mac_problem("fa:16:3e:12:34:56", "macaddress") is None


READY_PATH_LINE = "PATH=$PATH:/usr/sbin:/sbin:/snap/bin\n"


def run_ready_script(
    bridge: HostBridge, also: str, installed: list[str], bin_dir: Path
) -> tuple[int, str]:
    """Runs the rendered readiness script with only `installed` on a PATH of its own."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "lxdhost-ready"
    # The script adds the system's sbin folders to PATH, where this machine may have the very
    # tools a case leaves out: here only the stubs are on it.
    content = bridge.ready_file(also).content
    assert content.count(READY_PATH_LINE) == 1
    script.write_text(content.replace(READY_PATH_LINE, ""))
    script.chmod(0o755)
    for name in installed:
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", str(script)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("renderer", "tools"), [("ifupdown", ["ifup", "brctl"]), ("netplan", ["netplan"])]
)
def test_the_ready_script_passes_only_when_the_layouts_tools_and_lxd_are_installed(
    renderer: NetworkRenderer, tools: list[str], tmp_path: Path
) -> None:
    bridge = HostBridge(renderer)
    # A command no machine has stands in for LXD, which this machine may or may not have.
    lxd = "lxdhost-test-lxd"
    assert run_ready_script(bridge, lxd, [*tools, lxd], tmp_path / "all") == (0, "")
    for missing in (*tools, lxd):
        status, stderr = run_ready_script(
            bridge, lxd, [t for t in (*tools, lxd) if t != missing], tmp_path / missing
        )
        # 2, not 1: cloud-init's power_state warns when a condition fails with anything but 1.
        assert status == 2, stderr
        assert f"not installed: {missing};" in stderr


@pytest.mark.parametrize(
    ("fixture", "host_network", "bring_up"),
    [
        ("named-nic-ifupdown-in-place.yaml", "ifupdown", "in-place"),
        ("named-nic-netplan-reboot.yaml", "netplan", "reboot"),
    ],
)
def test_a_named_nic_renders_the_user_data_hosts_had_before_the_nic_was_found_by_mac(
    fixture: str, host_network: NetworkRenderer, bring_up: BringUp
) -> None:
    # The fixtures are what the builder rendered for these hosts before it could find the NIC
    # by its MAC: with `interface: ens3`, a stack's hosts keep their user_data, so an `up` does
    # not replace them.
    spec = HostSpec(
        distro="debian",
        host_network=host_network,
        interface="ens3",
        macaddress="fa:16:3e:12:34:56",
        mtu=1400,
        bring_up=bring_up,
    )
    assert render_host(spec) == (FIXTURES / fixture).read_text()

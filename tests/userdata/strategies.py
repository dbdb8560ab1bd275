"""Hypothesis strategies for valid host descriptions: every HostSpec knob, varied together."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from userdata import HostSpec, LxdProfile
from userdata.host import HOST_OPTIONS
from userdata.lxd import container_slot_profile
from userdata.network import nic_name

interface_names = st.from_regex(
    r"[a-z][a-z0-9]{0,6}([_-][a-z0-9]{1,3})?(\.[1-9][0-9]{0,2})?", fullmatch=True
)
# Free text where the user gives some: quotes, colons, '#', unicode, newlines, leading spaces.
free_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"
    )
    | st.sampled_from(["\n", ":", "#", "'", '"', " ", "-", "|"]),
    min_size=1,
    max_size=40,
).filter(lambda text: text.strip() != "")
ssh_keys = st.builds(
    lambda kind, body, comment: f"{kind} AAAA{body}{comment}",
    st.sampled_from(["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"]),
    st.from_regex(r"[A-Za-z0-9+/]{8,40}={0,2}", fullmatch=True),
    st.sampled_from(["", " operator@example", " ci key"]),
)


def _mac(prefix: str, value: int) -> str:
    octets = value.to_bytes(6, "big")[len(prefix.split(":")) :]
    return ":".join([*prefix.split(":"), *(f"{octet:02x}" for octet in octets)])


@st.composite
def slot_profiles(draw: st.DrawFn) -> tuple[LxdProfile, ...]:
    prefix = draw(st.integers(16, 30))
    network = ipaddress.ip_network(f"10.{draw(st.integers(0, 255))}.0.0/{prefix}")
    hosts = draw(st.lists(st.integers(2, 2 ** (32 - prefix) - 2), unique=True, max_size=4))
    macs = draw(
        st.lists(st.integers(0, 2**24 - 1), unique=True, min_size=len(hosts), max_size=len(hosts))
    )
    nameservers = tuple(
        draw(
            st.lists(
                st.sampled_from(["8.8.8.8", "8.8.4.4", "2001:4860:4860::8888"]),
                unique=True,
                max_size=2,
            )
        )
    )
    mtu = draw(st.none() | st.integers(1280, 9000))
    return tuple(
        container_slot_profile(
            name=f"slot-{index + 1:02}",
            hwaddr=_mac("0a:4c:c0", mac),
            address=f"{network.network_address + host}/{prefix}",
            gateway=str(network.network_address + 1),
            nameservers=nameservers,
            mtu=mtu,
        )
        for index, (host, mac) in enumerate(zip(hosts, macs, strict=True))
    )


# Each host option with choices (a Literal field), as HostSpec declares them; None where unset is
# a choice too.
CHOICES: dict[str, tuple[object, ...]] = {
    option.name: (*option.choices, *((None,) if option.optional else ()))
    for option in HOST_OPTIONS
    if option.choices
}


@st.composite
def host_specs(
    draw: st.DrawFn,
    distro: str | None = None,
    host_network: str | None = None,
    lxd_init: str | None = None,
) -> HostSpec:
    """Valid hosts; `distro`, `host_network` and `lxd_init` pin those choices when given."""
    pinned = {"distro": distro, "host_network": host_network, "lxd_init": lxd_init}
    choices: dict[str, Any] = {
        name: pinned.get(name) or draw(st.sampled_from(values)) for name, values in CHOICES.items()
    }
    # Unset, the NIC is the one with the MAC (as on every stack), or ens3 without one.
    interface = draw(st.none() | interface_names)
    macaddress = draw(st.none() | st.integers(0, 2**24 - 1).map(lambda n: _mac("fa:16:3e", n)))
    named = nic_name(interface, macaddress)
    bridge = draw(interface_names.filter(lambda name: name != named))
    return HostSpec(
        **choices,
        interface=interface,
        bridge=bridge,
        mtu=draw(st.none() | st.integers(576, 9216)),
        macaddress=macaddress,
        disable_cloud_init_network=draw(st.booleans()),
        storage_pool=draw(st.sampled_from(["default", "pool1", "fast.ssd"])),
        lxd_api_address=draw(st.none() | st.sampled_from(["0.0.0.0", "::", "192.168.0.5"])),
        lxd_api_port=draw(st.integers(1, 65535)),
        packages=tuple(
            draw(
                st.lists(
                    st.sampled_from(["htop", "jq", "curl", "zfsutils-linux", "lxd"]),
                    unique=True,
                    max_size=3,
                )
            )
        ),
        package_update=draw(st.booleans()),
        package_upgrade=draw(st.booleans()),
        ssh_authorized_keys=tuple(draw(st.lists(ssh_keys, max_size=2))),
        profiles=draw(slot_profiles()),
        runcmd=tuple(
            draw(
                st.lists(
                    free_text | st.lists(free_text, min_size=1, max_size=3).map(tuple), max_size=2
                )
            )
        ),
        reboot_message=draw(free_text),
        reboot_timeout=draw(st.integers(0, 600)),
    )


# Values of the wrong type or shape, for the "UserDataError or valid, never a crash" properties.
junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=12)
    | st.sampled_from(["ubuntu", "debian", "netplan", "ifupdown", "module", "dir", "br0", "ens3"])
    | st.sampled_from(["fa:16:3e:00:00:01", "10.0.0.5/24", "10.0.0.1", "slot-01", "/etc/x"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
junk_profiles = st.builds(
    LxdProfile,
    name=junk,
    devices=junk
    | st.dictionaries(st.text(max_size=5), junk | st.dictionaries(st.text(max_size=5), junk)),
    config=junk | st.dictionaries(st.text(max_size=5), junk),
    description=junk,
)

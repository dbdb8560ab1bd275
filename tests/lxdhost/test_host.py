"""`LxdHost` on its own, under Pulumi's mocks: port, server, floating IP and their wiring.

Assertions run inside `Output.apply` in `@pulumi.runtime.test` functions, which wait for them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address
from typing import Any

import pulumi
import pytest
import yaml

import lxdhost.host
from lxdhost import tokens, trust
from lxdhost.addressing import ContainerSlot, slot_mac_address
from lxdhost.host import (
    ContainerAccess,
    HostTrust,
    LxdHost,
    LxdHostArgs,
    host_spec,
    slot_profiles,
    stand_in_user_data,
)
from lxdhost.offline import CloudMocks
from userdata import HostSpec, render_host

SLOTS = tuple(
    ContainerSlot(
        name=f"slot-0{n}",
        ip_address=IPv4Address(f"10.0.0.{20 + n}"),
        mac_address=slot_mac_address(IPv4Address(f"10.0.0.{20 + n}")),
    )
    for n in range(1, 4)
)


# What the mocked Neutron hands out, written here so that the tests can name it.
LEASED_ADDRESSES = ["10.0.0.5", "10.0.0.6"]
FLOATING_ADDRESS = "203.0.113.7"


class LeasingMocks(CloudMocks):
    """Neutron's answers with known addresses: a port holds two, a floating IP is fixed."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ == tokens.PORT:
            outputs["allFixedIps"] = LEASED_ADDRESSES
        if args.typ == tokens.FLOATING_IP:
            outputs["address"] = FLOATING_ADDRESS
        return resource_id, outputs


@pytest.fixture(autouse=True)
def mocks() -> Iterator[None]:
    pulumi.runtime.set_mocks(LeasingMocks(), project="lxdhost", stack="unit", preview=False)
    yield


def args(**changes: Any) -> LxdHostArgs:
    values: dict[str, Any] = {
        "network_id": "net-1",
        "subnet_id": "subnet-1",
        "image_name": "ubuntu-24.04",
        "flavor_name": "m1.medium",
        "container_slots": SLOTS,
        "prefix_length": 24,
        "gateway_ip": "10.0.0.1",
        "dns_nameservers": ("10.0.0.2",),
        "security_group_ids": ("sg-1",),
        "key_pair": "ops",
    }
    values.update(changes)
    return LxdHostArgs(**values)


def bridge_mac(user_data: str) -> str:
    document = yaml.safe_load(user_data)
    for entry in document["write_files"]:
        if entry["path"] == "/etc/netplan/60-br0.yaml":
            return str(yaml.safe_load(entry["content"])["network"]["bridges"]["br0"]["macaddress"])
    raise AssertionError("no netplan bridge file")


def profile_names(user_data: str) -> list[str]:
    preseed = yaml.safe_load(yaml.safe_load(user_data)["lxd"]["preseed"])
    return [profile["name"] for profile in preseed["profiles"]]


@pulumi.runtime.test
def test_port_pairs_are_the_slots_with_their_macs() -> pulumi.Output[None]:
    host = LxdHost("lxd-1", args())

    def check(values: Sequence[Any]) -> None:
        pairs, enabled, groups = values
        assert [(p["ip_address"], p["mac_address"]) for p in pairs] == [
            (str(slot.ip_address), slot.mac_address) for slot in SLOTS
        ]
        assert enabled is True
        assert groups == ["sg-1"]

    return pulumi.Output.all(
        host.port.allowed_address_pairs,
        host.port.port_security_enabled,
        host.port.security_group_ids,
    ).apply(check)


@pulumi.runtime.test
def test_user_data_pins_br0_to_the_ports_mac_and_carries_one_profile_per_slot() -> pulumi.Output[
    None
]:
    host = LxdHost("lxd-1", args())

    def check(values: Sequence[Any]) -> None:
        mac, user_data = values
        assert mac.startswith("fa:16:3e:")
        assert bridge_mac(user_data) == mac
        assert profile_names(user_data) == ["default", "slot-01", "slot-02", "slot-03"]

    return pulumi.Output.all(host.port.mac_address, host.server.user_data).apply(check)


@pulumi.runtime.test
def test_server_boots_on_the_port_with_the_key_pair() -> pulumi.Output[None]:
    host = LxdHost("lxd-1", args())

    def check(values: Sequence[Any]) -> None:
        networks, port_id, key_pair, image_name, groups = values
        assert [network["port"] for network in networks] == [port_id]
        assert (key_pair, image_name) == ("ops", "ubuntu-24.04")
        assert not groups, "security groups belong on the port, not the server"

    return pulumi.Output.all(
        host.server.networks,
        host.port.id,
        host.server.key_pair,
        host.server.image_name,
        host.server.security_groups,
    ).apply(check)


@pulumi.runtime.test
def test_port_security_off_has_no_pairs_and_no_groups() -> pulumi.Output[None]:
    host = LxdHost(
        "lxd-1", args(container_access=ContainerAccess.PORT_SECURITY_OFF, security_group_ids=())
    )

    def check(values: Sequence[Any]) -> None:
        enabled, no_groups, pairs, groups = values
        assert enabled is False
        assert no_groups is True
        assert not pairs
        assert not groups

    return pulumi.Output.all(
        host.port.port_security_enabled,
        host.port.no_security_groups,
        host.port.allowed_address_pairs,
        host.port.security_group_ids,
    ).apply(check)


@pulumi.runtime.test
def test_outputs_name_the_ports_first_address_and_the_slots() -> pulumi.Output[None]:
    host = LxdHost("lxd-1", args())

    def check(values: Sequence[Any]) -> None:
        fixed_ip, floating_ip, slots = values
        assert fixed_ip == "10.0.0.5"
        assert floating_ip is None
        assert slots["slot-02"] == {"ip": "10.0.0.22", "mac": "0a:4c:0a:00:00:16"}

    return pulumi.Output.all(
        host.fixed_ip, host.floating_ip_address, pulumi.Output.from_input(host.container_slots)
    ).apply(check)


@pulumi.runtime.test
def test_floating_ip_from_the_pool_on_the_port() -> pulumi.Output[None]:
    host = LxdHost("lxd-1", args(floating_ip_pool="public"))
    assert host.floating_ip is not None

    def check(values: Sequence[Any]) -> None:
        pool, port_id, floating_port, floating_ip, fixed_ip = values
        assert pool == "public"
        assert floating_port == port_id
        assert (floating_ip, fixed_ip) == ("203.0.113.7", "10.0.0.5")

    return pulumi.Output.all(
        host.floating_ip.pool,
        host.port.id,
        host.floating_ip.port_id,
        host.floating_ip_address,
        host.fixed_ip,
    ).apply(check)


@pulumi.runtime.test
def test_explicit_mtu_wins_over_the_networks() -> pulumi.Output[None]:
    host = LxdHost("lxd-1", args(mtu=1400, network_mtu=1450))

    def check(user_data: str) -> None:
        assert "mtu: 1400" in user_data
        assert "1450" not in user_data

    return host.server.user_data.apply(lambda text: check(str(text)))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        pytest.param(
            {"max_address_pairs": 2}, "container_slots: 3 slots", id="more-slots-than-pairs"
        ),
        pytest.param(
            {"container_access": ContainerAccess.PORT_SECURITY_OFF},
            "security_group_ids",
            id="groups-without-port-security",
        ),
        pytest.param({"boot_volume_size": 20}, "boot_image_id", id="volume-without-image-id"),
        pytest.param({"container_slots": SLOTS + SLOTS[:1]}, "repeat", id="repeated-slot"),
    ],
)
def test_invalid_args_are_refused_naming_the_input(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        LxdHost("lxd-1", args(**changes))


def test_slot_profiles_carry_address_gateway_dns_and_mac() -> None:
    (profile,) = slot_profiles(
        SLOTS[:1], prefix_length=24, gateway_ip="10.0.0.1", dns_nameservers=["10.0.0.2"], mtu=None
    )
    assert profile.name == "slot-01"
    assert profile.devices["eth0"]["hwaddr"] == "0a:4c:0a:00:00:15"
    network = yaml.safe_load(profile.config["user.network-config"])
    (static,) = network["config"][0]["subnets"]
    assert (static["address"], static["gateway"], static["dns_nameservers"]) == (
        "10.0.0.21/24",
        "10.0.0.1",
        ["10.0.0.2"],
    )


class NewServerAtPreview(LeasingMocks):
    """A preview of a new stack: the engine has no id for a server it has not created."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        return ("" if args.typ == tokens.INSTANCE else resource_id), outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.calls.append(args.token)
        return super().call(args)


def test_a_server_not_created_yet_is_not_looked_up() -> None:
    mocks = NewServerAtPreview()
    pulumi.runtime.set_mocks(mocks, project="lxdhost", stack="unit", preview=True)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def declare() -> pulumi.Output[Any]:
        return LxdHost("lxd-1", args()).server_status

    declare()  # waits for every apply, the lookup's included, had it been started
    assert mocks.calls == []


class WarningsKept(logging.Logger):
    def __init__(self) -> None:
        super().__init__("test_host.warnings")
        self.warnings: list[str] = []

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.warnings.append(str(msg))


class NovaDoesNotAnswer(LeasingMocks):
    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        if args.token == tokens.GET_INSTANCE:
            return {}, [("id", "Nova did not answer")]
        return super().call(args)


def test_a_lookup_that_fails_is_a_warning_naming_the_host_not_a_failure() -> None:
    log = WarningsKept()
    pulumi.runtime.set_mocks(
        NovaDoesNotAnswer(), project="lxdhost", stack="unit", preview=False, logger=log
    )

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def declare() -> pulumi.Output[None]:
        def check(status: str | None) -> None:
            assert status is None

        return LxdHost("lxd-1", args(os_cloud="prod")).server_status.apply(check)

    declare()
    (warning,) = log.warnings
    assert warning.startswith("LXD host lxd-1: the status of its server ")
    assert "Nova did not answer" in warning and "openstack --os-cloud prod server show" in warning


def test_the_stand_in_user_data_bounds_the_real_one_with_the_stacks_certificates() -> None:
    """Through LXD's API the user_data carries certificates made only at `up` (ECDSA, whose
    signatures vary in length): the bound judged at preview holds for any of them."""
    host_args = args(lxd_client_certificate="", lxd_client_key="")
    bound = len(stand_in_user_data(host_args).encode())
    for _ in range(20):
        server = trust.server_certificate("x" * 63, ["255.255.255.255", "255.255.255.254"])
        client = trust.client_certificate("y" * 200)
        real = render_host(
            host_spec(
                host_args,
                macaddress="fa:16:3e:12:34:56",
                mtu=9000,
                lxd_trust=HostTrust(server.certificate, server.private_key, client.certificate),
            )
        )
        assert len(real.encode()) <= bound


def test_the_stand_in_user_data_is_the_same_at_every_run() -> None:
    """Each run of the program measures it afresh, and the stack keeps the figure
    (`userDataMaxBytes`): a figure that moved would show the host as changed on each preview."""
    host_args = args(lxd_client_certificate="", lxd_client_key="")
    first = stand_in_user_data(host_args)
    lxdhost.host._stand_in_trust.cache_clear()
    lxdhost.host._STAND_IN_RENDERS.clear()
    assert stand_in_user_data(host_args) == first


def test_every_host_spec_field_is_in_its_repr() -> None:
    # The stand-in renders are kept by the spec's repr: a field left out of it would let two
    # specs that differ share one user_data.
    assert [f.name for f in dataclasses.fields(HostSpec) if not f.repr] == []

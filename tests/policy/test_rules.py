"""Each policy rule on resource inputs recorded from the program's own runs under mocks.

A passing case is a stack as shipped or as a user may configure it; a failing case is a stack
configured the way the rule forbids or, where the program itself never builds such a resource,
a recorded resource with the one input that breaks the rule changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from lxdhost import tokens
from lxdhost.offline import RecordedResource, list_stacks
from policy import rules
from tests.stacks import Stacks

ADMIN_PORTS = rules.admin_ports()


Resources = Callable[..., list[RecordedResource]]
Named = Callable[..., Mapping[str, Any]]


@pytest.fixture
def resources(stacks: Stacks) -> Resources:
    """The resources of a type the program declares for a stack with some lxdhost: keys changed."""

    def declared(stack: str, type_: str, **settings: Any) -> list[RecordedResource]:
        found = stacks.run(stack, **settings).of_type(type_)
        assert found, f"{stack} declares no {type_}"
        return found

    return declared


@pytest.fixture
def named(stacks: Stacks) -> Named:
    """The inputs of the resource of that name, for a stack with some lxdhost: keys changed."""

    def inputs(stack: str, name: str, **settings: Any) -> Mapping[str, Any]:
        return stacks.run(stack, **settings).named(name).inputs

    return inputs


# --- stack names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "production"),
    [
        pytest.param("prod", True, id="prod"),
        pytest.param("prod-eu", True, id="prod-prefix"),
        pytest.param("Production", True, id="any-case"),
        pytest.param("dev", False, id="dev"),
        pytest.param("preprod", False, id="prod-inside-the-name"),
    ],
)
def test_is_production(stack: str, production: bool) -> None:
    assert rules.is_production(stack) is production


def test_the_stack_and_parents_come_from_the_urn(stacks: Stacks) -> None:
    port = stacks.run("prod").named("lxd-a-port")
    assert rules.stack_of(port.urn) == "prod"
    assert rules.parent_types(port.urn)[-1] == tokens.LXD_HOST
    assert rules.is_lxd_host_port(port.type, port.urn)
    subnet = stacks.run("prod").named("tenant-subnet")
    assert not rules.is_lxd_host_port(subnet.type, subnet.urn)


def test_a_port_outside_an_lxd_host_is_not_an_lxd_host_port() -> None:
    # As the engine spells a port declared at the top of a program.
    urn = "urn:pulumi:dev::lxdhost::openstack:networking/port:Port::bastion"
    assert not rules.is_lxd_host_port(tokens.PORT, urn)


# --- no SSH or LXD API open to the world --------------------------------------------------------


def test_the_shipped_stacks_open_nothing_to_the_world(resources: Resources) -> None:
    for stack in list_stacks():
        for rule in resources(stack, tokens.SEC_GROUP_RULE):
            assert rules.world_open_admin_ingress(rule.inputs, ADMIN_PORTS) == [], rule.name


@pytest.mark.parametrize(
    ("settings", "rule_name", "expected"),
    [
        pytest.param(
            {"sshIngress": ["0.0.0.0/0"]},
            "hosts-ssh-0.0.0.0-0",
            "opens SSH (22/tcp) to 0.0.0.0/0: list only the CIDRs that need it in "
            "lxdhost:sshIngress",
            id="ssh-from-ipv4-world",
        ),
        pytest.param(
            {"lxdApiIngress": ["::/0"]},
            "hosts-lxd-api-..-0",
            "opens LXD's API (8443/tcp) to ::/0: list only the CIDRs that need it in "
            "lxdhost:lxdApiIngress",
            id="lxd-api-from-ipv6-world",
        ),
    ],
)
def test_a_stack_that_opens_admin_ports_to_the_world_is_reported(
    settings: dict[str, Any], rule_name: str, expected: str, named: Named
) -> None:
    rule = named("dev", rule_name, **settings)
    assert rules.world_open_admin_ingress(rule, ADMIN_PORTS) == [f"security group rule {expected}"]


def test_icmp_from_the_world_is_not_an_admin_port(named: Named) -> None:
    rule = named("dev", "hosts-icmp-0.0.0.0-0", sshIngress=["0.0.0.0/0"])
    assert rules.world_open_admin_ingress(rule, ADMIN_PORTS) == []


def test_the_hosts_own_group_is_not_the_world(named: Named) -> None:
    rule = named("dev", "hosts-members-ipv4")
    assert rule["remoteGroupId"]
    assert rules.world_open_admin_ingress(rule, ADMIN_PORTS) == []


def test_a_new_group_is_not_the_world_before_its_id_is_known(named: Named) -> None:
    rule = {**named("dev", "hosts-members-ipv4"), "remoteGroupId": rules.UNKNOWN}
    assert rules.world_open_admin_ingress(rule, ADMIN_PORTS) == []


def test_a_prefix_known_only_after_a_create_is_left_for_up(named: Named) -> None:
    rule = {**named(*SSH_RULE), "remoteIpPrefix": rules.UNKNOWN}
    with pytest.raises(rules.UnknownInputError) as raised:
        rules.world_open_admin_ingress(rule, ADMIN_PORTS)
    assert raised.value.path == "remoteIpPrefix"


SSH_RULE = ("dev", "hosts-ssh-203.0.113.0-24")


@pytest.mark.parametrize(
    ("change", "exposed"),
    [
        pytest.param({}, None, id="as-shipped"),
        pytest.param({"remoteIpPrefix": "0.0.0.0/0"}, "SSH (22/tcp) to 0.0.0.0/0", id="world-v4"),
        pytest.param(
            {"remoteIpPrefix": "0.0.0.0/00"}, "SSH (22/tcp) to 0.0.0.0/0", id="world-v4-spelt-oddly"
        ),
        pytest.param(
            {"remoteIpPrefix": "10.1.2.3/0"}, "SSH (22/tcp) to 0.0.0.0/0", id="host-bits-in-a-/0"
        ),
        pytest.param({"remoteIpPrefix": "::/0"}, "SSH (22/tcp) to ::/0", id="world-v6"),
        pytest.param(
            {"remoteIpPrefix": None},
            "SSH (22/tcp) to any address (no remote prefix or group)",
            id="no-remote-means-anywhere",
        ),
        pytest.param(
            {"remoteIpPrefix": "0.0.0.0/0", "portRangeMin": None, "portRangeMax": None},
            "SSH (22/tcp) and LXD's API (8443/tcp) to 0.0.0.0/0",
            id="every-port",
        ),
        pytest.param(
            {
                "remoteIpPrefix": "0.0.0.0/0",
                "protocol": None,
                "portRangeMin": None,
                "portRangeMax": None,
            },
            "SSH (22/tcp) and LXD's API (8443/tcp) to 0.0.0.0/0",
            id="every-protocol",
        ),
        pytest.param(
            {"remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 1.0, "portRangeMax": 1024.0},
            "SSH (22/tcp) to 0.0.0.0/0",
            id="range-covering-ssh",
        ),
        pytest.param(
            {"remoteIpPrefix": "0.0.0.0/0", "protocol": "6"},
            "SSH (22/tcp) to 0.0.0.0/0",
            id="tcp-by-number",
        ),
        pytest.param({"remoteIpPrefix": "0.0.0.0/0", "protocol": "udp"}, None, id="udp"),
        pytest.param({"remoteIpPrefix": "0.0.0.0/0", "direction": "egress"}, None, id="egress"),
        pytest.param(
            {"remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 80.0, "portRangeMax": 443.0},
            None,
            id="web-ports-only",
        ),
        pytest.param({"remoteIpPrefix": "0.0.0.0/1"}, None, id="half-the-world-is-a-prefix"),
        pytest.param({"remoteIpPrefix": None, "remoteGroupId": "group"}, None, id="from-a-group"),
    ],
)
def test_world_open_admin_ingress(
    change: dict[str, Any], exposed: str | None, named: Named
) -> None:
    rule = {**named(*SSH_RULE), **change}
    messages = rules.world_open_admin_ingress(rule, ADMIN_PORTS)
    if exposed is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert messages[0].startswith(f"security group rule opens {exposed}: ")


def test_the_lxd_api_port_follows_the_stack(named: Named) -> None:
    rule = named("prod", "hosts-lxd-api-0.0.0.0-0", lxdApiIngress=["0.0.0.0/0"], lxdApiPort=9443)
    assert rules.world_open_admin_ingress(rule, rules.admin_ports(8443)) == []
    assert rules.world_open_admin_ingress(rule, rules.admin_ports(9443)) == [
        "security group rule opens LXD's API (9443/tcp) to 0.0.0.0/0: list only the CIDRs that "
        "need it in lxdhost:lxdApiIngress"
    ]


# --- user_data within Nova's limit --------------------------------------------------------------


def test_the_shipped_servers_user_data_fits(resources: Resources) -> None:
    for stack in list_stacks():
        for server in resources(stack, tokens.INSTANCE):
            assert server.inputs["userData"]
            assert rules.user_data_within_nova_limit(server.inputs) == [], server.name


@pytest.mark.parametrize(
    ("stack", "settings"),
    [
        *(pytest.param(stack, {}, id=f"{stack}-as-shipped") for stack in list_stacks()),
        pytest.param("dev", {"mtu": None}, id="mtu-from-the-network"),
        pytest.param("dev", {"mtu": 1400}, id="mtu-set"),
        pytest.param("dev", {"slotsPerHost": 12, "maxAddressPairs": 12}, id="more-slots"),
    ],
)
def test_each_hosts_bound_holds_its_servers_real_user_data(
    stack: str, settings: dict[str, Any], stacks: Stacks
) -> None:
    """The LxdHost's userDataMaxBytes, which a preview judges, is no smaller than the user_data
    (with the port's MAC and the network's MTU) that `pulumi up` sends."""
    run = stacks.run(stack, **settings)
    hosts = run.of_type(tokens.LXD_HOST)
    assert hosts
    for host in hosts:
        user_data = run.named(f"{host.name}-server").inputs["userData"]
        assert 0 < len(user_data.encode()) <= host.inputs["userDataMaxBytes"], host.name


def test_the_shipped_hosts_bounds_fit(resources: Resources) -> None:
    for stack in list_stacks():
        for host in resources(stack, tokens.LXD_HOST):
            assert rules.user_data_bound_within_nova_limit(host.inputs) == [], host.name


@pytest.mark.parametrize(
    ("max_bytes", "expected"),
    [
        pytest.param(49149, [], id="largest-that-fits"),
        # As a policy reads it: protobuf's Struct has no integers.
        pytest.param(49149.0, [], id="as-a-float"),
        pytest.param(
            49150,
            [
                "user_data can be up to 65536 bytes base64-encoded (the host's userDataMaxBytes), "
                "1 over Nova's limit of 65535: Nova will refuse to boot the server"
            ],
            id="one-group-over",
        ),
    ],
)
def test_a_hosts_bound_is_held_to_novas_limit(
    max_bytes: float, expected: list[str], named: Named
) -> None:
    host = {**named("dev", "lxd-1"), "userDataMaxBytes": max_bytes}
    assert rules.user_data_bound_within_nova_limit(host) == expected


def test_an_lxd_hosts_unknown_user_data_is_left_to_its_bound(named: Named) -> None:
    server = {**named("dev", "lxd-1-server"), "userData": rules.UNKNOWN}
    assert rules.user_data_within_nova_limit(server, bounded=True) == []


@pytest.mark.parametrize(
    ("name", "key", "rule"),
    [
        pytest.param(
            "lxd-1", "userDataMaxBytes", rules.user_data_bound_within_nova_limit, id="bound"
        ),
        pytest.param("lxd-1-server", "userData", rules.user_data_within_nova_limit, id="unbounded"),
    ],
)
def test_unknown_user_data_without_a_known_bound_is_left_for_up(
    name: str, key: str, rule: Callable[[Mapping[str, Any]], list[str]], named: Named
) -> None:
    with pytest.raises(rules.UnknownInputError) as raised:
        rule({**named("dev", name), key: rules.UNKNOWN})
    assert raised.value.path == key


def test_an_lxd_hosts_server_is_bounded(stacks: Stacks) -> None:
    server = stacks.run("dev").named("lxd-1-server")
    assert rules.is_lxd_host_server(server.type, server.urn)
    # As the engine spells a server declared at the top of a program.
    urn = "urn:pulumi:dev::lxdhost::openstack:compute/instance:Instance::bastion"
    assert not rules.is_lxd_host_server(tokens.INSTANCE, urn)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        # 49149 bytes encode to 65532 base64 bytes; 49150 to 65536.
        pytest.param(49149, None, id="largest-that-fits"),
        pytest.param(
            49150,
            "user_data is 65536 bytes base64-encoded, 1 over Nova's limit of 65535: Nova will "
            "refuse to boot the server",
            id="one-group-over",
        ),
        pytest.param(
            60000,
            "user_data is 80000 bytes base64-encoded, 14465 over Nova's limit of 65535: Nova will "
            "refuse to boot the server",
            id="far-over",
        ),
    ],
)
def test_user_data_size(size: int, message: str | None, named: Named) -> None:
    server = named("dev", "lxd-1-server")
    user_data = str(server["userData"])
    padded = user_data + "#" * (size - len(user_data.encode()))
    assert len(padded.encode()) == size
    expected = [] if message is None else [message]
    # Once known (at `pulumi up`), an LXD host's user_data is judged itself, bound or not.
    for bounded in (False, True):
        judged = rules.user_data_within_nova_limit({**server, "userData": padded}, bounded=bounded)
        assert judged == expected


def test_multibyte_user_data_is_measured_in_bytes(named: Named) -> None:
    server = named("dev", "lxd-1-server")
    user_data = str(server["userData"]) + "é" * 25000  # two bytes each in UTF-8
    assert len(user_data) < 49150 <= len(user_data.encode())
    assert rules.user_data_within_nova_limit({**server, "userData": user_data}) != []


# --- address pairs need port security and fit the limit -----------------------------------------


def test_the_shipped_ports_pairs_are_acceptable(resources: Resources) -> None:
    for stack in list_stacks():
        for port in resources(stack, tokens.PORT):
            assert len(port.inputs["allowedAddressPairs"]) == 10
            assert rules.address_pairs_acceptable(port.inputs, 10) == [], port.name


def test_a_port_with_port_security_off_and_no_pairs_is_acceptable(named: Named) -> None:
    port = named("dev", "lxd-1-port", containerAccess="port-security-off")
    assert port["portSecurityEnabled"] is False
    assert rules.address_pairs_acceptable(port, 10) == []


def test_pairs_on_a_port_without_port_security_are_reported(named: Named) -> None:
    port = {**named("dev", "lxd-1-port"), "portSecurityEnabled": False}
    assert rules.address_pairs_acceptable(port, 10) == [
        "10 allowed address pairs on a port with port security off: Neutron refuses pairs "
        "without port security (choose lxdhost:containerAccess address-pairs or "
        "port-security-off, not both)"
    ]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param(12, [], id="cloud-allows-12"),
        pytest.param(
            10,
            [
                "12 allowed address pairs, over the limit of 10 (Neutron's "
                "max_allowed_address_pair): lower lxdhost:slotsPerHost"
            ],
            id="neutron-default-10",
        ),
    ],
)
def test_pairs_over_the_limit_are_reported(limit: int, expected: list[str], named: Named) -> None:
    port = named("dev", "lxd-1-port", slotsPerHost=12, maxAddressPairs=12)
    assert len(port["allowedAddressPairs"]) == 12
    assert rules.address_pairs_acceptable(port, limit) == expected


# --- an LXD host's port lets its containers through ---------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="address-pairs"),
        pytest.param({"containerAccess": "port-security-off"}, id="port-security-off"),
    ],
)
def test_the_programs_host_ports_let_containers_through(
    settings: dict[str, Any], resources: Resources
) -> None:
    for port in resources("dev", tokens.PORT, **settings):
        assert rules.lxd_host_port_lets_containers_through(port.inputs) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"allowedAddressPairs": []},
            "LXD host port with port security on and no allowed address pairs: Neutron will drop "
            "every container's traffic (lxdhost:containerAccess)",
            id="no-pairs",
        ),
        pytest.param(
            {"allowedAddressPairs": None, "portSecurityEnabled": None},
            "LXD host port with port security on and no allowed address pairs: Neutron will drop "
            "every container's traffic (lxdhost:containerAccess)",
            id="port-security-by-default",
        ),
    ],
)
def test_a_host_port_that_blocks_containers_is_reported(
    change: dict[str, Any], expected: str, named: Named
) -> None:
    port = {**named("dev", "lxd-1-port"), **change}
    assert rules.lxd_host_port_lets_containers_through(port) == [expected]


def test_pairs_without_a_mac_are_reported(named: Named) -> None:
    port = dict(named("dev", "lxd-1-port"))
    pairs = [dict(pair) for pair in port["allowedAddressPairs"]]
    del pairs[0]["macAddress"]
    message = rules.lxd_host_port_lets_containers_through({**port, "allowedAddressPairs": pairs})
    assert message == [
        f"allowed address pairs without a MAC ({pairs[0]['ipAddress']}): Neutron pairs them with "
        "the port's own MAC, and drops the containers, which send with theirs"
    ]


# --- servers on ports have no security groups of their own --------------------------------------


def test_the_shipped_servers_have_no_security_groups(resources: Resources) -> None:
    for stack in list_stacks():
        for server in resources(stack, tokens.INSTANCE):
            assert server.inputs["networks"][0]["port"]
            assert rules.server_on_port_has_no_security_groups(server.inputs) == [], server.name


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"securityGroups": ["default"]},
            [
                "server booted on a port also sets security groups (default): they belong on the "
                "port; on the server they fight with it on every update"
            ],
            id="security-group-on-server",
        ),
        pytest.param(
            {"securityGroups": ["default"], "networks": [{"name": "tenant"}]},
            [],
            id="server-on-a-network-may-have-groups",
        ),
        pytest.param({"securityGroups": []}, [], id="empty-list"),
        pytest.param(
            {"securityGroups": ["default"], "networks": [{"port": rules.UNKNOWN}]},
            [
                "server booted on a port also sets security groups (default): they belong on the "
                "port; on the server they fight with it on every update"
            ],
            id="new-port-is-a-port",
        ),
    ],
)
def test_security_groups_on_a_server(
    change: dict[str, Any], expected: list[str], named: Named
) -> None:
    server = {**named("prod", "lxd-a-server"), **change}
    assert rules.server_on_port_has_no_security_groups(server) == expected

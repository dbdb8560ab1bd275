"""The hosts' security group: closed by default, opened per listed CIDR, egress left alone."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from lxdhost import tokens
from lxdhost.offline import run_program
from lxdhost.security import HostSecurityGroup, HostSecurityGroupArgs, ingress_rules

MEMBERS = ("members-ipv4", None, "IPv4", None, None)


def summary(args: HostSecurityGroupArgs) -> list[tuple[object, ...]]:
    return [
        (rule.name, rule.protocol, rule.ethertype, rule.remote_ip_prefix, rule.port_range_min)
        for rule in ingress_rules(args)
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(HostSecurityGroupArgs(ssh_ingress=()), [MEMBERS], id="closed-by-default"),
        pytest.param(
            HostSecurityGroupArgs(ssh_ingress=(ip_network("203.0.113.0/24"),)),
            [
                MEMBERS,
                ("ssh-203.0.113.0-24", "tcp", "IPv4", "203.0.113.0/24", 22),
                ("icmp-203.0.113.0-24", "icmp", "IPv4", "203.0.113.0/24", None),
            ],
            id="ssh-and-icmp-from-a-range",
        ),
        pytest.param(
            HostSecurityGroupArgs(ssh_ingress=(ip_network("2001:db8::/48"),)),
            [
                MEMBERS,
                ("ssh-2001.db8..-48", "tcp", "IPv6", "2001:db8::/48", 22),
                ("icmp-2001.db8..-48", "ipv6-icmp", "IPv6", "2001:db8::/48", None),
            ],
            id="ipv6-range-gets-ipv6-rules",
        ),
        pytest.param(
            HostSecurityGroupArgs(
                ssh_ingress=(),
                lxd_api_ingress=(ip_network("10.0.0.5/32"),),
                lxd_api_port=9443,
            ),
            [MEMBERS, ("lxd-api-10.0.0.5-32", "tcp", "IPv4", "10.0.0.5/32", 9443)],
            id="lxd-api-only-when-listed-on-its-port",
        ),
        pytest.param(
            HostSecurityGroupArgs(ssh_ingress=(ip_network("0.0.0.0/0"),)),
            [
                MEMBERS,
                ("ssh-0.0.0.0-0", "tcp", "IPv4", "0.0.0.0/0", 22),
                ("icmp-0.0.0.0-0", "icmp", "IPv4", "0.0.0.0/0", None),
            ],
            id="anywhere-only-when-listed",
        ),
    ],
)
def test_rules_open_exactly_the_listed_ranges(
    args: HostSecurityGroupArgs, expected: list[tuple[object, ...]]
) -> None:
    assert summary(args) == expected


def test_reordering_or_repeating_ranges_keeps_the_same_rules() -> None:
    a, b = ip_network("198.51.100.0/24"), ip_network("203.0.113.7/32")
    assert ingress_rules(HostSecurityGroupArgs(ssh_ingress=(a, b))) == ingress_rules(
        HostSecurityGroupArgs(ssh_ingress=(b, a, b))
    )


def test_the_group_declares_ingress_only_and_members_by_group() -> None:
    def program() -> None:
        HostSecurityGroup(
            "hosts",
            HostSecurityGroupArgs(
                ssh_ingress=(ip_network("203.0.113.0/24"),), resource_name="lxdhost-unit-hosts"
            ),
        )

    run = run_program("unit", {}, program=program)
    (group,) = run.of_type(tokens.SEC_GROUP)
    rules = run.of_type(tokens.SEC_GROUP_RULE)
    assert group.inputs["name"] == "lxdhost-unit-hosts"
    assert "deleteDefaultRules" not in group.inputs, "Neutron's default egress stays as it is"
    assert {rule.inputs["direction"] for rule in rules} == {"ingress"}
    assert all(rule.inputs["securityGroupId"] == group.id for rule in rules)
    (members,) = [rule for rule in rules if "remoteGroupId" in rule.inputs]
    assert members.inputs["remoteGroupId"] == group.id
    assert "remoteIpPrefix" not in members.inputs
    assert {rule.parent for rule in rules} == {group.parent}

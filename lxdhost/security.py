"""The LXD hosts' security group: what may reach the hosts and, through their ports, the containers.

Neutron applies a port's security groups to every address the port carries, its allowed
address pairs included, so these rules guard the containers as well as the hosts. Ingress is
closed unless the stack lists CIDRs; Neutron's default egress rules (all IPv4 and IPv6 out) are
left alone: declaring them again conflicts with the rules Neutron created with the group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

import pulumi
import pulumi_openstack as openstack

from lxdhost import tokens

SSH_PORT = 22


@dataclass(frozen=True)
class IngressRule:
    """One `openstack.networking.SecGroupRule`, as plain values; `name` keys its resource."""

    name: str
    description: str
    protocol: str | None  # None: any protocol
    ethertype: str
    remote_ip_prefix: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    # Traffic from the group's own members (hosts and containers): no prefix, the group itself.
    from_group: bool = False


@dataclass(frozen=True)
class HostSecurityGroupArgs:
    ssh_ingress: Sequence[IPv4Network | IPv6Network]
    lxd_api_ingress: Sequence[IPv4Network | IPv6Network] = ()
    lxd_api_port: int = 8443
    # The Neutron `name` of the group.
    resource_name: str = "lxdhost-hosts"


def ingress_rules(args: HostSecurityGroupArgs) -> tuple[IngressRule, ...]:
    """The group's rules; resource names derive from CIDRs, so reordering them changes nothing."""
    rules = [
        # Hosts and containers of the stack talk to each other freely, on any host.
        IngressRule(
            name="members-ipv4",
            description="any traffic between the stack's hosts and containers",
            protocol=None,
            ethertype="IPv4",
            from_group=True,
        )
    ]
    for cidr in sorted(set(args.ssh_ingress), key=_cidr_order):
        ethertype = _ethertype(cidr)
        rules.append(
            IngressRule(
                name=f"ssh-{_slug(cidr)}",
                description=f"SSH from {cidr}",
                protocol="tcp",
                ethertype=ethertype,
                remote_ip_prefix=str(cidr),
                port_range_min=SSH_PORT,
                port_range_max=SSH_PORT,
            )
        )
        rules.append(
            IngressRule(
                name=f"icmp-{_slug(cidr)}",
                description=f"ICMP from {cidr}",
                protocol="icmp" if ethertype == "IPv4" else "ipv6-icmp",
                ethertype=ethertype,
                remote_ip_prefix=str(cidr),
            )
        )
    for cidr in sorted(set(args.lxd_api_ingress), key=_cidr_order):
        rules.append(
            IngressRule(
                name=f"lxd-api-{_slug(cidr)}",
                description=f"LXD API from {cidr}",
                protocol="tcp",
                ethertype=_ethertype(cidr),
                remote_ip_prefix=str(cidr),
                port_range_min=args.lxd_api_port,
                port_range_max=args.lxd_api_port,
            )
        )
    return tuple(rules)


class HostSecurityGroup(pulumi.ComponentResource):
    """The group every LXD host's port carries (address-pairs mode)."""

    security_group_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: HostSecurityGroupArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(tokens.HOST_SECURITY_GROUP, name, None, opts)
        group = openstack.networking.SecGroup(
            f"{name}-group",
            name=args.resource_name,
            description="LXD hosts and their bridged containers",
            opts=pulumi.ResourceOptions(parent=self),
        )
        for rule in ingress_rules(args):
            openstack.networking.SecGroupRule(
                f"{name}-{rule.name}",
                security_group_id=group.id,
                description=rule.description,
                direction="ingress",
                ethertype=rule.ethertype,
                protocol=rule.protocol,
                remote_ip_prefix=rule.remote_ip_prefix,
                remote_group_id=group.id if rule.from_group else None,
                port_range_min=rule.port_range_min,
                port_range_max=rule.port_range_max,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.security_group_id = group.id
        self.register_outputs({"security_group_id": self.security_group_id})


def _ethertype(cidr: IPv4Network | IPv6Network) -> str:
    return "IPv4" if cidr.version == 4 else "IPv6"


def _cidr_order(cidr: IPv4Network | IPv6Network) -> tuple[int, int, int]:
    return (cidr.version, int(cidr.network_address), cidr.prefixlen)


def _slug(cidr: IPv4Network | IPv6Network) -> str:
    """A CIDR as a resource name part: 203.0.113.0/24 -> 203.0.113.0-24."""
    return str(cidr).replace("/", "-").replace(":", ".")

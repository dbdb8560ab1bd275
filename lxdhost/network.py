"""The tenant network the LXD hosts and their containers share: built new, or an existing subnet.

`create` mode declares a network, a subnet whose allocation pool is the plan's reduced pool, and a
router with its gateway on the external network. `adopt` mode takes a subnet the stack did not
create: it imports it, changes nothing but its allocation pool, and never deletes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_openstack as openstack

from lxdhost import tokens
from lxdhost.addressing import AddressRange
from lxdhost.lookups import lookup


class NetworkMode(StrEnum):
    """`create`: a new network, subnet and router; `adopt`: an existing subnet, kept."""

    CREATE = "create"
    ADOPT = "adopt"


class AdoptStage(StrEnum):
    """Adopt mode's two steps: `import` the subnet unchanged, then `manage` its pool."""

    IMPORT = "import"
    MANAGE = "manage"


# Every input of an adopted subnet the program must leave as the subnet's owner set it. The
# import copies their live values (so the import matches), and later updates never touch them:
# only `allocation_pools` is ours. `network_id` and `cidr` are declared and must match.
ADOPTED_SUBNET_IGNORED_INPUTS = (
    "name",
    "description",
    "dns_nameservers",
    "dns_publish_fixed_ip",
    "enable_dhcp",
    "gateway_ip",
    "ip_version",
    "ipv6_address_mode",
    "ipv6_ra_mode",
    "no_gateway",
    "prefix_length",
    "segment_id",
    "service_types",
    "subnetpool_id",
    "tags",
    "tenant_id",
    "value_specs",
)


@dataclass(frozen=True)
class TenantNetworkArgs:
    """What the tenant network is made of; the names mirror `openstack.networking.Subnet`'s."""

    mode: NetworkMode
    cidr: str
    gateway_ip: str
    dns_nameservers: Sequence[str]
    allocation_pool: AddressRange
    # create: the external network the router's gateway sits on.
    external_network: str | None = None
    # adopt: the existing subnet's ID.
    subnet_id: str | None = None
    # adopt, first step: import the subnet exactly as it is, pool included.
    adopt_stage: AdoptStage = AdoptStage.MANAGE
    # The Neutron `name` of what create mode builds.
    resource_name: str = "lxdhost"

    def problems(self) -> list[str]:
        if self.mode is NetworkMode.CREATE and not self.external_network:
            return ["external_network: required in create mode"]
        if self.mode is NetworkMode.ADOPT and not self.subnet_id:
            return ["subnet_id: required in adopt mode"]
        return []


class TenantNetwork(pulumi.ComponentResource):
    """The subnet the hosts' ports sit on, and (create mode) the network and router around it."""

    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    subnet: openstack.networking.Subnet
    # create mode only: what a floating IP must wait for (its port's subnet must be routed).
    router_interface: openstack.networking.RouterInterface | None
    # The MTU Neutron gives the network (None where the program cannot know it in advance).
    mtu: pulumi.Output[int | None]

    def __init__(
        self,
        name: str,
        args: TenantNetworkArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = args.problems()
        if problems:
            raise ValueError(f"TenantNetwork {name}: " + "; ".join(problems))
        super().__init__(tokens.TENANT_NETWORK, name, None, opts)
        if args.mode is NetworkMode.CREATE:
            self._create(name, args)
        else:
            self._adopt(name, args)
        self.subnet_id = self.subnet.id
        self.register_outputs(
            {
                "network_id": self.network_id,
                "subnet_id": self.subnet_id,
                "allocation_pool": args.allocation_pool.as_allocation_pool(),
            }
        )

    @property
    def floating_ip_dependencies(self) -> list[pulumi.Resource]:
        """What a floating IP on this subnet must wait for: the router interface, if ours."""
        return [self.router_interface] if self.router_interface is not None else []

    def _create(self, name: str, args: TenantNetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        external = lookup(
            tokens.GET_NETWORK,
            {"name": args.external_network, "external": True},
            f"the external network {args.external_network!r} (lxdhost:externalNetwork)",
            self,
        )
        network = openstack.networking.Network(
            f"{name}-network",
            name=args.resource_name,
            admin_state_up=True,
            opts=child,
        )
        self.subnet = openstack.networking.Subnet(
            f"{name}-subnet",
            name=args.resource_name,
            network_id=network.id,
            cidr=args.cidr,
            ip_version=4,
            gateway_ip=args.gateway_ip,
            enable_dhcp=True,
            dns_nameservers=list(args.dns_nameservers),
            allocation_pools=[_allocation_pool(args.allocation_pool)],
            opts=child,
        )
        router = openstack.networking.Router(
            f"{name}-router",
            name=args.resource_name,
            admin_state_up=True,
            external_network_id=external["id"],
            opts=child,
        )
        self.router_interface = openstack.networking.RouterInterface(
            f"{name}-router-interface",
            router_id=router.id,
            subnet_id=self.subnet.id,
            opts=child,
        )
        self.network_id = network.id
        self.mtu = network.mtu

    def _adopt(self, name: str, args: TenantNetworkArgs) -> None:
        existing = lookup(
            tokens.GET_SUBNET,
            {"subnetId": args.subnet_id},
            f"the subnet to adopt {args.subnet_id!r} (lxdhost:subnetId)",
            self,
        )
        network_id = existing["networkId"]
        ignored = list(ADOPTED_SUBNET_IGNORED_INPUTS)
        if args.adopt_stage is AdoptStage.IMPORT:
            # The import must match the live subnet exactly: its pool is left as it is too.
            ignored.append("allocation_pools")
        self.subnet = openstack.networking.Subnet(
            f"{name}-subnet",
            network_id=network_id,
            cidr=args.cidr,
            allocation_pools=[_allocation_pool(args.allocation_pool)],
            opts=pulumi.ResourceOptions(
                parent=self,
                import_=args.subnet_id,
                # `pulumi destroy` forgets the subnet instead of deleting it, and a change that
                # would replace it (a new cidr) stops with an error instead of deleting it.
                retain_on_delete=True,
                protect=True,
                ignore_changes=ignored,
            ),
        )
        self.router_interface = None
        self.network_id = network_id
        self.mtu = lookup(
            tokens.GET_NETWORK,
            {"networkId": network_id},
            f"the network of the subnet to adopt {args.subnet_id!r} (lxdhost:subnetId)",
            self,
        )["mtu"]


def _allocation_pool(pool: AddressRange) -> openstack.networking.SubnetAllocationPoolArgs:
    return openstack.networking.SubnetAllocationPoolArgs(start=str(pool.start), end=str(pool.end))

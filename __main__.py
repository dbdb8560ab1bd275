"""LXD hosts whose containers sit directly on an OpenStack tenant network: what `pulumi up` runs.

Read the stack's settings (every bad key is reported before anything is declared), build or
adopt the subnet, then the hosts' security group, key pair and hosts, and export the address
plan and how to reach each host.
"""

import pulumi

from lxdhost.config import ContainerAccess, load_settings
from lxdhost.host import LxdHost, boot_image_id, host_args, key_pair_name, user_data_problems
from lxdhost.network import TenantNetwork, TenantNetworkArgs
from lxdhost.security import HostSecurityGroup, HostSecurityGroupArgs

settings = load_settings(user_data_problems)
plan = settings.address_plan
# Neutron/Nova names: one prefix per stack, so that two stacks in one project stay apart.
resource_name = f"{pulumi.get_project()}-{pulumi.get_stack()}"

network = TenantNetwork("tenant", TenantNetworkArgs.from_settings(settings, resource_name))
pulumi.export("subnetId", network.subnet_id)

# The adopt flow's import step leaves the subnet as it is: its pool is not the plan's yet.
if settings.declares_hosts:
    pulumi.export("allocationPool", plan.allocation_pool.as_allocation_pool())
    pulumi.export("reservedRange", plan.reserved_range.as_allocation_pool())
    # Without port security a port can carry no group: then there is none to create.
    security_group_ids = []
    if settings.access.container_access is ContainerAccess.ADDRESS_PAIRS:
        group = HostSecurityGroup(
            "hosts", HostSecurityGroupArgs.from_settings(settings, f"{resource_name}-hosts")
        )
        security_group_ids.append(group.security_group_id)
    key_pair = key_pair_name(settings, resource_name)
    image_id = boot_image_id(settings)
    hosts = [
        LxdHost(
            planned.host_name,
            host_args(
                settings,
                planned.host_name,
                network_id=network.network_id,
                subnet_id=network.subnet_id,
                network_mtu=network.mtu,
                security_group_ids=security_group_ids,
                key_pair=key_pair,
                image_id=image_id,
                floating_ip_depends_on=network.floating_ip_dependencies,
            ),
        )
        for planned in plan.hosts
    ]
    pulumi.export(
        "hosts",
        {
            host.host_name: {
                "fixedIp": host.fixed_ip,
                "floatingIp": host.floating_ip_address,
                "containerSlots": host.container_slots,
            }
            for host in hosts
        },
    )
    pulumi.export(
        "sshCommands",
        {
            host.host_name: pulumi.Output.all(host.floating_ip_address, host.fixed_ip).apply(
                lambda addresses: f"ssh {settings.hosts.ssh_user}@{addresses[0] or addresses[1]}"
            )
            for host in hosts
        },
    )

"""The stack's wiring: its settings in, the network, security group, key pair and hosts declared,
the exports out. The components take only their Args; this module makes those from settings."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_openstack as openstack

from lxdhost import tokens
from lxdhost.config import STACK_KEYS_BY_FIELD, Settings
from lxdhost.host import ContainerAccess, LxdHost, LxdHostArgs, stand_in_user_data
from lxdhost.lookups import lookup
from lxdhost.lxdresources import Certificate
from lxdhost.network import TenantNetwork, TenantNetworkArgs
from lxdhost.security import HostSecurityGroup, HostSecurityGroupArgs
from userdata import UserDataError

# userdata's field names -> the stack keys a user changes to fix them: each host option's own key,
# and the slots for the size of the user_data and the profiles.
_USER_DATA_FIELD_KEYS = {
    **STACK_KEYS_BY_FIELD,
    "user_data": "slotsPerHost",
    "profiles": "slotsPerHost",
}


def neutron_name_prefix() -> str:
    """The Neutron/Nova `name` prefix: one per stack, so that two stacks in one project stay
    apart."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}"


def openstack_cloud() -> str | None:
    """The clouds.yaml entry the stack's provider uses (`openstack:cloud`), which the hosts'
    warnings name in their `openstack` commands; None when the environment names the cloud."""
    return pulumi.Config("openstack").get("cloud")


def declare_stack(settings: Settings, resource_name: str) -> dict[str, object]:
    """Declare the stack's resources; its exports, by name, in the order they are exported."""
    network = TenantNetwork("tenant", tenant_network_args(settings, resource_name))
    exports: dict[str, object] = {"subnetId": network.subnet_id}
    # The adopt flow's import step leaves the subnet as it is: its pool is not the plan's yet.
    if not settings.declares_hosts:
        return exports
    address_plan = settings.address_plan
    exports["allocationPool"] = address_plan.allocation_pool.as_allocation_pool()
    exports["reservedRange"] = address_plan.reserved_range.as_allocation_pool()
    # Without port security a port can carry no group: then there is none to create.
    security_group_ids = []
    if settings.access.container_access is ContainerAccess.ADDRESS_PAIRS:
        group = HostSecurityGroup(
            "hosts", host_security_group_args(settings, f"{resource_name}-hosts")
        )
        security_group_ids.append(group.security_group_id)
    key_pair = declare_key_pair(settings, resource_name)
    image_id = boot_image_id(settings)
    os_cloud = openstack_cloud()
    # The one client every host's LXD trusts: the stack's.
    client = (
        Certificate("lxd-client-certificate", kind="client", common_name=resource_name)
        if settings.lxd.through_api
        else None
    )
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
                os_cloud=os_cloud,
                lxd_client=(client.certificate, client.key) if client is not None else None,
            ),
        )
        for planned in address_plan.hosts
    ]
    exports["hosts"] = {
        host.host_name: {
            "fixedIp": host.fixed_ip,
            "floatingIp": host.floating_ip_address,
            "containerSlots": host.container_slots,
            "serverStatus": host.server_status,
            **(
                {
                    "lxdApi": host.lxd_endpoint,
                    "lxdFingerprint": host.lxd_fingerprint,
                    "lxdCertificate": host.lxd_certificate_pem,
                }
                if client is not None
                else {}
            ),
        }
        for host in hosts
    }
    if client is not None:
        exports["containers"] = {
            name: {
                "host": host.host_name,
                "slot": container.slot,
                "address": container.address,
                "status": container.status,
            }
            for host in hosts
            for name, container in host.containers.items()
        }
        exports["lxdClientCertificate"] = client.certificate
        exports["lxdClientKey"] = client.key  # a secret
        exports["lxcRemoteCommand"] = (
            f'eval "$(python -m lxdhost lxc-remote --stack {pulumi.get_stack()})"'
        )
    exports["sshCommands"] = {
        host.host_name: pulumi.Output.all(host.floating_ip_address, host.fixed_ip).apply(
            lambda addresses: f"ssh {settings.hosts.ssh_user}@{addresses[0] or addresses[1]}"
        )
        for host in hosts
    }
    return exports


def tenant_network_args(settings: Settings, resource_name: str) -> TenantNetworkArgs:
    address_plan = settings.address_plan
    return TenantNetworkArgs(
        mode=settings.network.mode,
        cidr=str(address_plan.cidr),
        gateway_ip=str(address_plan.gateway_ip),
        dns_nameservers=[str(server) for server in settings.network.dns_nameservers],
        allocation_pool=address_plan.allocation_pool,
        external_network=settings.network.external_network,
        subnet_id=settings.network.subnet_id,
        adopt_stage=settings.network.adopt_stage,
        resource_name=resource_name,
    )


def host_security_group_args(settings: Settings, resource_name: str) -> HostSecurityGroupArgs:
    return HostSecurityGroupArgs(
        ssh_ingress=settings.access.ssh_ingress,
        lxd_api_ingress=settings.access.lxd_api_ingress,
        lxd_api_port=settings.access.lxd_api_port,
        resource_name=resource_name,
    )


def declare_key_pair(settings: Settings, resource_name: str) -> pulumi.Input[str] | None:
    """The Nova key pair the hosts boot with: the stack's existing one by name, or a `Keypair`
    declared here that uploads the stack's public key.

    The key pair is a child of the stack itself, as it always was: a component parent would give
    it a new URN, and every deployed stack would replace its key pair.
    """
    if settings.hosts.key_pair:
        return settings.hosts.key_pair
    if settings.hosts.public_key:
        return openstack.compute.Keypair(
            "key-pair", name=resource_name, public_key=settings.hosts.public_key
        ).name
    return None


def boot_image_id(settings: Settings) -> pulumi.Output[str] | None:
    """The image's id, looked up once for every host's boot volume; None without volumes."""
    if settings.hosts.boot_volume_size is None:
        return None
    return lookup(
        tokens.GET_IMAGE,
        {"name": settings.hosts.image_name, "mostRecent": True},
        f"the image {settings.hosts.image_name!r} (lxdhost:image)",
        None,
    )["id"]


def user_data_problems(settings: Settings) -> list[str]:
    """Each host's user_data rendered with stand-ins; what userdata rejects, by stack key.

    Run before anything is declared (`load_settings(user_data_problems)`), so that a stack whose
    user_data Nova would refuse (over 64 KiB encoded: too many slots or packages) stops with a
    message instead of failing half-way through `pulumi up`.
    """
    problems = []
    for planned in settings.address_plan.hosts:
        try:
            stand_in_user_data(user_data_args(settings, planned.host_name))
        except UserDataError as error:
            for problem in error.problems:
                key = _USER_DATA_FIELD_KEYS.get(problem.field(), "hostNames")
                problems.append(f"{key}: host {planned.host_name}'s {problem}")
    return problems


def user_data_args(settings: Settings, host_name: str) -> LxdHostArgs:
    """A host's `LxdHostArgs` before anything is declared: what its user_data is made from, with
    no cloud value (network, subnet, groups, key pair, image) filled in."""
    return host_args(
        settings,
        host_name,
        network_id="",
        subnet_id="",
        network_mtu=None,
        security_group_ids=(),
        key_pair=None,
        image_id=None,
        floating_ip_depends_on=(),
        lxd_client=("", "") if settings.lxd.through_api else None,
    )


def host_args(
    settings: Settings,
    host_name: str,
    *,
    network_id: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    network_mtu: pulumi.Input[int | None],
    security_group_ids: Sequence[pulumi.Input[str]],
    key_pair: pulumi.Input[str] | None,
    image_id: pulumi.Input[str] | None,
    floating_ip_depends_on: Sequence[pulumi.Resource],
    os_cloud: str | None = None,
    lxd_client: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
) -> LxdHostArgs:
    """`LxdHostArgs` for one of the stack's hosts."""
    address_plan = settings.address_plan
    hosts, access = settings.hosts, settings.access
    return LxdHostArgs(
        network_id=network_id,
        subnet_id=subnet_id,
        image_name=hosts.image_name,
        flavor_name=hosts.flavor_name,
        container_slots=address_plan.container_slots(host_name),
        prefix_length=address_plan.prefix_length,
        gateway_ip=str(address_plan.gateway_ip),
        dns_nameservers=[str(server) for server in settings.network.dns_nameservers],
        container_access=access.container_access,
        security_group_ids=security_group_ids,
        max_address_pairs=access.max_address_pairs,
        key_pair=key_pair,
        boot_volume_size=hosts.boot_volume_size,
        boot_image_id=image_id,
        image_updates=hosts.image_updates,
        mtu=settings.network.mtu,
        network_mtu=network_mtu,
        spec_template=hosts.spec_template,
        floating_ip_pool=settings.network.external_network if hosts.floating_ips else None,
        floating_ip_depends_on=floating_ip_depends_on,
        os_cloud=os_cloud,
        server_status_read=hosts.server_status_read,
        lxd_client_certificate=lxd_client[0] if lxd_client is not None else None,
        lxd_client_key=lxd_client[1] if lxd_client is not None else None,
        lxd_api_port=access.lxd_api_port,
        containers=tuple(
            container for container in settings.lxd.containers if container.host == host_name
        ),
    )

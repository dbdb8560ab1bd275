"""What the local cloud holds once its services run: the catalog, a project, its resources.

Run by scripts/local-cloud with Debian's python3 (its openstacksdk and PyYAML) inside the
cloud's network namespace; every step is idempotent, so `up` after `down` repeats it in seconds.

    python3 localcloud/bootstrap.py clouds-yaml  # write the clouds.yaml entries
    python3 localcloud/bootstrap.py catalog      # service users, services and endpoints
    python3 localcloud/bootstrap.py resources    # project, user, flavors, network, image, key
    python3 localcloud/bootstrap.py clear        # delete what the project holds beyond those
    python3 localcloud/bootstrap.py scale        # the scale mode's fake host joined; quotas
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import openstack
import yaml

STATE = Path(os.environ["LC_STATE"])
REGION = os.environ["LC_REGION"]
# Each service's address and port, as its localcloud/lib/<service>.sh defines them.
AUTH_URL = f"{os.environ['LC_KEYSTONE_URL']}/v3"
PASSWORD = (STATE / "password").read_text().strip()

# name: (type, endpoint URL)
SERVICES = {
    "glance": ("image", os.environ["LC_GLANCE_URL"]),
    "placement": ("placement", os.environ["LC_PLACEMENT_URL"]),
    "nova": ("compute", f"{os.environ['LC_NOVA_URL']}/v2.1"),
    "neutron": ("network", os.environ["LC_NEUTRON_URL"]),
}

# An LXD host under TCG: two vCPUs, 2 GiB (LXD and one container), the image's 8 GiB disk. The
# scale mode's flavor has the same size on the fake compute host, so quotas count the same.
FLAVORS = {
    os.environ["LC_FLAVOR"]: {"vcpus": 2, "ram": 2048, "disk": 10},
    os.environ["LC_FAKE_FLAVOR"]: {"vcpus": 2, "ram": 2048, "disk": 10},
}
# Only the fake compute host's resource provider has the trait (its provider.yaml, written by
# localcloud/lib/fake.sh): the scale mode's flavor lands there alone, and the real one never does.
FAKE_TRAIT = os.environ["LC_FAKE_TRAIT"]
FLAVOR_SPECS = {
    os.environ["LC_FLAVOR"]: {f"trait:{FAKE_TRAIT}": "forbidden"},
    os.environ["LC_FAKE_FLAVOR"]: {f"trait:{FAKE_TRAIT}": "required"},
}
# The project's compute quotas in the scale mode: a stack of 100 hosts of that flavor, and room.
SCALE_QUOTAS = {"instances": 128, "cores": 256, "ram": 256 * 1024}


def cloud_entry(username: str, project: str) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": AUTH_URL,
            "username": username,
            "password": PASSWORD,
            "project_name": project,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": REGION,
        "identity_api_version": 3,
        "interface": "public",
    }


def write_clouds_yaml() -> None:
    """The cloud's own clouds.yaml, and its entries merged into the machine's."""
    entries = {
        os.environ["LC_CLOUD"]: cloud_entry(os.environ["LC_USER"], os.environ["LC_PROJECT"]),
        os.environ["LC_CLOUD_ADMIN"]: cloud_entry("admin", "admin"),
    }
    own = STATE / "clouds.yaml"
    own.write_text(yaml.safe_dump({"clouds": entries}, sort_keys=True))
    own.chmod(0o600)
    machine = Path(os.environ["LC_CLOUDS_YAML"])
    machine.parent.mkdir(parents=True, exist_ok=True)
    current = yaml.safe_load(machine.read_text()) if machine.exists() else None
    merged = current if isinstance(current, dict) else {}
    merged.setdefault("clouds", {}).update(entries)
    machine.write_text(yaml.safe_dump(merged, sort_keys=True))
    machine.chmod(0o600)


def connect(cloud: str) -> openstack.connection.Connection:
    return openstack.connect(cloud=cloud, load_envvars=False)


def find_or_create(find: Any, create: Any, name: str, **attrs: Any) -> Any:
    found = find(name, ignore_missing=True)
    return found if found is not None else create(name=name, **attrs)


def catalog() -> None:
    admin = connect(os.environ["LC_CLOUD_ADMIN"])
    identity = admin.identity
    roles = {role.name: role for role in identity.roles()}
    for name in ("member", "reader", "service"):
        if name not in roles:
            roles[name] = identity.create_role(name=name)
    service_project = find_or_create(
        identity.find_project, identity.create_project, "service", domain_id="default"
    )
    endpoints = {(e.service_id, e.interface) for e in identity.endpoints()}
    for name, (kind, url) in SERVICES.items():
        user = identity.find_user(name, ignore_missing=True)
        if user is None:
            user = identity.create_user(name=name, password=PASSWORD, domain_id="default")
        else:
            identity.update_user(user, password=PASSWORD)
        for role in ("admin", "service"):
            identity.assign_project_role_to_user(service_project, user, roles[role])
        service = find_or_create(identity.find_service, identity.create_service, name, type=kind)
        for interface in ("public", "internal", "admin"):
            if (service.id, interface) not in endpoints:
                identity.create_endpoint(
                    service_id=service.id, interface=interface, url=url, region_id=REGION
                )
    print(f"catalog: {', '.join(SERVICES)}")


def project_and_user(admin: openstack.connection.Connection) -> None:
    identity = admin.identity
    project = find_or_create(
        identity.find_project,
        identity.create_project,
        os.environ["LC_PROJECT"],
        domain_id="default",
        description="LXD hosts on the local cloud",
    )
    user = identity.find_user(os.environ["LC_USER"], ignore_missing=True)
    if user is None:
        user = identity.create_user(
            name=os.environ["LC_USER"],
            password=PASSWORD,
            domain_id="default",
            default_project_id=project.id,
        )
    else:
        identity.update_user(user, password=PASSWORD)
    member = identity.find_role("member")
    identity.assign_project_role_to_user(project, user, member)


def flavors(admin: openstack.connection.Connection) -> None:
    # Placement answers 400 to a query naming a trait it does not know: the trait exists before
    # a flavor names it, or every boot would fail. PUT makes it, or finds it there.
    admin.placement.put(f"/traits/{FAKE_TRAIT}", microversion="1.6").raise_for_status()
    for name, size in FLAVORS.items():
        flavor = admin.compute.find_flavor(name, ignore_missing=True)
        if flavor is None:
            flavor = admin.compute.create_flavor(name=name, is_public=True, **size)
        specs = admin.compute.fetch_flavor_extra_specs(flavor).extra_specs or {}
        wanted = FLAVOR_SPECS[name]
        if any(specs.get(key) != value for key, value in wanted.items()):
            admin.compute.create_flavor_extra_specs(flavor, wanted)


def scale() -> None:
    """The scale mode: the fake compute host's resource provider carries the trait (so that it
    may join cell1, where the scheduler can pick it), and the project's quotas fit 100 hosts."""
    admin = connect(os.environ["LC_CLOUD_ADMIN"])
    host = os.environ["LC_FAKE_HOST"]
    started = time.monotonic()
    deadline = started + 120
    while True:
        provider = admin.placement.find_resource_provider(host, ignore_missing=True)
        if provider is not None:
            traits = admin.placement.get(
                f"/resource_providers/{provider.id}/traits", microversion="1.6"
            ).json()["traits"]
            if FAKE_TRAIT in traits:
                break
        if time.monotonic() > deadline:
            raise openstack.exceptions.SDKException(
                f"the resource provider {host} has no trait {FAKE_TRAIT} after 120 s "
                f"(nova-compute-fake's log: its provider config)"
            )
        time.sleep(2)
    print(f"  {host}: resource provider with {FAKE_TRAIT}: {time.monotonic() - started:.1f} s")
    project = admin.identity.find_project(os.environ["LC_PROJECT"], ignore_missing=False)
    admin.set_compute_quotas(project.id, **SCALE_QUOTAS)
    print(f"  project {project.name}: compute quotas {SCALE_QUOTAS}")


def external_network(admin: openstack.connection.Connection) -> None:
    network = admin.network.find_network(os.environ["LC_EXT_NETWORK"], ignore_missing=True)
    if network is None:
        network = admin.network.create_network(
            name=os.environ["LC_EXT_NETWORK"],
            is_router_external=True,
            is_shared=False,
            provider_network_type="flat",
            provider_physical_network="external",
        )
    if not list(admin.network.subnets(network_id=network.id)):
        admin.network.create_subnet(
            name=f"{os.environ['LC_EXT_NETWORK']}-subnet",
            network_id=network.id,
            ip_version=4,
            cidr=os.environ["LC_EXT_CIDR"],
            gateway_ip=os.environ["LC_EXT_UPLINK_IP"],
            is_dhcp_enabled=False,
            allocation_pools=[
                {"start": os.environ["LC_EXT_POOL_START"], "end": os.environ["LC_EXT_POOL_END"]}
            ],
        )


def upload(admin: openstack.connection.Connection, name: str, path: str, **attrs: Any) -> Any:
    image = admin.image.find_image(name, ignore_missing=True)
    if image is not None and image.status == "active":
        return image
    if image is not None:  # an upload that did not finish
        admin.image.delete_image(image)
    return admin.image.create_image(
        name=name, filename=path, visibility="public", wait=True, timeout=600, **attrs
    )


def host_image(admin: openstack.connection.Connection) -> None:
    """The LXD host image: Debian 12 booted by its own kernel and initrd, root on /dev/vda."""
    built = json.loads(os.environ["LC_IMAGE_BUILT"])
    name = os.environ["LC_IMAGE"]
    kernel = upload(
        admin, f"{name}-kernel", built["kernel"], disk_format="aki", container_format="aki"
    )
    ramdisk = upload(
        admin, f"{name}-initrd", built["initrd"], disk_format="ari", container_format="ari"
    )
    upload(
        admin,
        name,
        built["qcow2"],
        disk_format="qcow2",
        container_format="bare",
        kernel_id=kernel.id,
        ramdisk_id=ramdisk.id,
        os_command_line="root=/dev/vda rw console=ttyS0",
        os_distro="debian",
        os_version="12",
        # The image's cache key: `up` replaces an image whose recipe changed.
        lxdhost_image_disk=built["disk"],
    )


def stale_image(admin: openstack.connection.Connection) -> None:
    """A Glance image built from another recipe is replaced (the three parts together)."""
    built = json.loads(os.environ["LC_IMAGE_BUILT"])
    name = os.environ["LC_IMAGE"]
    image = admin.image.find_image(name, ignore_missing=True)
    if image is None or image.properties.get("lxdhost_image_disk") == built["disk"]:
        return
    for part in (name, f"{name}-kernel", f"{name}-initrd"):
        found = admin.image.find_image(part, ignore_missing=True)
        if found is not None:
            admin.image.delete_image(found)


def key_pair() -> None:
    user = connect(os.environ["LC_CLOUD"])
    public_key = (STATE / "id_ed25519.pub").read_text().strip()
    found = user.compute.find_keypair(os.environ["LC_KEYPAIR"], ignore_missing=True)
    if found is not None and found.public_key.strip() != public_key:
        user.compute.delete_keypair(found)
        found = None
    if found is None:
        user.compute.create_keypair(name=os.environ["LC_KEYPAIR"], public_key=public_key)


def resources() -> None:
    admin = connect(os.environ["LC_CLOUD_ADMIN"])
    steps = (
        ("project and user", lambda: project_and_user(admin)),
        ("flavors", lambda: flavors(admin)),
        ("external network", lambda: external_network(admin)),
        ("host image", lambda: (stale_image(admin), host_image(admin))),
        ("key pair", key_pair),
    )
    for title, step in steps:
        started = time.monotonic()
        step()
        print(f"  {title}: {time.monotonic() - started:.1f} s")


def clear() -> None:
    """Deletes every resource in the project that `resources` did not make: what stacks, tests
    or a user's experiments left, servers first and networks last, each named as it goes."""
    user = connect(os.environ["LC_CLOUD"])
    project = user.current_project_id
    network = user.network
    count = 0

    def delete_each(kind: str, items: Any, name: Any, delete: Any) -> None:
        nonlocal count
        for item in items:
            started = time.monotonic()
            delete(item)
            count += 1
            print(f"  {kind} {name(item)}: deleted in {time.monotonic() - started:.1f} s")

    def delete_server(server: Any) -> None:
        user.compute.delete_server(server)
        user.compute.wait_for_delete(server, wait=300)

    def delete_router(router: Any) -> None:
        for port in network.ports(device_id=router.id):
            if port.device_owner == "network:router_interface":
                network.remove_interface_from_router(router, port_id=port.id)
        network.delete_router(router)

    # Each kind listed only once the kinds before it are gone.
    delete_each("server", user.compute.servers(), lambda s: s.name, delete_server)
    delete_each(
        "floating IP",
        network.ips(project_id=project),
        lambda ip: ip.floating_ip_address,
        network.delete_ip,
    )
    delete_each("router", network.routers(project_id=project), lambda r: r.name, delete_router)
    delete_each(
        "port",
        [p for p in network.ports(project_id=project) if p.device_owner != "network:dhcp"],
        lambda p: p.name or p.id,
        network.delete_port,
    )
    delete_each(
        "subnet", network.subnets(project_id=project), lambda s: s.name, network.delete_subnet
    )
    delete_each(
        "network", network.networks(project_id=project), lambda n: n.name, network.delete_network
    )
    delete_each(
        "security group",
        [g for g in network.security_groups(project_id=project) if g.name != "default"],
        lambda g: g.name,
        network.delete_security_group,
    )
    delete_each(
        "key pair",
        [k for k in user.compute.keypairs() if k.name != os.environ["LC_KEYPAIR"]],
        lambda k: k.name,
        user.compute.delete_keypair,
    )
    project_name = os.environ["LC_PROJECT"]
    print(f"  project {project_name}: {count} resources deleted; it holds what `up` made")


def main(argv: list[str]) -> int:
    commands = {
        "clouds-yaml": write_clouds_yaml,
        "catalog": catalog,
        "resources": resources,
        "clear": clear,
        "scale": scale,
    }
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: bootstrap.py {{{','.join(commands)}}}", file=sys.stderr)
        return 2
    try:
        commands[argv[0]]()
    except openstack.exceptions.SDKException as error:
        print(f"local-cloud: {argv[0]}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

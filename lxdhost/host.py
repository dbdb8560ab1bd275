"""`LxdHost`: one LXD host server on its own Neutron port, with its block of container slots.

The port is created first so that its MAC is known: the host's bridge `br0` is pinned to it in
the user_data (Neutron's anti-spoofing only passes the port's MAC), and the port's allowed
address pairs let each container slot's IP *and* MAC through. The server boots on that port.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_openstack as openstack

from lxdhost import tokens, trust
from lxdhost.addressing import ContainerSlot
from lxdhost.containers import ContainerDeclaration
from lxdhost.lookups import call_data_source
from lxdhost.lxdresources import Certificate, Container, LxdAccess, Profile
from lxdhost.server_status import (
    HostServer,
    ServerReading,
    ServerStatusRead,
    reading_from_error,
    reading_from_lookup,
    reading_from_state,
    status_warning,
)
from userdata import HostSpec, LxdProfile, container_slot_profile, render_host
from userdata.network import MAX_MTU

# The port's MAC and the network's MTU are known only once Neutron has answered. Rendering with
# these stand-ins before anything exists gives user_data at least as long as the real one (every
# MAC has 17 characters; the largest MTU the user-data accepts has as many digits as any other).
STAND_IN_MACADDRESS = "fa:16:3e:00:00:00"
STAND_IN_MTU = MAX_MTU
# The certificates' names at their longest: a host name has at most 63 characters, and the
# client's common name (the project and stack) is cut to X.509's 64.
STAND_IN_HOST_NAME = "x" * 63
STAND_IN_CLIENT_NAME = "x" * trust.COMMON_NAME_LIMIT

# Where LXD listens when its API is opened: every address of the host (its bridge's included).
LXD_LISTEN_ADDRESS = "::"


class ImageUpdates(StrEnum):
    """What becomes of a host that is up when its image changes: `lxdhost:image` names another
    one, or Glance's image of that name is deleted, renamed or (for a boot volume) uploaded
    again."""

    # The host keeps the image it booted from; hosts created later boot the new one, and so
    # does a host replaced for any reason (`pulumi up --replace`, a user_data change): the
    # engine checks a replacement's inputs afresh, ignored ones among them.
    NEW_HOSTS = "new-hosts"
    # The host is replaced, with its containers, on the next `up`.
    REPLACE = "replace"


class ContainerAccess(StrEnum):
    """How Neutron lets the containers' traffic through the host's port."""

    ADDRESS_PAIRS = "address-pairs"
    PORT_SECURITY_OFF = "port-security-off"


@dataclass(frozen=True)
class LxdHostArgs:
    """The inputs of one `LxdHost`; names follow `openstack.networking.Port`/`compute.Instance`."""

    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    image_name: str
    flavor_name: str
    # The host's block of the reserved range, in slot order.
    container_slots: Sequence[ContainerSlot]
    prefix_length: int
    gateway_ip: str
    dns_nameservers: Sequence[str] = ()
    container_access: ContainerAccess = ContainerAccess.ADDRESS_PAIRS
    security_group_ids: Sequence[pulumi.Input[str]] = ()
    # Neutron's `max_allowed_address_pair` for this cloud.
    max_address_pairs: int = 10
    key_pair: pulumi.Input[str] | None = None
    # GiB of a new boot volume made from `boot_image_id`; None boots from `image_name` on the
    # flavor's disk.
    boot_volume_size: int | None = None
    boot_image_id: pulumi.Input[str] | None = None
    image_updates: ImageUpdates = ImageUpdates.NEW_HOSTS
    # An explicit MTU for br0 and the containers; otherwise `network_mtu` (Neutron's), if known.
    mtu: int | None = None
    network_mtu: pulumi.Input[int | None] = None
    # What the host's user_data is made of, but for what only this host knows: its port's MAC,
    # the MTU and its slot profiles, which `host_spec` fills in.
    spec_template: HostSpec = field(default_factory=HostSpec)
    # The external network to take a floating IP from; None: no floating IP.
    floating_ip_pool: str | None = None
    # What the floating IP waits for: the router interface that makes the subnet reachable.
    floating_ip_depends_on: Sequence[pulumi.Resource] = ()
    # The clouds.yaml entry (`openstack:cloud`) the `openstack` commands of a warning name.
    os_cloud: str | None = None
    # Where the server's status comes from: Nova at every run, or the last refresh's state.
    server_status_read: ServerStatusRead = ServerStatusRead.LIVE
    # The stack's LXD client certificate and key. Set, the host's LXD serves a certificate the
    # stack made and trusts exactly this one, and its slot profiles and `containers` are
    # managed through its API (`lxd_api_port`), live; None: the slot profiles are written into
    # the user_data, and a change to them rebuilds the host.
    lxd_client_certificate: pulumi.Input[str] | None = None
    lxd_client_key: pulumi.Input[str] | None = None
    lxd_api_port: int = 8443
    containers: Sequence[ContainerDeclaration] = ()

    @property
    def through_api(self) -> bool:
        return self.lxd_client_certificate is not None

    def problems(self) -> list[str]:
        found = []
        pairs = self.container_access is ContainerAccess.ADDRESS_PAIRS
        if pairs and len(self.container_slots) > self.max_address_pairs:
            found.append(
                f"container_slots: {len(self.container_slots)} slots need as many allowed "
                f"address pairs, over max_address_pairs ({self.max_address_pairs})"
            )
        if not pairs and self.security_group_ids:
            found.append(
                "security_group_ids: a port without port security can carry no security group"
            )
        if self.boot_volume_size is not None and self.boot_image_id is None:
            found.append("boot_image_id: a boot volume needs the image's id")
        names = [slot.name for slot in self.container_slots]
        if len(set(names)) != len(names):
            found.append("container_slots: slot names repeat")
        if (self.lxd_client_certificate is None) != (self.lxd_client_key is None):
            found.append("lxd_client_key: set lxd_client_certificate and lxd_client_key together")
        if self.containers and not self.through_api:
            found.append("containers: need lxd_client_certificate (LXD's API makes them)")
        for container in self.containers:
            if container.slot not in names:
                found.append(f"containers: {container.name}'s slot {container.slot} is not a slot")
        return found


def slot_profiles(
    slots: Sequence[ContainerSlot],
    *,
    prefix_length: int,
    gateway_ip: str,
    dns_nameservers: Sequence[str],
    mtu: int | None,
) -> tuple[LxdProfile, ...]:
    """One LXD profile per slot: `lxc launch IMAGE web1 -p default -p slot-01` uses the first."""
    return tuple(
        container_slot_profile(
            slot.name,
            slot.mac_address,
            f"{slot.ip_address}/{prefix_length}",
            gateway_ip,
            tuple(dns_nameservers),
            mtu=mtu,
        )
        for slot in slots
    )


def args_slot_profiles(args: LxdHostArgs, mtu: int | None) -> tuple[LxdProfile, ...]:
    return slot_profiles(
        args.container_slots,
        prefix_length=args.prefix_length,
        gateway_ip=args.gateway_ip,
        dns_nameservers=args.dns_nameservers,
        mtu=mtu,
    )


@dataclass(frozen=True)
class HostTrust:
    """What the host's LXD serves and trusts (PEM): its own certificate, the stack's client."""

    server_certificate: str
    server_key: str
    client_certificate: str


def host_spec(
    args: LxdHostArgs, *, macaddress: str, mtu: int | None, lxd_trust: HostTrust | None = None
) -> HostSpec:
    """The host's `HostSpec`: bridge pinned to the port's MAC; then either one profile per
    container slot, or (managed through LXD's API) the certificates LXD serves and trusts."""
    if lxd_trust is None:
        return dataclasses.replace(
            args.spec_template,
            mtu=mtu,
            macaddress=macaddress,
            profiles=args_slot_profiles(args, mtu),
        )
    return dataclasses.replace(
        args.spec_template,
        mtu=mtu,
        macaddress=macaddress,
        lxd_server_certificate=lxd_trust.server_certificate,
        lxd_server_key=lxd_trust.server_key,
        lxd_trusted_certificates=(lxd_trust.client_certificate,),
    )


@functools.cache
def _stand_in_trust() -> HostTrust:
    # Stand-in certificates (the same at every run) with the longest names and one address more
    # than the real ones carry (the server's: the port's and the floating IP; the client's:
    # none): a signature's length varies by up to two bytes, and an address adds six.
    server = trust.stand_in_certificate(STAND_IN_HOST_NAME, ["255.255.255.255"] * 3)
    client = trust.stand_in_certificate(STAND_IN_CLIENT_NAME, ["255.255.255.255"])
    return HostTrust(server.certificate, server.private_key, client.certificate)


def stand_in_user_data(args: LxdHostArgs) -> str:
    """The host's user_data with stand-ins for the port's MAC, an unknown MTU and the
    certificates not made yet: as long as the real one or longer, and known before anything is
    created. `UserDataError` if userdata refuses it (over Nova's limit, a bad option)."""
    mtu = args.mtu or STAND_IN_MTU
    lxd_trust = _stand_in_trust() if args.through_api else None
    return _render_stand_in(
        host_spec(args, macaddress=STAND_IN_MACADDRESS, mtu=mtu, lxd_trust=lxd_trust)
    )


# The up-front check (`lxdhost.stack.user_data_problems`) and each host's `userDataMaxBytes`
# render the same stand-in spec; the second reads the first's text. Keyed by the spec's repr
# (its slot profiles are dicts, so a spec does not hash; every field is in its repr). A render
# userdata refuses raises, and is not kept.
_STAND_IN_RENDERS: dict[str, str] = {}


def _render_stand_in(spec: HostSpec) -> str:
    key = repr(spec)
    text = _STAND_IN_RENDERS.get(key)
    if text is None:
        text = _STAND_IN_RENDERS[key] = render_host(spec)
    return text


class LxdHost(pulumi.ComponentResource):
    """An LXD host: port (security group, address pairs), server, optional floating IP."""

    host_name: str
    port: openstack.networking.Port
    server: openstack.compute.Instance
    floating_ip: openstack.networking.FloatingIp | None
    fixed_ip: pulumi.Output[str]
    floating_ip_address: pulumi.Output[str | None]
    # slot name -> {"ip": ..., "mac": ...}
    container_slots: Mapping[str, Mapping[str, str]]
    # Nova's status of the server (`ACTIVE`, `SHUTOFF`, `ERROR`, ...) as this run read it; None
    # when there is no such server or it could not be read. Unknown for a server not created yet.
    server_status: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        args: LxdHostArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = args.problems()
        if problems:
            raise ValueError(f"LxdHost {name}: " + "; ".join(problems))
        # The most bytes the host's user_data can have, known before its port exists (the
        # user_data embeds the port's MAC): the component's own input, which the engine hands to
        # the policy pack during a preview and keeps in the stack's state, and no cloud sees.
        props = {"userDataMaxBytes": len(stand_in_user_data(args).encode())}
        super().__init__(tokens.LXD_HOST, name, props, opts)
        self.host_name = name
        child = pulumi.ResourceOptions(parent=self)

        port_security = args.container_access is ContainerAccess.ADDRESS_PAIRS
        self.port = openstack.networking.Port(
            f"{name}-port",
            name=name,
            network_id=args.network_id,
            admin_state_up=True,
            fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=args.subnet_id)],
            port_security_enabled=port_security,
            security_group_ids=list(args.security_group_ids) if port_security else None,
            allowed_address_pairs=address_pairs(args.container_slots) if port_security else None,
            # Neutron gives a port created without groups the project's default group, and
            # refuses to turn port security off on a port that has one: ask for none.
            no_security_groups=None if port_security else True,
            opts=child,
        )

        self.floating_ip = None
        if args.floating_ip_pool:
            self.floating_ip = openstack.networking.FloatingIp(
                f"{name}-floating-ip",
                pool=args.floating_ip_pool,
                port_id=self.port.id,
                description=f"LXD host {name}",
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=list(args.floating_ip_depends_on)
                ),
            )
        self.fixed_ip = self.port.all_fixed_ips.apply(lambda ips: ips[0])
        self.floating_ip_address = (
            self.floating_ip.address
            if self.floating_ip is not None
            else pulumi.Output.from_input(None)
        )

        mtu: pulumi.Input[int | None] = args.mtu if args.mtu else args.network_mtu
        self.lxd_certificate = None
        if args.through_api:
            # The host's own LXD certificate, for every address a client may reach it at.
            self.lxd_certificate = Certificate(
                f"{name}-lxd-certificate",
                kind="server",
                common_name=name,
                addresses=pulumi.Output.all(self.fixed_ip, self.floating_ip_address).apply(
                    lambda addresses: [address for address in addresses if address]
                ),
                opts=child,
            )
            lxd_trust: pulumi.Output[HostTrust | None] = pulumi.Output.all(
                self.lxd_certificate.certificate,
                self.lxd_certificate.key,
                args.lxd_client_certificate,
            ).apply(lambda pems: HostTrust(str(pems[0]), str(pems[1]), str(pems[2])))
        else:
            lxd_trust = pulumi.Output.from_input(None)
        user_data = pulumi.Output.all(self.port.mac_address, mtu, lxd_trust).apply(
            lambda values: render_host(
                host_spec(
                    args,
                    macaddress=str(values[0]),
                    mtu=_mtu_or_none(values[1]),
                    lxd_trust=values[2],
                )
            )
        )
        ignored, replacing = image_update_options(args)
        self.server = openstack.compute.Instance(
            f"{name}-server",
            name=name,
            flavor_name=args.flavor_name,
            key_pair=args.key_pair,
            networks=[openstack.compute.InstanceNetworkArgs(port=self.port.id)],
            user_data=user_data,
            image_name=args.image_name if args.boot_volume_size is None else None,
            block_devices=boot_volume(args),
            # The server boots on a port that outlives it: a replacement (any user_data change)
            # must release the port before the new server can take it.
            opts=pulumi.ResourceOptions(
                parent=self,
                delete_before_replace=True,
                ignore_changes=ignored,
                replace_on_changes=replacing,
            ),
        )

        self.lxd_endpoint: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.lxd_fingerprint: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.lxd_certificate_pem: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.profiles: dict[str, Profile] = {}
        self.containers: dict[str, Container] = {}
        if self.lxd_certificate is not None:
            self._manage_lxd(name, args, self.lxd_certificate, mtu)

        self.container_slots = {
            slot.name: {"ip": str(slot.ip_address), "mac": slot.mac_address}
            for slot in args.container_slots
        }
        if args.image_updates is ImageUpdates.NEW_HOSTS and args.boot_volume_size is None:
            # Only a server that exists has an id at preview: a new one boots the image.
            pulumi.Output.all(self.server.id, self.server.image_name).apply(
                lambda values: self._note_kept_image(values[1], args.image_name)
            )
        # Only a server that exists has an id at preview: a new one is not looked up.
        if args.server_status_read is ServerStatusRead.LIVE:
            self.server_status = pulumi.Output.all(self.server.id, self.server.urn).apply(
                lambda ids: self._check_server(HostServer(name, ids[0], ids[1], args.os_cloud))
            )
        else:
            self.server_status = pulumi.Output.all(
                self.server.id, self.server.urn, self.server.power_state
            ).apply(
                lambda values: self._report(
                    HostServer(name, values[0], values[1], args.os_cloud),
                    reading_from_state(values[2]),
                )
            )
        self.register_outputs(
            {
                "name": name,
                "fixed_ip": self.fixed_ip,
                "floating_ip": self.floating_ip_address,
                "container_slots": self.container_slots,
                "server_status": self.server_status,
                "lxd_endpoint": self.lxd_endpoint,
                "lxd_fingerprint": self.lxd_fingerprint,
            }
        )

    def _manage_lxd(
        self,
        name: str,
        args: LxdHostArgs,
        certificate: Certificate,
        mtu: pulumi.Input[int | None],
    ) -> None:
        """The host's slot profiles and containers, through its LXD API."""
        address = pulumi.Output.all(self.floating_ip_address, self.fixed_ip).apply(
            lambda addresses: addresses[0] or addresses[1]
        )
        endpoint = address.apply(lambda host: f"https://{host}:{args.lxd_api_port}")
        self.lxd_endpoint = endpoint
        self.lxd_fingerprint = certificate.fingerprint
        self.lxd_certificate_pem = certificate.certificate
        access = LxdAccess(
            host=name,
            endpoint=endpoint,
            server_certificate=certificate.certificate,
            client_certificate=args.lxd_client_certificate or "",
            client_key=args.lxd_client_key or "",
            server_id=self.server.id,
            bridge=args.spec_template.bridge,
            bridge_address=self.fixed_ip,
        )
        # The profiles carry the MTU Neutron reports, known once the network exists.
        profiles = pulumi.Output.from_input(mtu).apply(
            lambda value: {
                profile.name: profile.bound_to(args.spec_template.bridge).to_dict()
                for profile in args_slot_profiles(args, _mtu_or_none(value))
            }
        )
        for slot in args.container_slots:
            body = profiles.apply(functools.partial(_profile_body, slot.name))
            self.profiles[slot.name] = Profile(
                f"{name}-{slot.name}",
                access=access,
                profile_name=slot.name,
                description=body.apply(lambda profile: str(profile["description"])),
                config=body.apply(lambda profile: profile["config"]),
                devices=body.apply(lambda profile: profile["devices"]),
                opts=pulumi.ResourceOptions(parent=self),
            )
        slots = {slot.name: slot for slot in args.container_slots}
        for container in args.containers:
            slot = slots[container.slot]
            self.containers[container.name] = Container(
                f"{name}-{container.name}",
                access=access,
                container_name=container.name,
                slot=container.slot,
                address=str(slot.ip_address),
                image=container.image.as_props(),
                profiles=["default", container.slot, *container.profiles],
                user_data=container.user_data,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.profiles[container.slot]]
                ),
            )

    async def _check_server(self, server: HostServer) -> str | None:
        """Read the server's status from Nova and warn, naming the host and what to run, when
        it is not running. Failing to read it is a warning too, never the program's failure."""
        try:
            result = await call_data_source(tokens.GET_INSTANCE, {"id": server.server_id}, self)
        except Exception as error:  # any failure to read is reported, never raised
            reading = reading_from_error(str(error))
        else:
            reading = reading_from_lookup(result)
        return self._report(server, reading)

    def _note_kept_image(self, kept: str | None, configured: str) -> None:
        """Say so when the host keeps an image of another name than `lxdhost:image` now gives:
        a preview shows no change for it, and the user may expect one."""
        note = kept_image_note(self.host_name, kept, configured)
        if note is not None:
            pulumi.log.info(note, resource=self)

    def _report(self, server: HostServer, reading: ServerReading) -> str | None:
        """Warn, naming the host and what to run, when the reading is not a running server;
        the status, as the `serverStatus` output holds it."""
        warning = status_warning(server, reading)
        if warning is not None:
            pulumi.log.warn(warning, resource=self)
        return reading.status


def address_pairs(
    slots: Sequence[ContainerSlot],
) -> list[openstack.networking.PortAllowedAddressPairArgs]:
    """One pair per slot with its MAC: a pair without one would use the port's own MAC."""
    return [
        openstack.networking.PortAllowedAddressPairArgs(
            ip_address=str(slot.ip_address), mac_address=slot.mac_address
        )
        for slot in slots
    ]


# What the provider stores as a server's `imageName` once its image is gone from Glance.
IMAGE_NOT_FOUND = "Image not found"
IMAGES_RUNBOOK = "docs/troubleshooting.md#re-uploading-the-hosts-image"


def kept_image_note(host_name: str, kept: str | None, configured: str) -> str | None:
    """The note for a host (`imageUpdates: new-hosts`) whose server keeps an image of another
    name than `lxdhost:image` gives, as the state has it: the name Glance gave it when it was
    created or last refreshed. None when the names agree, or when the image is gone and its
    name unknown."""
    if not kept or kept in (configured, IMAGE_NOT_FOUND):
        return None
    return (
        f"LXD host {host_name} keeps the image it booted from, {kept!r}; lxdhost:image names "
        f"{configured!r}, which hosts created from now on boot (imageUpdates: new-hosts). "
        f"To move it: {IMAGES_RUNBOOK}"
    )


def image_update_options(args: LxdHostArgs) -> tuple[list[str], list[str]]:
    """The server's `ignore_changes` and `replace_on_changes` for `args.image_updates`.

    The provider rebuilds a server in place when its `imageName` differs from the state's,
    which a refresh sets to `Image not found` once the image is deleted or renamed; and a new
    upload of a boot volume's image gives a new id, which replaces the server. Either way the
    root disk is lost, and with LXD managed through its API the stack's profiles and containers
    would be left in its state with nothing behind them. So the image is ignored once a host is
    up (`new-hosts`), or changing it replaces the host and everything on it (`replace`), never a
    rebuild. A boot volume's image (its id) replaces the server when it changes already.
    """
    image_input = "imageName" if args.boot_volume_size is None else "blockDevices[0].uuid"
    if args.image_updates is ImageUpdates.NEW_HOSTS:
        return [image_input], []
    return [], [image_input] if args.boot_volume_size is None else []


def boot_volume(args: LxdHostArgs) -> list[openstack.compute.InstanceBlockDeviceArgs] | None:
    """A new Cinder boot volume made from the image, or None to boot on the flavor's disk."""
    if args.boot_volume_size is None:
        return None
    return [
        openstack.compute.InstanceBlockDeviceArgs(
            source_type="image",
            uuid=args.boot_image_id,
            destination_type="volume",
            volume_size=args.boot_volume_size,
            boot_index=0,
            delete_on_termination=True,
        )
    ]


def _profile_body(name: str, profiles: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return profiles[name]


def _mtu_or_none(value: object) -> int | None:
    # The engine hands numbers over as floats where the schema says integer.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value > 0 and float(value).is_integer() else None

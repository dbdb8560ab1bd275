"""The stack's certificates, and each host's LXD profiles and containers, as Pulumi resources.

Python dynamic providers, which the project's own language host runs
(`pulumi-resource-pulumi-python`): pulumi-openstack has no LXD resources, and no LXD provider
builds here. Each provider keeps nothing on `self` and builds its client in each call; its
class lives in this module, so the engine runs the current code on delete and refresh too. Each
create and update echoes its inputs in its outputs, which `diff` reads back as the old state.

- `Certificate`: a key pair made once, at create (`lxdhost.trust`); its key is a secret.
- `Profile`: an LXD profile on one host; a change is applied in place, and the containers
  using it follow, live.
- `Container`: an LXD container on one host, created from its image with `default` plus its
  slot's profile and its own cloud-init user-data, then started. A new image, user-data or
  slot replaces it, alone.

Profiles and containers name their host's server id: a host that is replaced takes them with
it, and they are deleted before the host is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi import dynamic

from lxdhost import lxdapi, trust

# The inputs that say where a host's LXD is and how to reach it (`lxdapi.LxdEndpoint`).
ENDPOINT_KEYS = (
    "host",
    "endpoint",
    "serverCertificate",
    "clientCertificate",
    "clientKey",
    "bridge",
    "bridgeAddress",
)


@dataclass(frozen=True)
class LxdAccess:
    """How one host's LXD is reached: what every profile and container on it takes."""

    host: str
    endpoint: pulumi.Input[str]
    server_certificate: pulumi.Input[str]
    client_certificate: pulumi.Input[str]
    client_key: pulumi.Input[str]
    server_id: pulumi.Input[str]
    bridge: str
    bridge_address: pulumi.Input[str]

    def props(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "endpoint": self.endpoint,
            "serverCertificate": self.server_certificate,
            "clientCertificate": self.client_certificate,
            "clientKey": pulumi.Output.secret(self.client_key),
            "bridge": self.bridge,
            "bridgeAddress": self.bridge_address,
            "serverId": self.server_id,
        }


# The inputs whose change replaces each kind of resource (the offline diff names them too).
CERTIFICATE_REPLACES = ("kind", "commonName", "addresses")
PROFILE_REPLACES = ("name", "serverId")
CONTAINER_REPLACES = ("name", "serverId", "image", "userData", "slot")


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    return [key for key in keys if olds.get(key) != news.get(key)]


# Certificates.


class _CertificateProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        if props["kind"] == "server":
            pair = trust.server_certificate(props["commonName"], props.get("addresses") or ())
        else:
            pair = trust.client_certificate(props["commonName"])
        outs = {
            **props,
            "certificate": pair.certificate,
            "key": pair.private_key,
            "fingerprint": trust.fingerprint(pair.certificate),
        }
        return dynamic.CreateResult(id_=outs["fingerprint"], outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = _changed(olds, news, CERTIFICATE_REPLACES)
        return dynamic.DiffResult(changes=bool(replaces), replaces=replaces)

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        # Nothing outside the stack holds it: the state is the certificate.
        return dynamic.ReadResult(id_, props)


class Certificate(dynamic.Resource, module="tls", name="Certificate"):
    """A self-signed certificate and its key, made once (`kind`: `client` or `server`)."""

    certificate: pulumi.Output[str]
    key: pulumi.Output[str]  # a secret
    fingerprint: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        kind: str,
        common_name: str,
        addresses: pulumi.Input[Sequence[pulumi.Input[str]]] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            _CertificateProvider(),
            name,
            {
                "kind": kind,
                "commonName": common_name,
                "addresses": addresses,
                "certificate": None,
                "key": None,
                "fingerprint": None,
            },
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["key"])
            ),
        )


# Profiles.


def _profile(props: Mapping[str, Any]) -> lxdapi.Profile:
    return lxdapi.Profile(
        name=str(props["name"]),
        description=str(props.get("description") or ""),
        config=dict(props.get("config") or {}),
        devices={name: dict(device) for name, device in (props.get("devices") or {}).items()},
    )


class _ProfileProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        endpoint = lxdapi.LxdEndpoint.from_props(props)
        lxdapi.wait_until_ready(endpoint)
        with lxdapi.connect(endpoint) as client:
            lxdapi.put_profile(client, _profile(props))
        return dynamic.CreateResult(id_=f"{props['host']}/{props['name']}", outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = _changed(olds, news, PROFILE_REPLACES)
        changed = _changed(olds, news, ("description", "config", "devices", *ENDPOINT_KEYS))
        return dynamic.DiffResult(
            changes=bool(replaces or changed), replaces=replaces, delete_before_replace=True
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        with lxdapi.connect_when_ready(lxdapi.LxdEndpoint.from_props(news)) as client:
            lxdapi.put_profile(client, _profile(news))
        return dynamic.UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        with lxdapi.connect_when_ready(lxdapi.LxdEndpoint.from_props(props)) as client:
            found = lxdapi.read_profile(client, str(props["name"]))
        if found is None:
            return dynamic.ReadResult("", {})
        outs = {
            **props,
            "description": found.description,
            "config": dict(found.config),
            "devices": {name: dict(device) for name, device in found.devices.items()},
        }
        return dynamic.ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with lxdapi.connect_when_ready(lxdapi.LxdEndpoint.from_props(props)) as client:
            lxdapi.delete_profile(client, str(props["name"]))


class Profile(dynamic.Resource, module="lxd", name="Profile"):
    """An LXD profile on one host, kept as declared."""

    def __init__(
        self,
        name: str,
        *,
        access: LxdAccess,
        profile_name: str,
        description: pulumi.Input[str],
        config: pulumi.Input[Mapping[str, str]],
        devices: pulumi.Input[Mapping[str, Mapping[str, str]]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **access.props(),
            "name": profile_name,
            "description": description,
            "config": config,
            "devices": devices,
        }
        super().__init__(_ProfileProvider(), name, props, opts)


# Containers.


def _image(props: Mapping[str, Any]) -> lxdapi.ImageSource:
    image = props.get("image") or {}
    return lxdapi.ImageSource(
        alias=image.get("alias") or None,
        fingerprint=image.get("fingerprint") or None,
        file=image.get("file") or None,
        server=image.get("server") or None,
        protocol=image.get("protocol") or "simplestreams",
    )


class _ContainerProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        endpoint = lxdapi.LxdEndpoint.from_props(props)
        lxdapi.wait_until_ready(endpoint)
        container = lxdapi.Container(
            name=str(props["name"]),
            image=_image(props),
            profiles=list(props["profiles"]),
            user_data=props.get("userData") or None,
        )
        with lxdapi.connect(endpoint) as client:
            try:
                lxdapi.create_container(client, container)
            except Exception as error:
                raise lxdapi.LxdError(
                    f"container {container.name} on {endpoint.host}: {error}"
                ) from error
            state = lxdapi.read_container(client, container.name)
        return dynamic.CreateResult(
            id_=f"{props['host']}/{props['name']}", outs=_container_outs(props, state)
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = _changed(olds, news, CONTAINER_REPLACES)
        changed = _changed(olds, news, ("profiles", "address", *ENDPOINT_KEYS))
        if olds.get("status") not in (None, "Running"):
            changed.append("status")
        return dynamic.DiffResult(
            changes=bool(replaces or changed), replaces=replaces, delete_before_replace=True
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        endpoint = lxdapi.LxdEndpoint.from_props(news)
        with lxdapi.connect_when_ready(endpoint) as client:
            if olds.get("profiles") != news.get("profiles"):
                lxdapi.set_container_profiles(client, str(news["name"]), news["profiles"])
            state = lxdapi.read_container(client, str(news["name"]))
            if state is not None and state.status != "Running":
                client.instances.get(str(news["name"])).start(wait=True)
                state = lxdapi.read_container(client, str(news["name"]))
        return dynamic.UpdateResult(outs=_container_outs(news, state))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        with lxdapi.connect_when_ready(lxdapi.LxdEndpoint.from_props(props)) as client:
            state = lxdapi.read_container(client, str(props["name"]))
        if state is None:
            return dynamic.ReadResult("", {})
        outs = _container_outs(props, state)
        return dynamic.ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with lxdapi.connect_when_ready(lxdapi.LxdEndpoint.from_props(props)) as client:
            lxdapi.delete_container(client, str(props["name"]))


def _container_outs(
    props: Mapping[str, Any], state: lxdapi.ContainerState | None
) -> dict[str, Any]:
    outs = dict(props)
    if state is not None:
        outs.update(status=state.status, profiles=list(state.profiles), createdAt=state.created_at)
    return outs


class Container(dynamic.Resource, module="lxd", name="Container"):
    """An LXD container on one host, in one slot, started."""

    slot: pulumi.Output[str]
    address: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        access: LxdAccess,
        container_name: str,
        slot: str,
        address: str,
        image: Mapping[str, str],
        profiles: Sequence[str],
        user_data: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **access.props(),
            "name": container_name,
            "slot": slot,
            "address": address,
            "image": dict(image),
            "profiles": list(profiles),
            "userData": user_data,
            "status": None,
            "createdAt": None,
        }
        super().__init__(_ContainerProvider(), name, props, opts)

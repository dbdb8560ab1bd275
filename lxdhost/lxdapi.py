"""A host's LXD, reached through its API with the stack's client certificate (pylxd).

Plain functions over pylxd, apart from any Pulumi resource: the resources of
`lxdhost.lxdresources` call them from their create, read, update and delete. Every call names
the host and the endpoint in its error, so a failed step says which LXD refused what.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pylxd
import pylxd.client
import pylxd.exceptions

from lxdhost.containers import file_sha256

# How long a resource waits for a new host's LXD: the host's first boot, its packages and, with
# the reboot bring-up, its second boot (4-7 minutes on the local cloud's TCG VMs).
READY_TIMEOUT = 1800.0
READY_POLL = 5.0
# How long a read, an update or a delete waits for a host that exists already: one that has just
# rebooted starts LXD a minute or so after SSH answers (under TCG).
ANSWER_TIMEOUT = 300.0
# One API request's timeout: an image upload is one request.
REQUEST_TIMEOUT = 600.0


class LxdError(RuntimeError):
    """A host's LXD could not be reached, or refused a request; the message says which."""


@dataclass(frozen=True)
class LxdEndpoint:
    """Where a host's LXD answers, and the certificates both sides show."""

    host: str  # the LxdHost's name, for messages
    url: str  # https://ADDRESS:PORT
    server_certificate: str  # PEM: pinned, by fingerprint
    client_certificate: str  # PEM: the stack's, which the host trusts
    client_key: str  # PEM
    # The host is ready once `bridge` holds `bridge_address` (the port's fixed IP): its bridge
    # is up, so a container started now reaches the network.
    bridge: str = "br0"
    bridge_address: str | None = None

    @staticmethod
    def from_props(props: Mapping[str, Any]) -> LxdEndpoint:
        """The endpoint a resource's inputs or outputs carry (`lxdresources.endpoint_props`)."""
        return LxdEndpoint(
            host=str(props["host"]),
            url=str(props["endpoint"]),
            server_certificate=str(props["serverCertificate"]),
            client_certificate=str(props["clientCertificate"]),
            client_key=str(props["clientKey"]),
            bridge=str(props.get("bridge") or "br0"),
            bridge_address=props.get("bridgeAddress") or None,
        )


@contextlib.contextmanager
def connect(endpoint: LxdEndpoint) -> Iterator[pylxd.Client]:
    """A client that shows the stack's certificate and pins the host's; `LxdError` if LXD does
    not answer or does not trust it."""
    with _certificate_files(endpoint) as (client_files, server_file):
        session = pylxd.client.get_session_for_url(
            endpoint.url, verify=server_file, cert=client_files
        )
        # requests lets REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) replace a session's `verify`, and
        # then checks LXD against the machine's CAs instead of the host's pinned certificate.
        session.trust_env = False
        try:
            client = pylxd.Client(
                endpoint=endpoint.url,
                cert=client_files,
                verify=server_file,
                timeout=REQUEST_TIMEOUT,
                session=session,
            )
        except pylxd.exceptions.ClientConnectionFailed as error:
            raise LxdError(
                f"LXD on {endpoint.host} ({endpoint.url}) did not answer: {error}"
            ) from error
        if not client.trusted:
            raise LxdError(
                f"LXD on {endpoint.host} ({endpoint.url}) does not trust the stack's client "
                "certificate"
            )
        yield client


def wait_until_ready(endpoint: LxdEndpoint, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the host's LXD trusts the stack and its bridge holds the host's address."""
    deadline = time.monotonic() + timeout
    reason = "no answer yet"
    while True:
        try:
            with connect(endpoint) as client:
                addresses = bridge_addresses(client, endpoint.bridge)
                if endpoint.bridge_address is None or endpoint.bridge_address in addresses:
                    return
                reason = f"{endpoint.bridge} holds {', '.join(addresses) or 'no address'} yet"
        except LxdError as error:
            reason = str(error)
        except pylxd.exceptions.LXDAPIException as error:
            reason = f"{endpoint.bridge}: {error}"
        if time.monotonic() >= deadline:
            raise LxdError(
                f"LXD on {endpoint.host} ({endpoint.url}) was not ready after {timeout:.0f} s: "
                f"{reason}. Its console log says why: openstack console log show {endpoint.host}"
            )
        time.sleep(READY_POLL)


@contextlib.contextmanager
def connect_when_ready(
    endpoint: LxdEndpoint, timeout: float = ANSWER_TIMEOUT
) -> Iterator[pylxd.Client]:
    """`connect`, once `wait_until_ready` says the host is ready."""
    wait_until_ready(endpoint, timeout)
    with connect(endpoint) as client:
        yield client


def bridge_addresses(client: pylxd.Client, bridge: str) -> list[str]:
    """The addresses the host's bridge holds (LXD's network state; 404 while it is missing)."""
    state = client.api.networks[bridge].state.get().json()["metadata"]
    return [str(address["address"]) for address in state.get("addresses") or []]


# Profiles.


@dataclass(frozen=True)
class Profile:
    """An LXD profile as the API takes it (config and devices are string maps)."""

    name: str
    description: str = ""
    config: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def put_profile(client: pylxd.Client, profile: Profile) -> None:
    """Create the profile, or make an existing one exactly this (instances using it follow)."""
    body = {
        "description": profile.description,
        "config": dict(profile.config),
        "devices": {name: dict(device) for name, device in profile.devices.items()},
    }
    if client.profiles.exists(profile.name):
        client.api.profiles[profile.name].put(json=body)
    else:
        client.api.profiles.post(json={"name": profile.name, **body})


def read_profile(client: pylxd.Client, name: str) -> Profile | None:
    """The profile as LXD holds it, or None when there is none of that name."""
    try:
        metadata = client.api.profiles[name].get().json()["metadata"]
    except pylxd.exceptions.NotFound:
        return None
    return Profile(
        name=name,
        description=metadata.get("description") or "",
        config=metadata.get("config") or {},
        devices=metadata.get("devices") or {},
    )


def delete_profile(client: pylxd.Client, name: str) -> None:
    """Delete the profile; one already gone is no error, one still in use is."""
    with contextlib.suppress(pylxd.exceptions.NotFound):
        client.api.profiles[name].delete()


# Images and instances.


@dataclass(frozen=True)
class ImageSource:
    """Where a container's image comes from: exactly one of an alias (on the host, or on
    `server`), a fingerprint on the host, or a local unified tarball the stack uploads."""

    alias: str | None = None
    fingerprint: str | None = None
    file: str | None = None
    server: str | None = None
    protocol: str = "simplestreams"

    def instance_source(self, client: pylxd.Client) -> dict[str, str]:
        """The `source` of an instance create; a local file is uploaded first if missing."""
        if self.file is not None:
            return {"type": "image", "fingerprint": upload_image(client, Path(self.file))}
        source = {"type": "image"}
        if self.server is not None:
            source.update(mode="pull", server=self.server, protocol=self.protocol)
        if self.alias is not None:
            source["alias"] = self.alias
        elif self.fingerprint is not None:
            source["fingerprint"] = self.fingerprint
        return source


def upload_image(client: pylxd.Client, path: Path) -> str:
    """The tarball's fingerprint, uploaded to the host unless LXD has it already."""
    fingerprint = file_sha256(path)
    if not client.images.exists(fingerprint):
        with path.open("rb") as stream:
            client.images.create(stream, public=False)
    return fingerprint


@dataclass(frozen=True)
class Container:
    """An LXD container as the stack declares it."""

    name: str
    image: ImageSource
    profiles: Sequence[str]
    user_data: str | None = None


@dataclass(frozen=True)
class ContainerState:
    """What LXD reports of a container."""

    status: str  # Running, Stopped, ...
    profiles: tuple[str, ...]
    created_at: str


def create_container(client: pylxd.Client, container: Container) -> None:
    """Create the container from its image with its profiles and user-data, and start it."""
    config = {}
    if container.user_data is not None:
        config["user.user-data"] = container.user_data
    instance = client.instances.create(
        {
            "name": container.name,
            "type": "container",
            "source": container.image.instance_source(client),
            "profiles": list(container.profiles),
            "config": config,
        },
        wait=True,
    )
    instance.start(wait=True)


def read_container(client: pylxd.Client, name: str) -> ContainerState | None:
    """The container's state, or None when LXD has no instance of that name."""
    try:
        instance = client.instances.get(name)
    except pylxd.exceptions.NotFound:
        return None
    return ContainerState(
        status=str(instance.status),
        profiles=tuple(instance.profiles),
        created_at=str(instance.created_at),
    )


def set_container_profiles(client: pylxd.Client, name: str, profiles: Sequence[str]) -> None:
    """Apply a new list of profiles to a container, live."""
    instance = client.instances.get(name)
    instance.profiles = list(profiles)
    instance.save(wait=True)


def delete_container(client: pylxd.Client, name: str, attempts: int = 5) -> None:
    """Stop the container at once and delete it; one already gone is no error.

    A host that has just booted may be starting it as it is read (LXD's own autostart): a
    container found stopped can be running by the time it is deleted, so stop and delete are
    tried again."""
    for attempt in range(1, attempts + 1):
        try:
            instance = client.instances.get(name)
        except pylxd.exceptions.NotFound:
            return
        try:
            if instance.status != "Stopped":
                instance.stop(force=True, wait=True)
            instance.delete(wait=True)
            return
        except pylxd.exceptions.LXDAPIException:
            if attempt == attempts:
                raise
            time.sleep(READY_POLL)


@contextlib.contextmanager
def _certificate_files(endpoint: LxdEndpoint) -> Iterator[tuple[tuple[str, str], str]]:
    # pylxd (requests) reads certificates from files only: written to a private directory that
    # lives as long as the connection.
    with tempfile.TemporaryDirectory(prefix="lxdhost-lxd-") as directory:
        paths = {}
        for name, text in (
            ("client.crt", endpoint.client_certificate),
            ("client.key", endpoint.client_key),
            ("server.crt", endpoint.server_certificate),
        ):
            path = os.path.join(directory, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as stream:
                stream.write(text)
            paths[name] = path
        yield (paths["client.crt"], paths["client.key"]), paths["server.crt"]

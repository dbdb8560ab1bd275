"""Run the real Pulumi program without a cloud: Neutron- and Nova-like mocks and a recording engine.

One code path serves the unit tests, `python -m lxdhost plan`, the policy tests, the boot test
and the benchmark: the project's own `__main__.py` runs under `pulumi.runtime.set_mocks`, with
the stack's configuration read from `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi
CLI reads it, and every resource registration is recorded with its parent and options.

It runs on the SDK's public testing API (`pulumi.runtime.set_mocks`, `Mocks`, `test`). Two things
that API does not show are read in one small function each, which name the SDK surface they use
(and tests/lxdhost/offline/test_engine.py pins it): a registration's parent and resource options
(`_registration_options`) and the program's exports (`_stack_exports`).
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import functools
import gc
import hashlib
import ipaddress
import json
import logging
import runpy
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID
from pulumi.runtime.mocks import MockMonitor

from lxdhost import tokens, trust
from lxdhost.interrupt import ERROR_REPORTED_EXIT_CODE

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackFileError(Exception):
    """A stack's configuration files are missing or do not parse."""


@dataclass(frozen=True)
class RecordedResource:
    """One resource registration as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str | None  # the parent's URN; None for children of the stack
    custom: bool
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    options: Mapping[str, Any]  # delete_before_replace, retain_on_delete, protect, ...
    id: str | None = None  # the id the mocks gave it; None for component resources

    @property
    def parent_name(self) -> str | None:
        return None if self.parent is None else self.parent.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class RecordedInvoke:
    """One data-source call (`getNetwork`, `getSubnet`, ...) and what the mocks answered."""

    token: str
    args: Mapping[str, Any]
    result: Mapping[str, Any]


@dataclass
class ProgramRun:
    """What a run of the program registered and exported."""

    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    invokes: list[RecordedInvoke] = field(default_factory=list)
    # What the program told the user with `pulumi.log.warn`, in the order it did.
    warnings: list[str] = field(default_factory=list)
    # The program's `pulumi.log.info` messages.
    infos: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]


def _fake_id(type_: str, name: str) -> str:
    digest = hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


# The statuses the provider's getInstanceV2 data source answers with, lower-cased, as
# `powerState`; it fails on any other (data_source_openstack_compute_instance_v2.go).
_LOOKUP_POWER_STATES = frozenset(
    {"active", "shutoff", "error", "migrating", "shelved_offloaded", "shelved", "paused"}
)

# The statuses a refresh of an `Instance` stores, lower-cased, as its `powerState`
# (resource_openstack_compute_instance_v2.go).
_STORED_POWER_STATES = _LOOKUP_POWER_STATES | {"build"}


class CloudMocks(pulumi.runtime.Mocks):
    """Answers like Neutron and Nova would, deterministically.

    Ports get a `fa:16:3e:…` MAC (Neutron's default base_mac) and the next free address from
    their subnet's allocation pool; servers get the port's address as `access_ip_v4`, and a
    lookup of a server finds it ACTIVE, or in the status `server_status` gives its name (Nova's
    status, e.g. `ERROR`, `SHUTOFF`; `DELETED` for a server Nova no longer has). A server's own
    `powerState` output is that status too, lower-cased, as a refresh stores it (`active` for
    one Nova no longer has: a refresh would drop it from the state instead). A server's
    `imageName` output is the name `server_images` gives it, as a refresh stores the name
    Glance now gives its image (another name than the program's: it booted another image),
    or else the one the program gave.
    """

    def __init__(
        self,
        server_status: Mapping[str, str] | None = None,
        server_images: Mapping[str, str] | None = None,
    ) -> None:
        self._pools: dict[str, list[str]] = {}  # subnet id -> free addresses, in order
        self._subnet_gateways: dict[str, str] = {}
        self._port_count = 0
        self._port_ips: dict[str, str] = {}  # port id -> fixed ip
        self._server_status = dict(server_status or {})  # server name -> Nova's status
        self._server_images = dict(server_images or {})  # server name -> its image's name
        self._server_names: dict[str, str] = {}  # server id -> name

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        # A `get` or an import names an object that exists already.
        resource_id = args.resource_id or _fake_id(args.typ, args.name)
        handler = self._handlers().get(args.typ)
        if handler is not None:
            inputs = handler(resource_id, inputs)
        return resource_id, inputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token in ("openstack:networking/getNetwork:getNetwork",):
            # Looked up by id: a tenant network (an adopted subnet's), with Neutron's VXLAN MTU.
            network_id = args.args.get("networkId")
            if network_id:
                return {"id": network_id, "networkId": network_id, "mtu": 1450}, []
            name = args.args.get("name", "external")
            return {"id": _fake_id("network", str(name)), "name": name, "external": True}, []
        if args.token == "openstack:images/getImage:getImage":
            name = str(args.args.get("name", "image"))
            return {"id": _fake_id("image", name), "name": name}, []
        if args.token == "openstack:networking/getSubnet:getSubnet":
            # Invoke arguments and results travel with the engine's camelCase names.
            subnet_id = str(args.args.get("subnetId") or args.args.get("subnet_id") or "")
            return {
                "id": subnet_id,
                "subnetId": subnet_id,
                "networkId": _fake_id("net-of", subnet_id),
            }, []
        if args.token == tokens.GET_INSTANCE:
            return self._server_lookup(str(args.args.get("id") or ""))
        return dict(args.args), []

    def _server_lookup(self, server_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """As the provider's getInstanceV2 answers: the status, lower-cased, as `powerState`;
        nothing for a server Nova does not have; a failure for a status outside its list,
        which the real engine reports as the invoke's error."""
        name = self._server_names.get(server_id)
        status = self._server_status.get(name, "ACTIVE") if name is not None else "DELETED"
        if status == "DELETED":
            return {}, []
        if status.lower() not in _LOOKUP_POWER_STATES:
            return {}, [("id", f"Invalid power_state for instance {server_id}: {status}")]
        return {"id": server_id, "powerState": status.lower()}, []

    def _handlers(self) -> dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]]:
        return {
            tokens.SUBNET: self._subnet,
            tokens.PORT: self._port,
            tokens.INSTANCE: self._instance,
            tokens.FLOATING_IP: self._floating_ip,
            tokens.NETWORK: self._network,
            tokens.CERTIFICATE: self._certificate,
        }

    def _certificate(self, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        # A real certificate, the same bytes at every run: the plan's user_data embeds it.
        pair = deterministic_certificate(
            resource_id, str(inputs.get("commonName", "")), inputs.get("addresses") or ()
        )
        return {
            **inputs,
            "certificate": pair.certificate,
            "key": pair.private_key,
            "fingerprint": trust.fingerprint(pair.certificate),
        }

    def _network(self, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"mtu": 1450, **inputs}

    def _subnet(self, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        cidr = ipaddress.ip_network(str(inputs.get("cidr", "192.168.0.0/24")))
        hosts = list(cidr.hosts())
        gateway = str(inputs.get("gatewayIp") or hosts[0])
        pools = inputs.get("allocationPools") or [{"start": str(hosts[1]), "end": str(hosts[-1])}]
        free: list[str] = []
        for pool in pools:
            start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
            free.extend(str(a) for a in hosts if start <= a <= end)
        # Neutron's DHCP agent takes the first pool address for its own port.
        self._pools[resource_id] = free[1:]
        self._subnet_gateways[resource_id] = gateway
        return {**inputs, "gatewayIp": gateway, "allocationPools": pools}

    def _port(self, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self._port_count += 1
        mac = "fa:16:3e:{:02x}:{:02x}:{:02x}".format(
            *hashlib.sha256(resource_id.encode()).digest()[:3]
        )
        fixed_ips = []
        for fixed in inputs.get("fixedIps") or []:
            subnet_id = fixed.get("subnetId", "")
            ip = fixed.get("ipAddress")
            if not ip:
                free = self._pools.get(subnet_id)
                ip = free.pop(0) if free else f"192.0.2.{self._port_count}"
            fixed_ips.append({**fixed, "ipAddress": ip})
        if fixed_ips:
            self._port_ips[resource_id] = fixed_ips[0]["ipAddress"]
        all_ips = [f["ipAddress"] for f in fixed_ips]
        return {
            **inputs,
            "macAddress": inputs.get("macAddress") or mac,
            "fixedIps": fixed_ips,
            "allFixedIps": all_ips,
            "portSecurityEnabled": inputs.get("portSecurityEnabled", True),
        }

    def _instance(self, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        networks = inputs.get("networks") or []
        port_id = networks[0].get("port") if networks else None
        ip = self._port_ips.get(str(port_id), "")
        name = str(inputs.get("name", ""))
        self._server_names[resource_id] = name
        status = self._server_status.get(name, "ACTIVE").lower()
        return {
            **inputs,
            **({"imageName": self._server_images[name]} if name in self._server_images else {}),
            "accessIpV4": ip,
            "networks": [{**n, "fixedIpV4": ip} for n in networks],
            "powerState": status if status in _STORED_POWER_STATES else "active",
        }

    def _floating_ip(self, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        digest = hashlib.sha256(resource_id.encode()).digest()
        return {**inputs, "address": f"203.0.113.{1 + digest[0] % 254}"}


def deterministic_certificate(
    seed: str, common_name: str, addresses: Sequence[str]
) -> trust.KeyPair:
    """A self-signed Ed25519 certificate whose key, serial and dates all follow from `seed`
    (Ed25519 signs deterministically): the offline plan's stand-in for a certificate the
    stack makes once, at random, on a real run."""
    digest = hashlib.sha256(seed.encode()).digest()
    key = ed25519.Ed25519PrivateKey.from_private_bytes(digest)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or "stand-in")])
    names: list[x509.GeneralName] = [x509.DNSName(common_name or "stand-in")]
    names.extend(x509.IPAddress(ipaddress.ip_address(str(a))) for a in addresses if a)
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(digest[:16], "big") | 1)
        .not_valid_before(start)
        .not_valid_after(start + trust.VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, None)
    )
    return trust.KeyPair.of(certificate, key)


class ProgramLog(logging.Logger):
    """The logger the mocks' engine writes the program's `pulumi.log` messages to."""

    def __init__(self) -> None:
        super().__init__("lxdhost.offline.program")
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.infos: list[str] = []

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.infos.append(str(msg))

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.errors.append(str(msg))

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.warnings.append(str(msg))


class RecordingMocks(pulumi.runtime.Mocks):
    """Another `Mocks`, and a record of what each call and new resource asked and was answered.

    A resource's inputs are recorded as the SDK gives them to the mocks: the engine's camelCase
    names, and numbers as the wire carries them (22.0).
    """

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        self.mocks = mocks
        self.invokes: list[RecordedInvoke] = []
        # The mock monitor asks for a resource on the thread that registers it.
        self._answers = threading.local()

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)  # as asked, whatever the mocks do with theirs
        resource_id, outputs = self.mocks.new_resource(args)
        self._answers.last = (args, inputs, resource_id, outputs)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        answer = self.mocks.call(args)
        result = answer if isinstance(answer, dict) else answer[0]
        self.invokes.append(RecordedInvoke(args.token, dict(args.args), dict(result)))
        return answer

    def last_answer(
        self,
    ) -> tuple[pulumi.runtime.MockResourceArgs, dict[str, Any], str | None, dict[str, Any]]:
        """The arguments, inputs, id and outputs of the last `new_resource` on this thread, once."""
        answer = getattr(self._answers, "last", None)
        self._answers.last = None
        if answer is None:
            raise RuntimeError(
                "the Pulumi SDK registered a resource without asking the mocks on the same "
                "thread: see lxdhost/offline/engine.py, RecordingMonitor"
            )
        return answer  # type: ignore[no-any-return]


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, keeping each registration with its parent and resource options.

    `MockMonitor` is outside the SDK's public names, but `set_mocks(monitor=...)` takes one. What
    this relies on: its `RegisterResource(request)` asks the mocks for the resource on the calling
    thread and answers with the URN; `_registration_options` reads the request.
    """

    def __init__(self, mocks: RecordingMocks, *, project: str, stack: str) -> None:
        super().__init__(mocks)
        self.recording = mocks
        self.project = project
        self.stack = stack
        self.records: list[RecordedResource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The SDK's own reads the stack from a context variable, which the thread the runtime
        # calls the monitor from does not always carry: the URN would name stack "stack".
        if parent:
            type_ = parent.split("::")[2].rsplit("$", maxsplit=1)[-1] + "$" + type_
        return "urn:pulumi:" + "::".join([self.stack, self.project, type_, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == _STACK_TYPE:
            return response
        args, inputs, resource_id, outputs = self.recording.last_answer()
        parent, options = _registration_options(request)
        self.records.append(
            RecordedResource(
                urn=response.urn,
                type=args.typ,
                name=args.name,
                parent=parent,
                custom=bool(args.custom),
                inputs=inputs,
                outputs=outputs,
                options={"import_id": args.resource_id or None, **options},
                id=(resource_id or None) if args.custom else None,
            )
        )
        return response


_STACK_TYPE = "pulumi:pulumi:Stack"


def _registration_options(request: Any) -> tuple[str | None, dict[str, Any]]:
    """A registration's parent URN (None for the stack's children) and its resource options.

    No public API shows them: `Mocks.new_resource` sees a resource's type, name, inputs and
    import id only. They reach the engine in the resource monitor's `RegisterResourceRequest`
    (pulumi/proto/pulumi/resource.proto), which the SDK hands to the mock monitor that
    `pulumi.runtime.set_mocks(monitor=...)` takes. What this depends on: that argument,
    `MockMonitor.RegisterResource(request)` and these fields of the request. `dependencies` is
    every resource the registration waits for: `depends_on` and those its inputs come from.
    """
    parent = request.parent or None
    if parent is not None and parent.split("::")[2].split("$")[-1] == _STACK_TYPE:
        parent = None
    return parent, {
        "delete_before_replace": bool(request.deleteBeforeReplace),
        "retain_on_delete": bool(request.retainOnDelete),
        "protect": bool(request.protect),
        "ignore_changes": list(request.ignoreChanges),
        "replace_on_changes": list(request.replaceOnChanges),
        "depends_on": sorted(request.dependencies),
    }


def read_stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The stack's configuration as the Pulumi CLI resolves it: project defaults, then stack file.

    Keys are fully qualified (`lxdhost:cidr`, `openstack:cloud`); values are as written (objects
    and lists stay structured). A `secure:` value becomes the placeholder `[secret]`.
    """
    project_file = root / "Pulumi.yaml"
    stack_file = root / f"Pulumi.{stack}.yaml"
    project = _load_yaml(project_file)
    if not stack_file.is_file():
        known = ", ".join(list_stacks(root)) or "none"
        raise StackFileError(f"{stack_file.name}: no such stack file (stacks here: {known})")
    stack_doc = _load_yaml(stack_file)
    project_name = str(project.get("name", ""))
    resolved: dict[str, Any] = {}
    for key, declaration in (project.get("config") or {}).items():
        if isinstance(declaration, Mapping) and "default" in declaration:
            resolved[_qualify(key, project_name)] = declaration["default"]
        elif not isinstance(declaration, Mapping):
            resolved[_qualify(key, project_name)] = declaration
    stack_config = stack_doc.get("config") or {}
    if not isinstance(stack_config, Mapping):
        raise StackFileError(f"{stack_file.name}: `config` must be a mapping of keys to values")
    for key, value in stack_config.items():
        is_secret = isinstance(value, Mapping) and set(value) == {"secure"}
        resolved[_qualify(str(key), project_name)] = "[secret]" if is_secret else value
    return resolved


def list_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _qualify(key: str, project_name: str) -> str:
    return key if ":" in key else f"{project_name}:{key}"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise StackFileError(f"{path.name}: cannot be read: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name}: not valid YAML: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name}: must be a YAML mapping")
    return document


def encode_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Configuration as the CLI hands it to a program: strings as they are, the rest as JSON."""
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }


def set_config(config: Mapping[str, Any]) -> None:
    """Give the Pulumi runtime this configuration, encoded the way the CLI passes it."""
    pulumi.runtime.set_all_config(encode_config(config), [])


def run_program(
    stack: str,
    config: Mapping[str, Any] | None = None,
    *,
    mocks: pulumi.runtime.Mocks | None = None,
    program: Path | Callable[[], object] = PROJECT_ROOT / "__main__.py",
    project: str = "lxdhost",
) -> ProgramRun:
    """Run `__main__.py` for a stack under mocks and return what it registered.

    `config` defaults to the stack's files; pass a mapping to run a stack that exists only in a
    test. `program` may also be a function that declares resources (the benchmark's bare
    program). Errors the program raises (a `pulumi.RunError` for bad configuration) propagate.
    """
    resolved = read_stack_config(stack) if config is None else dict(config)
    _close_event_loops_at_exit()
    recording = RecordingMocks(mocks or CloudMocks())
    monitor = RecordingMonitor(recording, project=project, stack=stack)
    log = ProgramLog()
    # A new root stack for this run: `set_mocks` makes one only where there is none.
    pulumi.runtime.reset_options(project=project, stack=stack, preview=False)
    pulumi.runtime.set_mocks(
        recording, project=project, stack=stack, preview=False, monitor=monitor, logger=log
    )
    set_config(resolved)
    run = ProgramRun(stack=stack)

    def keep_exports(exports: dict[str, Any]) -> None:
        run.exports = exports

    # `test` runs the function under the mocks, then waits for every registration and `apply`
    # it started and for the Output it returns: here, the one that fills in the exports' values.
    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def body() -> pulumi.Output[None] | None:
        if callable(program):
            program()
        else:
            runpy.run_path(str(program), run_name="__main__")
        pending = _resolve_into(_stack_exports(), keep_exports)
        return pulumi.Output.all(*pending).apply(lambda _: None) if pending else None

    # The program takes SIGINT over, as the owner of its process (lxdhost.interrupt); here the
    # process is the caller's, which gets its own handler back.
    sigint = signal.getsignal(signal.SIGINT)
    try:
        body()
    except SystemExit as ended:
        # The program showed its error itself (pulumi.log.error) and ended as the language host
        # expects, while it declared (a bad key) or once a lookup failed: to a caller, that is
        # the RunError it would otherwise have raised.
        _cancel_what_is_left()
        if ended.code == ERROR_REPORTED_EXIT_CODE and log.errors:
            raise pulumi.RunError("\n".join(log.errors)) from None
        raise
    finally:
        if sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, sigint)
    run.resources = list(monitor.records)
    run.invokes = list(recording.invokes)
    run.warnings = list(log.warnings)
    run.infos = list(log.infos)
    return run


def _cancel_what_is_left() -> None:
    """The tasks a program left when it ended itself from inside one (a failed lookup): its
    other registrations and lookups. The language host's process ends with them; this one goes
    on, and the next program runs on the same event loop, where they would run again."""
    loop = asyncio.get_event_loop()
    left = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


def _stack_exports() -> dict[str, Any]:
    """What the program passed to `pulumi.export`, by name, as it passed it.

    No public API reads exports back. `pulumi.export` keeps them in the `outputs` dict of the
    root resource (`pulumi.runtime.get_root_resource()`, the SDK's `Stack`), which the engine
    would get once the program ends; under `set_mocks` the root stack is finished before the
    program starts, so they never reach the monitor. What this depends on: that dict.
    """
    outputs = getattr(pulumi.runtime.get_root_resource(), "outputs", None)
    if not isinstance(outputs, dict):
        raise RuntimeError(
            "the Pulumi SDK no longer keeps a stack's exports in the root resource's `outputs`: "
            "see lxdhost/offline/engine.py, _stack_exports"
        )
    return dict(outputs)


@functools.cache
def _close_event_loops_at_exit() -> None:
    atexit.register(close_event_loops)


def close_event_loops() -> None:
    """Close the asyncio loops the Pulumi runtime leaves open (run at exit by `run_program`).

    Besides the main loop, every thread the mock engine answered from made a loop of its own.
    Left to the interpreter's teardown, such a loop may be finalised after its own socket and
    print an ignored exception ("Invalid file descriptor: -1") after a clean exit.
    """
    for loop in [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]:
        if not loop.is_running() and not loop.is_closed():
            loop.close()


def _resolve_into(value: Any, put: Callable[[Any], None]) -> list[pulumi.Output[Any]]:
    """Give `put` a copy of `value` whose Outputs are filled in with their values as they come,
    walking dicts and lists as the engine does; return the Outputs to wait for.

    An Output is read the public way, with `apply`; each is filled in where it sits, so that no
    value larger than a leaf passes through an Output. (`Output.from_input` on a whole export
    would wrap every leaf of it in an Output of its own: thousands for a stack of 200 hosts.)
    """
    if isinstance(value, pulumi.Output):

        def fill(resolved: Any) -> pulumi.Output[Any] | None:
            nested = _resolve_into(resolved, put)
            return pulumi.Output.all(*nested) if nested else None

        return [value.apply(fill)]
    pending: list[pulumi.Output[Any]] = []
    if isinstance(value, Mapping):
        mapping: dict[Any, Any] = dict.fromkeys(value)  # the keys in their order, values to come
        put(mapping)
        for key, item in value.items():
            pending.extend(_resolve_into(item, functools.partial(mapping.__setitem__, key)))
    elif isinstance(value, list | tuple):
        items: list[Any] = [None] * len(value)
        put(items)
        for index, item in enumerate(value):
            pending.extend(_resolve_into(item, functools.partial(items.__setitem__, index)))
    else:
        put(value)
    return pending

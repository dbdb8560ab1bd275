"""Benchmark: how `pulumi up` scales from 1 to 50 hosts on the local cloud, against a bare program.

Not a test: it prints figures. It needs the local cloud with its fake compute host (Nova's
FakeDriver: a server goes ACTIVE without a VM), which `sudo scripts/local-cloud up --scale` brings
up with the flavor `lxd.fake`, and the project's Pulumi CLI (scripts/install-pulumi).

    venv/bin/python bench/scale.py [--sizes 1 10 25 50] [--parallel 0 4 16] [--logs DIR]

Stack `scale` is Pulumi.scale.yaml (hosts on the fake flavor in a /21 whose pool holds 128
addresses, no floating IP, LXD set up by the user-data) with `hostCount` N. For each size N, in
a fresh copy of the checkout with a file backend of its own, the Automation API drives the real
CLI through six steps, each timed:

1. `up` of the fresh stack;
2. `preview` of the stack that is up, which should show no change;
3. `preview-refreshed`: the same preview with `serverStatusRead: refreshed` (the hosts' status
   from the state, not from Nova); the bare program, which reads no status, previews again;
4. `refresh`;
5. `change`: `up` with hostCount N+1. The program has no per-host key (flavor, image, the
   user-data's keys and slotsPerHost apply to every host), so the one change confined to one
   host is adding one: its port and server are created, every other resource stays the same;
6. `destroy` (N+1 hosts).

The same steps run, in the same process, on a bare program (bench/scale_bare.py) that declares the
same OpenStack resources through `pulumi_openstack` and nothing else, from the program's own
offline plan; before anything is created the bench checks that the bare program registers the
program's resources under the mocks, input for input, and that the two previews on the cloud
count the same resources of the same types. `--parallel` values after the first add an `up` and a
`destroy` of fresh stacks with that `--parallel` (0: the CLI's default).

For each step and each program: wall time and time per host; the peak RSS of the CLI, the
program's Python and the provider (/proc, every 0.2 s); from the engine's events, when the last
resource was registered, the provider's time (each resource's ResourcePreEvent to its
ResOutputsEvent, summed and the longest) and the critical path through the stack's dependencies;
from the cloud's API logs, Nova's and Neutron's requests and server time, and the three kinds of
request that took most of it. bench/README.md says how to read them.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openstack
import openstack.exceptions
import pulumi
from bench_program import declaration_order, provider_class, python_arguments, registrations
from pulumi import automation as auto

from localcloud import harness
from localcloud.harness import copy_checkout, local_cloud_settings
from lxdhost import tokens
from lxdhost.config import ConfigError, parse_settings
from lxdhost.offline import (
    CloudMocks,
    ProgramRun,
    RecordedResource,
    encode_config,
    read_stack_config,
    run_program,
)

TOP = Path(__file__).resolve().parent.parent
STACK = "scale"
PASSPHRASE = "local"  # Pulumi.local.yaml's salt is for this passphrase
NO_FAKE_HOST = "the local cloud has no fake compute host: run scripts/local-cloud up --scale"
HOST_COUNT = "lxdhost:hostCount"
STATUS_READ = "lxdhost:serverStatusRead"

SIZES = (1, 10, 25, 50)
STEPS = ("up", "preview", "preview-refreshed", "refresh", "change", "destroy")
PROGRAMS = ("program", "bare")
ROLES = ("cli", "program", "provider")
SAMPLE_INTERVAL = 0.2  # seconds between two reads of the CLI's process tree
TAIL = 25  # lines of the CLI's output shown when a step fails


class BenchError(Exception):
    """The bench cannot measure what it was asked to: one message, exit status 1."""


# ---- stack `scale`, and the sizes it can hold


def scale_config(base: Mapping[str, Any], hosts: int) -> dict[str, Any]:
    """Stack `scale`'s configuration as the CLI resolves it for `hosts` hosts (`base`:
    Pulumi.scale.yaml's)."""
    return {**base, HOST_COUNT: str(hosts)}


def size_problems(base: Mapping[str, Any], sizes: Iterable[int]) -> list[str]:
    """What the program's own checks refuse in stack `scale` at each size, or with the host the
    change step adds: above all its address planner (`lxdhost.addressing.plan_addresses`, which
    `parse_settings` runs), whose pool must hold every host and Neutron's DHCP port and whose
    range after the pool must hold 10 slots a host."""
    problems: list[str] = []
    for hosts in sorted(set(sizes)):
        for count in (hosts, hosts + 1):
            try:
                parse_settings(encode_config(scale_config(base, count)))
            except ConfigError as error:
                what = f"{hosts} hosts" + ("" if count == hosts else " (+1 in the change step)")
                problems.extend(f"{what}: lxdhost:{problem}" for problem in error.problems)
                break
    return problems


def quota_problems(limits: Mapping[str, int | None], needed: Mapping[str, int]) -> list[str]:
    """The project's quotas below what the largest size needs (a negative limit: none)."""
    return [
        f"{name}: the project's quota is {limits[name]}, the largest size needs {amount}"
        for name, amount in needed.items()
        if (limit := limits.get(name)) is not None and 0 <= limit < amount
    ]


# ---- the cloud's API logs

# Where the local cloud's services log each API request they answered (`LC_LOGS`).
API_LOGS = {"Nova": "nova-api.log", "Neutron": "neutron-server.log"}
# Nova's requestlog and Neutron's wsgi lines: the time they were logged (the request's end, in
# the log's local time), the request line and the service's own seconds for it.
_API_LINE = re.compile(
    r"^(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*?"
    r'"(?P<method>[A-Z]+) (?P<target>[^" ]+)(?: HTTP/[0-9.]+)?" status: (?P<status>\d+)\s'
    r".*?\btime: (?P<seconds>[0-9]+(?:\.[0-9]+)?)"
)
# A path segment that names one object: a UUID, with or without dashes, or a number.
_ID = re.compile(r"[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}|[0-9]+")


@dataclass(frozen=True)
class ApiRequest:
    at: datetime  # when the service logged it, in the log's own (local) time
    method: str
    target: str  # the path and query string
    status: int
    seconds: float  # the service's own time for it

    @property
    def kind(self) -> str:
        return request_kind(self.method, self.target)


def parse_api_line(line: str) -> ApiRequest | None:
    """The request a log line reports; None for any other line."""
    match = _API_LINE.match(line)
    if match is None:
        return None
    return ApiRequest(
        at=datetime.strptime(match["stamp"], "%Y-%m-%d %H:%M:%S.%f"),
        method=match["method"],
        target=match["target"],
        status=int(match["status"]),
        seconds=float(match["seconds"]),
    )


def request_kind(method: str, target: str) -> str:
    """`GET /v2.0/ports/<uuid>?fields=a&fields=b` -> `GET /v2.0/ports/{id}?fields`: the method,
    the path with its ids replaced and the query's parameter names."""
    path, _, query = target.partition("?")
    segments = ["{id}" if _ID.fullmatch(segment) else segment for segment in path.split("/")]
    kind = f"{method} {'/'.join(segments)}"
    names = dict.fromkeys(item.partition("=")[0] for item in query.split("&") if item)
    return f"{kind}?{'&'.join(names)}" if names else kind


@dataclass(frozen=True)
class ApiFigures:
    requests: int
    seconds: float
    # The kinds of request that took most server time: (kind, requests, seconds), most first.
    top: tuple[tuple[str, int, float], ...]


def api_figures(
    requests: Iterable[ApiRequest], start: datetime, end: datetime, top: int = 3
) -> ApiFigures:
    """The requests logged from `start` to `end`: how many, their seconds, the top kinds."""
    inside = [request for request in requests if start <= request.at <= end]
    by_kind: dict[str, list[float]] = {}
    for request in inside:
        by_kind.setdefault(request.kind, []).append(request.seconds)
    ranked = sorted(by_kind.items(), key=lambda item: (-sum(item[1]), item[0]))
    return ApiFigures(
        requests=len(inside),
        seconds=sum(request.seconds for request in inside),
        top=tuple((kind, len(times), sum(times)) for kind, times in ranked[:top]),
    )


class CloudLogs:
    """The cloud's API logs, read from where each stood when a step began."""

    def __init__(self, directory: Path) -> None:
        self.paths = {service: directory / name for service, name in API_LOGS.items()}

    def missing(self) -> list[str]:
        return [str(path) for path in self.paths.values() if not path.is_file()]

    def mark(self) -> dict[str, int]:
        return {
            service: path.stat().st_size if path.is_file() else 0
            for service, path in self.paths.items()
        }

    def figures(
        self, mark: Mapping[str, int], start: float, end: float
    ) -> dict[str, ApiFigures | None]:
        """Each service's requests logged between the epoch times `start` and `end`."""
        # The services log in the machine's local time (UTC on the project's machine), as
        # `datetime.fromtimestamp` gives it.
        window = datetime.fromtimestamp(start), datetime.fromtimestamp(end)
        figures: dict[str, ApiFigures | None] = {}
        for service, path in self.paths.items():
            try:
                with path.open("rb") as log:
                    size = log.seek(0, os.SEEK_END)
                    log.seek(mark[service] if mark[service] <= size else 0)  # rotated: all
                    text = log.read().decode("utf-8", "replace")
            except OSError:
                figures[service] = None
                continue
            parsed = (parse_api_line(line) for line in text.splitlines())
            figures[service] = api_figures(
                (request for request in parsed if request is not None), *window
            )
        return figures


# ---- the engine's events


@dataclass(frozen=True)
class StepEvent:
    """A resource's ResourcePreEvent, ResOutputsEvent or ResOpFailedEvent, as the bench read it
    from the CLI's event log (the engine's own timestamps are whole seconds)."""

    at: float  # seconds since the step began
    kind: Literal["pre", "outputs", "failed"]
    urn: str
    type: str
    custom: bool  # a resource a provider manages, not a component


def step_event(event: auto.EngineEvent, at: float) -> StepEvent | None:
    payloads: tuple[tuple[Literal["pre", "outputs", "failed"], Any], ...] = (
        ("pre", event.resource_pre_event),
        ("outputs", event.res_outputs_event),
        ("failed", event.res_op_failed_event),
    )
    for kind, payload in payloads:
        if payload is not None:
            metadata = payload.metadata
            # A cloud resource, not a component: as its state says, or else by its provider
            # (a component has none).
            state = metadata.new or metadata.old
            known = state.custom if state is not None else None
            custom = bool(metadata.provider) if known is None else bool(known)
            return StepEvent(at, kind, metadata.urn, metadata.type, custom)
    return None


@dataclass(frozen=True)
class Interval:
    """A cloud resource's provider time in a step."""

    start: float  # its first ResourcePreEvent
    end: float  # its last ResOutputsEvent (or ResOpFailedEvent)
    seconds: float  # summed over its steps (a replacement has two)


def provider_intervals(events: Iterable[StepEvent]) -> dict[str, Interval]:
    """Each cloud resource's time from a ResourcePreEvent to the next ResOutputsEvent (or
    ResOpFailedEvent) of the same URN. The CLI's default provider is left out."""
    opened: dict[str, list[float]] = {}
    intervals: dict[str, Interval] = {}
    for event in events:
        if not event.custom or event.type.startswith("pulumi:providers:"):
            continue
        if event.kind == "pre":
            opened.setdefault(event.urn, []).append(event.at)
        elif opened.get(event.urn):
            start = opened[event.urn].pop(0)
            known = intervals.get(event.urn)
            intervals[event.urn] = Interval(
                start=start if known is None else known.start,
                end=event.at,
                seconds=event.at - start + (0.0 if known is None else known.seconds),
            )
    return intervals


def critical_path(
    intervals: Mapping[str, Interval], waits_for: Mapping[str, Collection[str]]
) -> list[str]:
    """The chain of resources that ended the step: from the one that finished last, back through
    what each waited for that finished last, to one that waited for nothing timed. First first."""
    if not intervals:
        return []
    current = max(intervals, key=lambda urn: (intervals[urn].end, urn))
    path = [current]
    while True:
        before = [urn for urn in waits_for.get(current, ()) if urn in intervals]
        before = [urn for urn in before if urn not in path]
        if not before:
            return path[::-1]
        current = max(before, key=lambda urn: (intervals[urn].end, urn))
        path.append(current)


def dependencies(resources: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """What each resource of a stack's exported state waited for: its `dependencies`."""
    return {resource["urn"]: tuple(resource.get("dependencies") or ()) for resource in resources}


def dependents(waits_for: Mapping[str, Collection[str]]) -> dict[str, tuple[str, ...]]:
    """The other way round, as a destroy waits: a resource is deleted once those that depend on
    it are."""
    found: dict[str, list[str]] = {}
    for urn, needs in waits_for.items():
        for need in needs:
            found.setdefault(need, []).append(urn)
    return {urn: tuple(sorted(users)) for urn, users in found.items()}


@dataclass(frozen=True)
class EventFigures:
    steps: int  # ResourcePreEvents, the stack and components included
    first_registration: float | None  # seconds into the step of the first ResourcePreEvent
    last_registration: float | None  # ... and of the last
    provider_sum: float
    provider_max: float
    # The critical path, first to last: each resource's name and provider seconds.
    critical: tuple[tuple[str, float], ...] = ()

    @property
    def critical_seconds(self) -> float:
        return sum(seconds for _, seconds in self.critical)


def event_figures(
    events: Sequence[StepEvent], waits_for: Mapping[str, Collection[str]] | None = None
) -> EventFigures:
    """A step's figures from its events; the critical path only with `waits_for`."""
    registered = [event.at for event in events if event.kind == "pre"]
    intervals = provider_intervals(events)
    path = critical_path(intervals, waits_for) if waits_for is not None else []
    return EventFigures(
        steps=len(registered),
        first_registration=min(registered, default=None),
        last_registration=max(registered, default=None),
        provider_sum=sum(interval.seconds for interval in intervals.values()),
        provider_max=max((interval.seconds for interval in intervals.values()), default=0.0),
        critical=tuple((urn.rsplit("::", 1)[-1], intervals[urn].seconds) for urn in path),
    )


# ---- memory of the CLI's process tree


def process_role(cmdline: Sequence[str]) -> str | None:
    """`cli` (the pulumi binary), `program` (the Python running a program's __main__, under
    pulumi-language-python-exec), `provider` (pulumi-resource-openstack), or None."""
    if not cmdline:
        return None
    command = os.path.basename(cmdline[0])
    if command == "pulumi":
        return "cli"
    if command.startswith("pulumi-resource-openstack"):
        return "provider"
    if any(os.path.basename(part) == "pulumi-language-python-exec" for part in cmdline[1:]):
        return "program"
    return None


def tree_below(parents: Mapping[int, int], root: int) -> list[int]:
    """Every descendant of `root`, given each process's parent; sorted."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return sorted(found)


def memory_kib(status: str) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in KiB from /proc/PID/status; None for a process without memory."""
    values = dict(
        (line.split(":", 1)[0], line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    )
    if "VmRSS" not in values or "VmHWM" not in values:
        return None
    return int(values["VmRSS"]), int(values["VmHWM"])


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    role: str
    rss_kib: int
    hwm_kib: int  # the process's own peak so far


def peak_mib(samples: Iterable[Sequence[ProcessSample]]) -> dict[str, float]:
    """Each role's peak RSS in MiB: the largest sum over its processes in one sample, or one
    process's own peak (VmHWM) if larger, which a spike between two samples leaves."""
    peaks: dict[str, int] = {}
    for snapshot in samples:
        totals: Counter[str] = Counter()
        for process in snapshot:
            totals[process.role] += process.rss_kib
            peaks[process.role] = max(peaks.get(process.role, 0), process.hwm_kib)
        for role, kib in totals.items():
            peaks[role] = max(peaks[role], kib)
    return {role: kib / 1024 for role, kib in peaks.items()}


class ProcessSampler:
    """Reads the memory of this process's descendants every SAMPLE_INTERVAL, in a thread."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.samples: list[list[ProcessSample]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append(self.snapshot())
            if self._stop.wait(SAMPLE_INTERVAL):
                return

    def snapshot(self) -> list[ProcessSample]:
        parents = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue  # ended meanwhile
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found = []
        for pid in tree_below(parents, self.root):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            role = process_role(cmdline.split("\0"))
            memory = memory_kib(status)
            if role is not None and memory is not None:
                found.append(ProcessSample(pid, role, *memory))
        return found


# ---- the bare program, from the program's offline plan

# What the bare program's user_data templates hold where the program writes the port's MAC and
# the network's MTU, which only the cloud knows.
PLACEHOLDERS = {"mac": "@@PORT_MAC@@", "mtu": "@@NETWORK_MTU@@"}
# The templates come from a run under mocks that answer with this MTU and other MACs; the check
# that they give the program's bytes runs under CloudMocks, whose MTU is Neutron's for VXLAN.
SENTINEL_MTU = 7919
VERIFIED_MTUS = (1450,)
BARE_PROGRAM = Path(__file__).with_name("scale_bare.py")


class SentinelMocks(CloudMocks):
    """CloudMocks whose network has SENTINEL_MTU and whose ports other MACs."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ == tokens.NETWORK:
            outputs = {**outputs, "mtu": SENTINEL_MTU}
        if args.typ == tokens.PORT:
            digest = hashlib.sha256(f"sentinel:{resource_id}".encode()).hexdigest()
            outputs = {
                **outputs,
                "macAddress": f"fa:16:3e:{digest[0:2]}:{digest[2:4]}:{digest[4:6]}",
            }
        return resource_id, outputs


def user_data_template(text: str, mac: str, mtu: int) -> str:
    """A server's user_data with the port's MAC and the network's MTU as placeholders."""
    for placeholder in PLACEHOLDERS.values():
        if placeholder in text:
            raise BenchError(f"the user_data already holds {placeholder}")
    for what, value in (("port's MAC", mac), ("network's MTU", str(mtu))):
        if value not in text:
            raise BenchError(f"the user_data does not hold the {what} {value}")
    return text.replace(mac, PLACEHOLDERS["mac"]).replace(str(mtu), PLACEHOLDERS["mtu"])


def with_references(value: Any, references: Mapping[str, Mapping[str, str]], used: set[str]) -> Any:
    """`value` with each string that is a key of `references` (a resource's or a data source's
    id under the mocks) replaced by its reference; the data sources referenced go into `used`."""
    if isinstance(value, str) and value in references:
        reference = references[value]
        if "$invoke" in reference:
            used.add(reference["$invoke"])
        return dict(reference)
    if isinstance(value, list):
        return [with_references(item, references, used) for item in value]
    if isinstance(value, dict):
        return {key: with_references(item, references, used) for key, item in value.items()}
    return value


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def bare_spec(reference: ProgramRun, sentinel: ProgramRun) -> dict[str, Any]:
    """resources.json for the bare program: `reference`'s resources, in an order that declares
    what each needs first, with the ids the mocks gave as references; the servers' user_data
    from `sentinel`, the same program under SentinelMocks."""
    references: dict[str, dict[str, str]] = {}
    calls: dict[str, dict[str, Any]] = {}
    for index, invoke in enumerate(reference.invokes):
        result_id = invoke.result.get("id")
        package, module, function = invoke.token.split(":")
        if isinstance(result_id, str) and package == "openstack":
            key = f"invoke-{index}"
            calls[key] = {
                "module": module.split("/")[0],
                "function": f"{_snake(function)}_output",
                "args": {_snake(name): value for name, value in invoke.args.items()},
            }
            references.setdefault(result_id, {"$invoke": key, "output": "id"})
    by_id: dict[str, RecordedResource] = {}
    for record in reference.resources:
        if record.id:
            by_id[record.id] = record
            references[record.id] = {"$ref": record.urn, "output": "id"}
    networks = reference.of_type(tokens.NETWORK)
    if len(networks) != 1:
        raise BenchError(f"the plan has {len(networks)} networks: the bare program needs one")
    sentinels = {record.urn: record for record in sentinel.resources}
    urns = {record.urn for record in reference.resources}
    used: set[str] = set()
    entries = []
    for record in declaration_order(reference.resources):
        options = record.options
        entry: dict[str, Any] = {
            "urn": record.urn,
            "type": record.type,
            "name": record.name,
            "parent": record.parent,
            "custom": record.custom,
            "depends_on": [urn for urn in options["depends_on"] if urn in urns],
            "options": {
                "delete_before_replace": options["delete_before_replace"],
                "retain_on_delete": options["retain_on_delete"],
                "protect": options["protect"],
                "import_": options["import_id"],
                "ignore_changes": options["ignore_changes"] or None,
                "replace_on_changes": options["replace_on_changes"] or None,
            },
        }
        if not record.custom:
            entry["props"] = dict(record.inputs)
            entries.append(entry)
            continue
        cls = provider_class(record.type)
        args = with_references(python_arguments(cls, record.inputs), references, used)
        if record.type == tokens.INSTANCE and "user_data" in args:
            port = by_id[record.inputs["networks"][0]["port"]]
            args["user_data"] = {
                "$user_data": {
                    "text": user_data_template(
                        sentinels[record.urn].inputs["userData"],
                        sentinels[port.urn].outputs["macAddress"],
                        SENTINEL_MTU,
                    ),
                    "port": port.urn,
                    "network": networks[0].urn,
                }
            }
        entry.update({"module": record.type.split(":")[1].split("/")[0], "class": cls.__name__})
        entry["args"] = args
        entries.append(entry)
    return {
        "placeholders": PLACEHOLDERS,
        "verified_mtus": list(VERIFIED_MTUS),
        "invokes": {key: calls[key] for key in sorted(used)},
        "resources": entries,
    }


def write_bare_program(directory: Path, spec: Mapping[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BARE_PROGRAM, directory / "__main__.py")
    (directory / "resources.json").write_text(json.dumps(spec, indent=1, sort_keys=True))
    return directory / "__main__.py"


def registration_differences(reference: ProgramRun, bare: ProgramRun) -> list[str]:
    """The URNs whose registration (type, parent, inputs, options) differs between the runs."""
    expected, found = registrations(reference), registrations(bare)
    return sorted(
        urn for urn in expected.keys() | found.keys() if expected.get(urn) != found.get(urn)
    )


@dataclass(frozen=True)
class Plan:
    """Stack `scale` at one size under the mocks, and the bare program's resources.json."""

    hosts: int
    resources: int  # registrations, components included (the stack and provider left out)
    spec: dict[str, Any]


def offline_plan(base: Mapping[str, Any], hosts: int, scratch: Path) -> Plan:
    """The program's plan for `hosts` hosts and the bare program's spec, checked: under the mocks,
    the bare program registers what the program does, input for input."""
    config = scale_config(base, hosts)
    reference = run_program(STACK, config)
    spec = bare_spec(reference, run_program(STACK, config, mocks=SentinelMocks()))
    bare = run_program(STACK, config, program=write_bare_program(scratch / f"bare-{hosts}", spec))
    differing = registration_differences(reference, bare)
    if differing:
        raise BenchError(
            f"at {hosts} hosts the bare program does not declare the program's resources: "
            f"{len(differing)} differ, first {differing[0]}"
        )
    return Plan(hosts, len(reference.resources), spec)


# ---- the stacks on the cloud


def pulumi_environment() -> dict[str, str]:
    """The environment after `. scripts/pulumi-env`, with stack `local`'s passphrase."""
    return harness.pulumi_environment(PASSPHRASE)


# The bare program's project: named as the program's so that its URNs are the program's.
BARE_PROJECT = """\
name: lxdhost
description: bench/scale.py's bare program, the program's OpenStack resources and nothing else
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
backend:
  url: file://./.pulumi-state
"""


class Subject(ABC):
    """One of the two programs at one size, in a project folder of its own."""

    label: str

    def __init__(self, path: Path, environment: Mapping[str, str]) -> None:
        self.path = path
        self.environment = dict(environment)

    def new_stack(self, hosts: int) -> auto.Stack:
        """A fresh stack `scale` for `hosts` hosts."""
        self.prepare(hosts)
        stack = auto.create_stack(
            STACK,
            work_dir=str(self.path),
            opts=auto.LocalWorkspaceOptions(env_vars=self.environment),
        )
        self.configure(stack, hosts)
        return stack

    @abstractmethod
    def prepare(self, hosts: int) -> None:
        """Before the stack is created: the project's files for `hosts` hosts."""

    @abstractmethod
    def configure(self, stack: auto.Stack, hosts: int) -> None:
        """Once it is created: its configuration."""

    @abstractmethod
    def grow(self, stack: auto.Stack, hosts: int) -> None:
        """The change step's edit: from `hosts` hosts to one more."""

    @abstractmethod
    def read_status_from_state(self, stack: auto.Stack, from_state: bool) -> None:
        """Around the `preview-refreshed` step: the program's `serverStatusRead` set to
        `refreshed`, then back to the stack's own."""


class ProgramSubject(Subject):
    label = "program"

    def prepare(self, hosts: int) -> None:
        # `pulumi stack rm` removes the stack's file: each fresh stack starts from the committed
        # one.
        shutil.copy2(TOP / f"Pulumi.{STACK}.yaml", self.path / f"Pulumi.{STACK}.yaml")

    def configure(self, stack: auto.Stack, hosts: int) -> None:
        stack.set_config(HOST_COUNT, auto.ConfigValue(str(hosts)))

    def grow(self, stack: auto.Stack, hosts: int) -> None:
        stack.set_config(HOST_COUNT, auto.ConfigValue(str(hosts + 1)))

    def read_status_from_state(self, stack: auto.Stack, from_state: bool) -> None:
        if from_state:
            stack.set_config(STATUS_READ, auto.ConfigValue("refreshed"))
        else:
            stack.remove_config(STATUS_READ)


class BareSubject(Subject):
    label = "bare"

    def __init__(
        self,
        path: Path,
        environment: Mapping[str, str],
        plans: Mapping[int, Plan],
        cloud: str,
    ) -> None:
        super().__init__(path, environment)
        self.plans, self.cloud = plans, cloud
        path.mkdir(parents=True)
        (path / "Pulumi.yaml").write_text(BARE_PROJECT)
        (path / "venv").symlink_to(TOP / "venv")
        (path / ".pulumi-state").mkdir()

    def prepare(self, hosts: int) -> None:
        write_bare_program(self.path, self.plans[hosts].spec)

    def configure(self, stack: auto.Stack, hosts: int) -> None:
        stack.set_config("openstack:cloud", auto.ConfigValue(self.cloud))

    def grow(self, stack: auto.Stack, hosts: int) -> None:
        write_bare_program(self.path, self.plans[hosts + 1].spec)

    def read_status_from_state(self, stack: auto.Stack, from_state: bool) -> None:
        """The bare program reads no status: nothing to set."""


def no_change_expected(preview: StepResult) -> StepResult:
    """A preview of the stack that is up, with a note if it shows a change."""
    if set(preview.changes) - {"same"}:
        note = f"the preview of the stack that is up shows changes: {dict(preview.changes)}"
        return replace(preview, notes=(note,))
    return preview


class Interrupts:
    """Ctrl-C reaches the CLI too (the same process group), which cancels what it is doing and
    exits: while a CLI command runs the bench lets it, then stops once it has ended; at any other
    time it stops at once. Either way what exists is destroyed before the bench exits."""

    def __init__(self) -> None:
        self.requested = False
        self.cli_running = 0

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if not self.cli_running:
            raise KeyboardInterrupt

    @contextmanager
    def cli(self) -> Iterator[None]:
        self.cli_running += 1
        try:
            yield
        finally:
            self.cli_running -= 1

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


@dataclass(frozen=True)
class StepResult:
    program: str
    size: int  # the run's N
    hosts: int  # in the stack while the step ran: N, or N + 1 from the change step on
    step: str
    parallel: int  # 0: the CLI's default
    seconds: float
    memory: Mapping[str, float]  # peak RSS in MiB by role
    events: tuple[StepEvent, ...]
    api: Mapping[str, ApiFigures | None]
    changes: Mapping[str, int]
    # What the step's resources waited for (for the critical path); None: not asked.
    waits_for: Mapping[str, Collection[str]] | None = None
    notes: tuple[str, ...] = ()

    @property
    def per_host(self) -> float:
        return self.seconds / self.hosts

    @property
    def figures(self) -> EventFigures:
        return event_figures(self.events, self.waits_for)


class StepError(Exception):
    def __init__(
        self, where: str, error: Exception, stderr: Iterable[str], stdout: Iterable[str]
    ) -> None:
        super().__init__(where)
        self.error, self.stderr, self.stdout = error, list(stderr), list(stdout)

    def report(self) -> str:
        stderr = self.stderr or str(self.error).splitlines()[-TAIL:]
        lines = [f"FAILED: {self}", "the CLI's stderr, last lines:", *stderr]
        if self.stdout:
            lines += ["its output, last lines:", *self.stdout]
        return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    """Where a step runs: which program, at which size, how many hosts its stack holds."""

    subject: Subject
    stack: auto.Stack
    size: int
    hosts: int
    parallel: int

    def __str__(self) -> str:
        return f"{self.size} hosts, {self.subject.label}"


class Bench:
    """The measurements on the cloud, and every stack made for them until it is destroyed."""

    def __init__(self, logs: CloudLogs, interrupts: Interrupts) -> None:
        self.logs, self.interrupts = logs, interrupts
        self.live: list[tuple[Subject, int, auto.Stack]] = []
        self.started = time.monotonic()

    def progress(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", flush=True)

    @contextmanager
    def cli(self, what: str) -> Iterator[None]:
        """A CLI command besides the steps: its failure is named `what`; Ctrl-C stops the bench
        once it has ended."""
        try:
            with self.interrupts.cli():
                yield
        except auto.CommandError as error:
            if self.interrupts.requested:
                raise KeyboardInterrupt from error
            raise StepError(f"{what} failed", error, [], []) from error
        self.interrupts.check()

    def new_run(self, subject: Subject, size: int, parallel: int) -> Run:
        """A fresh stack for `subject` at `size` hosts."""
        with self.cli(f"creating the {subject.label}'s stack at {size} hosts"):
            stack = subject.new_stack(size)
            self.live.append((subject, size, stack))
        return Run(subject, stack, size, size, parallel)

    def remove(self, run: Run) -> None:
        with self.cli(f"`pulumi stack rm` for {run}"):
            run.stack.workspace.remove_stack(run.stack.name)
        self.live = [entry for entry in self.live if entry[2] is not run.stack]

    def waits_for(self, run: Run) -> dict[str, tuple[str, ...]]:
        """What each resource of the stack's state waited for (`pulumi stack export`)."""
        with self.cli(f"`pulumi stack export` for {run}"):
            deployment = run.stack.export_stack().deployment or {}
        return dependencies(deployment.get("resources") or [])

    def step(self, run: Run, step: str) -> StepResult:
        """One step through the Automation API, timed, with its events, memory and API logs."""
        stack = run.stack
        calls: dict[str, Callable[..., Any]] = {
            "up": stack.up,
            "preview": stack.preview,
            "preview-refreshed": stack.preview,
            "refresh": stack.refresh,
            "change": stack.up,
            "destroy": stack.destroy,
        }
        call = calls[step]
        events: list[StepEvent] = []
        stdout: deque[str] = deque(maxlen=TAIL)
        stderr: deque[str] = deque(maxlen=TAIL)
        options = {"parallel": run.parallel} if run.parallel else {}
        mark = self.logs.mark()
        began, wall_began = time.monotonic(), time.time()

        def on_event(event: auto.EngineEvent) -> None:
            record = step_event(event, time.monotonic() - began)
            if record is not None:
                events.append(record)

        with self.interrupts.cli(), ProcessSampler(os.getpid()) as sampler:
            try:
                result = call(
                    on_event=on_event,
                    on_output=stdout.append,
                    on_error=stderr.append,
                    color="never",
                    **options,
                )
            except auto.CommandError as error:
                if self.interrupts.requested:
                    raise KeyboardInterrupt from error
                raise StepError(f"{step} failed for {run}", error, stderr, stdout) from error
            finally:
                seconds, wall_ended = time.monotonic() - began, time.time()
        self.interrupts.check()
        summary = (
            result.change_summary
            if isinstance(result, auto.PreviewResult)
            else result.summary.resource_changes
        )
        changes = {str(getattr(op, "value", op)): n for op, n in (summary or {}).items() if n}
        outcome = StepResult(
            program=run.subject.label,
            size=run.size,
            hosts=run.hosts,
            step=step,
            parallel=run.parallel,
            seconds=seconds,
            memory=peak_mib(sampler.samples),
            events=tuple(events),
            api=self.logs.figures(mark, wall_began, wall_ended),
            changes=changes,
        )
        done = ", ".join(f"{op} {n}" for op, n in sorted(changes.items()))
        parallel = f" --parallel {run.parallel}" if run.parallel else ""
        self.progress(
            f"{run}, {step}{parallel}: {seconds:.1f} s, {outcome.per_host:.2f} s a host "
            f"({done or 'nothing'})"
        )
        return outcome

    def lifecycle(self, run: Run, added: int) -> list[StepResult]:
        """The six steps on a fresh stack, which is removed at the end; `added`: the resources
        the change step should create."""
        up = self.step(run, "up")
        results = [replace(up, waits_for=self.waits_for(run))]
        preview = no_change_expected(self.step(run, "preview"))
        with self.cli(f"serverStatusRead: refreshed for {run}"):
            run.subject.read_status_from_state(run.stack, True)
        from_state = no_change_expected(self.step(run, "preview-refreshed"))
        with self.cli(f"serverStatusRead back to the stack's for {run}"):
            run.subject.read_status_from_state(run.stack, False)
        results += [preview, from_state, self.step(run, "refresh")]
        with self.cli(f"the change's edit for {run}"):
            run.subject.grow(run.stack, run.size)
        run = replace(run, hosts=run.size + 1)
        change = self.step(run, "change")
        waits_for = self.waits_for(run)
        notes: tuple[str, ...] = ()
        if {op: n for op, n in change.changes.items() if op != "same"} != {"create": added}:
            notes = (f"the change should create {added}; the engine: {dict(change.changes)}",)
        results.append(replace(change, waits_for=waits_for, notes=notes))
        destroy = self.step(run, "destroy")
        results.append(replace(destroy, waits_for=dependents(waits_for)))
        self.remove(run)
        return results

    def preview_types(self, run: Run) -> Counter[str]:
        """The types of what a preview of the fresh stack would create, one count a resource."""
        types: Counter[str] = Counter()

        def on_event(event: auto.EngineEvent) -> None:
            if event.resource_pre_event is not None:
                types[event.resource_pre_event.metadata.type] += 1

        with self.cli(f"the preview of the fresh stack for {run}"):
            run.stack.preview(on_event=on_event, color="never")
        return types

    def measure(
        self,
        subjects: Sequence[Subject],
        size: int,
        plans: Mapping[int, Plan],
        parallels: Sequence[int],
    ) -> list[StepResult]:
        """Every step at one size for each subject, in their order; then an up and a destroy at
        each further --parallel. First, the two previews must create the same resources."""
        runs = [self.new_run(subject, size, parallels[0]) for subject in subjects]
        types = [self.preview_types(run) for run in runs]
        if types[0] != types[1]:
            counts = [
                f"{run.subject.label} {sum(t.values())}" for run, t in zip(runs, types, strict=True)
            ]
            differing = [
                f"{name} {types[0][name]}/{types[1][name]}"
                for name in sorted(set(types[0]) | set(types[1]))
                if types[0][name] != types[1][name]
            ]
            raise BenchError(
                f"at {size} hosts the two previews differ: {', '.join(counts)} resources; "
                f"by type ({runs[0].subject.label}/{runs[1].subject.label}): {', '.join(differing)}"
            )
        self.progress(
            f"{size} hosts: both previews create {sum(types[0].values())} resources, "
            "the same number of each type"
        )
        added = plans[size + 1].resources - plans[size].resources
        results = []
        for run in runs:
            results += self.lifecycle(run, added)
        for parallel in parallels[1:]:
            for subject in subjects:
                run = self.new_run(subject, size, parallel)
                results += [self.step(run, "up"), self.step(run, "destroy")]
                self.remove(run)
        return results

    def clean_up(self) -> list[str]:
        """Destroy and remove every stack still there; what could not be destroyed."""
        left = []
        for subject, size, stack in reversed(self.live):
            self.progress(f"destroying what is left: the {subject.label}'s stack at {size} hosts")
            try:
                with self.interrupts.cli():
                    try:
                        stack.destroy(color="never")
                    except auto.CommandError:
                        # An interrupted update leaves pending creates, which stop a destroy.
                        stack.refresh(clear_pending_creates=True, color="never")
                        stack.destroy(color="never")
                    stack.workspace.remove_stack(stack.name)
            except auto.CommandError as error:
                last = (str(error).strip().splitlines() or ["?"])[-1]
                left.append(
                    f"the {subject.label}'s stack at {size} hosts in {subject.path}: {last}"
                )
        self.live = []
        return left


# ---- the figures, as tables


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> str:
    """Columns two spaces apart, the first `left` aligned left, the others right."""
    table = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(row[column]) for row in table) for column in range(len(headers))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column < left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    )


def ratio(program: float, bare: float) -> str:
    return f"{program / bare:.2f}" if bare > 0 else "-"


def optional(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


Pair = Mapping[str, StepResult]  # the program's and the bare program's result of one step
Cell = Callable[[StepResult], str]


def both(results: Pair, cell: Cell) -> str:
    """`cell` of the program's result / of the bare program's."""
    return " / ".join(cell(results[label]) for label in PROGRAMS)


def registration_cell(result: StepResult) -> str:
    figures = result.figures
    return f"{optional(figures.first_registration)}-{optional(figures.last_registration)}"


def critical_cell(result: StepResult) -> str:
    figures = result.figures
    return f"{figures.critical_seconds:.1f} ({len(figures.critical)})" if figures.critical else "-"


def memory_cell(role: str) -> Cell:
    return lambda result: optional(result.memory.get(role), 0)


def api_cell(figures: ApiFigures | None) -> str:
    return "-" if figures is None else f"{figures.requests} req {figures.seconds:.1f} s"


def api_cell_of(service: str) -> Cell:
    return lambda result: api_cell(result.api.get(service))


def details(step: str, result: StepResult) -> list[str]:
    """Where one step's time went: its notes, its critical path, the costliest API requests."""
    where = f"  {step}, {result.program}"
    lines = [f"{where}: {note}" for note in result.notes]
    critical = result.figures.critical
    if critical:
        chain = " > ".join(f"{name} {seconds:.1f}" for name, seconds in critical)
        lines.append(f"{where}, critical path: {chain}")
    for service in API_LOGS:
        api = result.api.get(service)
        if api is not None and api.top:
            top = "; ".join(f"{kind} {n} req {seconds:.1f} s" for kind, n, seconds in api.top)
            lines.append(f"{where}, {service}: {top}")
    return lines


def size_report(size: int, steps: Sequence[tuple[str, Pair]]) -> str:
    """The tables for one size: time, memory, engine events, cloud API; then the details."""
    times, memory, events, api, notes = [], [], [], [], []
    for step, results in steps:
        program, bare = results["program"], results["bare"]
        times.append([
            step, str(program.hosts), f"{program.seconds:.1f}", f"{bare.seconds:.1f}",
            ratio(program.seconds, bare.seconds), f"{program.per_host:.2f}", f"{bare.per_host:.2f}",
        ])  # fmt: skip
        memory.append([
            step,
            *(both(results, memory_cell(role)) for role in ROLES),
        ])  # fmt: skip
        events.append([
            step,
            both(results, registration_cell),
            both(results, lambda r: f"{r.figures.provider_sum:.1f}"),
            both(results, lambda r: f"{r.figures.provider_max:.1f}"),
            both(results, critical_cell),
        ])  # fmt: skip
        api.append([
            step,
            *(both(results, api_cell_of(service)) for service in API_LOGS),
        ])  # fmt: skip
        notes += [line for label in PROGRAMS for line in details(step, results[label])]
    headers = ["step", "hosts", "program", "bare", "ratio", "program/host", "bare/host"]
    sections = [
        f"== {size} hosts: program / bare ==",
        "seconds, and seconds per host in the stack",
        format_table(headers, times),
        "\npeak RSS, MiB",
        format_table(["step", "CLI", "Python", "provider"], memory),
        "\nengine events, seconds: first-last registration; provider time, summed and longest;\n"
        "critical path (its resources)",
        format_table(["step", "registration", "provider sum", "provider max", "critical"], events),
        "\ncloud API, requests and server seconds",
        format_table(["step", *API_LOGS], api),
    ]
    if notes:
        sections += ["\nwhere the time went", *notes]
    return "\n".join(sections)


def summary_report(by_size: Mapping[int, Mapping[str, Pair]]) -> str:
    """Time per host as the size grows (the change step: its seconds, for its one host)."""
    sizes = sorted(by_size)
    headers = ["step", *(f"{size} host{'s' if size > 1 else ''}" for size in sizes)]
    per_host, ratios = [], []
    for step in STEPS:
        cells, ratio_cells = [step if step != "change" else "change (s)"], [step]
        for hosts in sizes:
            program, bare = by_size[hosts][step]["program"], by_size[hosts][step]["bare"]
            if step == "change":
                cells.append(f"{program.seconds:.1f} / {bare.seconds:.1f}")
            else:
                cells.append(f"{program.per_host:.2f} / {bare.per_host:.2f}")
            ratio_cells.append(ratio(program.seconds, bare.seconds))
        per_host.append(cells)
        ratios.append(ratio_cells)
    return "\n".join(
        [
            "== summary: seconds per host, program / bare (change: seconds) ==",
            format_table(headers, per_host),
            "\nprogram / bare",
            format_table(headers, ratios),
        ]
    )


def parallel_report(results: Iterable[StepResult]) -> str:
    """`up` and `destroy` at each --parallel, program / bare, by size. The first --parallel's
    destroy is the six steps' own, of N+1 hosts."""
    found: dict[tuple[int, int], dict[tuple[str, str], StepResult]] = {}
    for result in results:
        if result.step in ("up", "destroy"):
            cell = found.setdefault((result.size, result.parallel), {})
            cell[(result.step, result.program)] = result
    rows = []
    for (size, parallel), cell in sorted(found.items()):
        row = [str(size), str(parallel) if parallel else "default"]
        for step in ("up", "destroy"):
            program, bare = cell[(step, "program")], cell[(step, "bare")]
            row += [
                str(program.hosts),
                f"{program.seconds:.1f}",
                f"{bare.seconds:.1f}",
                ratio(program.seconds, bare.seconds),
            ]
        rows.append(row)
    headers = ["size", "parallel"]
    for step in ("up", "destroy"):
        headers += [f"{step}: hosts", "program", "bare", "ratio"]
    return "== --parallel: up and destroy, seconds ==\n" + format_table(headers, rows, left=2)


# ---- the run


def check_cloud(cloud: str, flavor_name: str, hosts: int) -> str | None:
    """Why the cloud cannot take stack `scale` at `hosts` hosts of the fake host's flavor, or
    None."""
    try:
        connection = openstack.connect(cloud=cloud, load_envvars=False)
        connection.authorize()
    except Exception as error:  # any failure to reach it is the same message
        return f"the local cloud does not answer ({error}): `sudo scripts/local-cloud up --scale`"
    try:
        flavor = connection.compute.find_flavor(flavor_name, ignore_missing=True)
        if flavor is None:
            return NO_FAKE_HOST
        project = connection.current_project_id
        if project is None:
            return f"the cloud {cloud} names no project"
        try:
            compute = connection.compute.get_quota_set(project)
            network = connection.network.get_quota(project)
        except openstack.exceptions.SDKException as error:
            print(f"note: the project's quotas cannot be read ({error}); not checked")
            return None
        limits = {
            "instances": compute.instances,
            "cores": compute.cores,
            "ram": compute.ram,
            "ports": network.ports,
        }
        # A port per host, Neutron's DHCP port and the router's interface.
        needed = {
            "instances": hosts,
            "cores": hosts * flavor.vcpus,
            "ram": hosts * flavor.ram,
            "ports": hosts + 2,
        }
        problems = quota_problems(limits, needed)
        return "; ".join(problems) if problems else None
    finally:
        connection.close()


def versions(environment: Mapping[str, str]) -> str:
    cli = subprocess.run(
        ["pulumi", "version"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    sdks = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("pulumi", "pulumi_openstack")
    )
    return f"Python {platform.python_version()}, pulumi CLI {cli or '?'}, {sdks}"


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(SIZES),
        metavar="N",
        help="hosts per run (default: 1 10 25 50; 100 fits too)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        nargs="+",
        default=[0],
        metavar="P",
        help="the CLI's --parallel: the first for the six steps, each other one for an up and "
        "a destroy more (default: 0, the CLI's default)",
    )
    parser.add_argument(
        "--logs",
        type=Path,
        metavar="DIR",
        help="the cloud's logs (default: $LC_LOGS, else scripts/local-cloud env's LC_LOGS)",
    )
    args = parser.parse_args(argv)
    if min(args.sizes) < 1 or min(args.parallel) < 0:
        parser.error("sizes are 1 or more, --parallel 0 or more")
    args.sizes = sorted(set(args.sizes))
    args.parallel = list(dict.fromkeys(args.parallel))
    return args


def measure_all(
    bench: Bench,
    base: Mapping[str, Any],
    *,
    sizes: Sequence[int],
    parallels: Sequence[int],
    environment: Mapping[str, str],
    scratch: Path,
) -> None:
    """The offline plans, then every size on the cloud; the tables as each size ends."""
    plans = {}
    for hosts in sorted({n for size in sizes for n in (size, size + 1)}):
        plans[hosts] = offline_plan(base, hosts, scratch / "plans")
    bench.progress(
        "offline plans made and the bare program checked against them for "
        f"{', '.join(map(str, sorted(plans)))} hosts"
    )
    bench.interrupts.install()
    results: list[StepResult] = []
    by_size: dict[int, dict[str, dict[str, StepResult]]] = {}
    for index, size in enumerate(sizes):
        folder = scratch / f"{size}-hosts"
        (folder / "checkout").mkdir(parents=True)
        copy_checkout(folder / "checkout")
        subjects: list[Subject] = [
            ProgramSubject(folder / "checkout", environment),
            BareSubject(folder / "bare", environment, plans, str(base["openstack:cloud"])),
        ]
        # Who goes first alternates, so that a drift of the machine favours neither.
        order = subjects if index % 2 == 0 else subjects[::-1]
        measured = bench.measure(order, size, plans, parallels)
        results += measured
        steps: dict[str, dict[str, StepResult]] = {}
        for result in measured:
            if result.parallel == parallels[0]:
                steps.setdefault(result.step, {})[result.program] = result
        by_size[size] = steps
        report = size_report(size, [(step, steps[step]) for step in STEPS])
        print(f"\n{report}\n", flush=True)
    print(summary_report(by_size))
    if len(parallels) > 1:
        print("\n" + parallel_report(results))
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    base = read_stack_config(STACK)
    problems = size_problems(base, args.sizes)
    if problems:
        print("stack scale cannot hold these sizes:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    settings = local_cloud_settings()
    environment = pulumi_environment()
    if shutil.which("pulumi", path=environment.get("PATH")) is None:
        print("no pulumi on PATH after scripts/pulumi-env: run scripts/install-pulumi",
              file=sys.stderr)  # fmt: skip
        return 2
    fake_flavor = settings["LC_FAKE_FLAVOR"]
    if base.get("lxdhost:flavor") != fake_flavor:
        print(
            f"Pulumi.{STACK}.yaml: lxdhost:flavor is {base.get('lxdhost:flavor')!r}, not the "
            f"fake compute host's {fake_flavor!r}: each host would boot a real guest",
            file=sys.stderr,
        )
        return 2
    problem = check_cloud(settings["LC_CLOUD"], fake_flavor, max(args.sizes) + 1)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    logs = CloudLogs(args.logs or Path(os.environ.get("LC_LOGS") or settings["LC_LOGS"]))
    print(versions(environment))
    print(
        f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; cloud "
        f"{settings['LC_CLOUD']}, flavor {fake_flavor}; sizes {args.sizes}, --parallel "
        f"{args.parallel}; API figures from {logs.paths['Nova'].parent}, every request logged in "
        "a step's time, whoever made it"
    )
    if logs.missing():
        print(f"note: no {', '.join(logs.missing())}: no API figures from it")
    # The Automation API runs the CLI it finds on this process's PATH.
    os.environ.update(environment)

    scratch = Path(tempfile.mkdtemp(prefix="lxdhost-scale-"))
    bench = Bench(logs, Interrupts())
    status = 0
    try:
        measure_all(
            bench,
            base,
            sizes=args.sizes,
            parallels=args.parallel,
            environment=environment,
            scratch=scratch,
        )
    except StepError as failure:
        print(failure.report(), file=sys.stderr)
        status = 1
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted: destroying what was made", file=sys.stderr)
        status = 130
    finally:
        left = bench.clean_up()
        if left:
            print(
                f"NOT destroyed (their state stays in {scratch}; `scripts/local-cloud clear` "
                "deletes what the project holds):\n  " + "\n  ".join(left),
                file=sys.stderr,
            )
            status = status or 1
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

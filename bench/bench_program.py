"""Benchmark: the real program under mocks against a bare program with the same resources.

Not a test: it prints figures. For 1, 10, 50 and 200 hosts it times `lxdhost.offline.run_program`
on the real `__main__.py` (configuration parsing and validation, the address plan, user-data
rendering up front and in `Output.apply`, the components) and, in the same process, on a bare
program that declares exactly the resources the real one recorded, with literal arguments and no
logic: each through its `pulumi_openstack` class (`openstack.networking.Port("lxd-1-port",
network_id="...", ...)`), as any program using the provider declares it. The ratio is what the
program's own work costs on top of that. Before timing, the bench checks that the bare program
registers the same resources (type, parent, inputs, options) as the real one, or stops.

A third figure, `raw s`, declares the same registrations through `pulumi.CustomResource` with the
engine's names: that skips the provider SDK's own argument handling (its input types, its
output properties), which no program using the provider escapes; it is printed as a floor.

It also times the user-data render of every host (`host_spec` + `userdata.render_host`, what
the up-front check and each host's `apply` run): the time of a pass over the hosts / hosts.
`--pyyaml-emitter` renders with PyYAML's own emitter only, as without libyaml.

    python bench/bench_program.py [--sizes 1 10 50 200] [--repeat 5] [--profile] [--pyyaml-emitter]

Targets, on a quiet machine: ratio <= 1.75 at 200 hosts; render <= 3 ms per host. The figures
that set them, and the instruction counts to compare commits with (bench/instructions.py), are
in bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import importlib.metadata
import inspect
import io
import os
import platform
import pstats
import re
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from lxdhost.config import parse_settings
from lxdhost.host import host_spec
from lxdhost.offline import (
    ProgramRun,
    RecordedResource,
    encode_config,
    read_stack_config,
    run_program,
)
from lxdhost.stack import user_data_args
from userdata import render_host, yamltext

SIZES = (1, 10, 50, 200)
RATIO_TARGET = 1.75
RENDER_TARGET_MS = 3.0


@dataclass(frozen=True)
class SizeResult:
    hosts: int
    resources: int
    program_s: float
    bare_s: float
    raw_s: float
    # Each interleaved run's program / bare: how far a single run's ratio can stray.
    run_ratios: tuple[float, ...]

    @property
    def ratio(self) -> float:
        return self.program_s / self.bare_s

    @property
    def raw_ratio(self) -> float:
        return self.program_s / self.raw_s


def stack_config(hosts: int) -> dict[str, Any]:
    """The dev stack grown to `hosts` hosts: a /16, so that 10 slots a host always fit."""
    return {
        **read_stack_config("dev"),
        "lxdhost:cidr": "10.0.0.0/16",
        "lxdhost:dhcpPoolSize": hosts + 10,
        "lxdhost:hostCount": hosts,
    }


def declaration_order(resources: Sequence[RecordedResource]) -> list[RecordedResource]:
    """The records with every parent and dependency before the resources that name it."""
    urns = {record.urn for record in resources}
    declared: set[str] = set()
    order: list[RecordedResource] = []
    pending = list(resources)
    while pending:
        ready = [
            record
            for record in pending
            if all(
                urn in declared
                for urn in (record.parent, *record.options["depends_on"])
                if urn in urns
            )
        ]
        if not ready:
            raise SystemExit("the recorded resources depend on each other in a cycle")
        order.extend(ready)
        declared.update(record.urn for record in ready)
        pending = [record for record in pending if record.urn not in declared]
    return order


def provider_class(type_token: str) -> Any:
    """`openstack:networking/port:Port` -> `pulumi_openstack.networking.Port`."""
    package, module, name = type_token.split(":")
    if package != "openstack":
        raise SystemExit(f"{type_token}: not a pulumi_openstack resource")
    return getattr(importlib.import_module(f"pulumi_openstack.{module.split('/')[0]}"), name)


def python_arguments(cls: Any, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's input names (`networkId`) as the class's keyword arguments (`network_id`)."""
    parameters = inspect.signature(cls._internal_init).parameters
    arguments = {}
    for engine_name, value in inputs.items():
        name = re.sub(r"(?<!^)([A-Z])", r"_\1", engine_name).lower()
        if name not in parameters:
            raise SystemExit(f"{cls.__name__}: no argument for input {engine_name!r}")
        arguments[name] = value
    return arguments


def bare_program(run: ProgramRun, *, raw: bool = False) -> Callable[[], None]:
    """A program that declares `run`'s resources again, each with its recorded literal inputs.

    `raw`: through `pulumi.CustomResource` and the engine's names instead of the provider's
    classes.
    """
    declarations: list[tuple[RecordedResource, Any, dict[str, Any]]] = []
    for record in declaration_order(run.resources):
        if not record.custom:
            # A component's own inputs (LxdHost's userDataMaxBytes, which the policy pack reads).
            declarations.append((record, None, dict(record.inputs)))
        elif raw:
            declarations.append((record, None, dict(record.inputs)))
        else:
            cls = provider_class(record.type)
            declarations.append((record, cls, python_arguments(cls, record.inputs)))

    def declare() -> None:
        declared: dict[str, pulumi.Resource] = {}
        for record, cls, arguments in declarations:
            options = record.options
            opts = pulumi.ResourceOptions(
                parent=declared.get(record.parent or ""),
                depends_on=[declared[urn] for urn in options["depends_on"] if urn in declared],
                delete_before_replace=options["delete_before_replace"],
                retain_on_delete=options["retain_on_delete"],
                protect=options["protect"],
                import_=options["import_id"],
                ignore_changes=options["ignore_changes"] or None,
            )
            resource: pulumi.Resource
            if not record.custom:
                resource = pulumi.ComponentResource(record.type, record.name, arguments, opts)
            elif cls is None:
                resource = pulumi.CustomResource(record.type, record.name, arguments, opts)
            else:
                resource = cls(record.name, opts=opts, **arguments)
            declared[record.urn] = resource
        for name, value in run.exports.items():
            pulumi.export(name, value)

    return declare


def registrations(run: ProgramRun) -> dict[str, tuple[Any, ...]]:
    return {
        record.urn: (record.type, record.parent, record.custom, record.inputs, record.options)
        for record in run.resources
    }


def check_same_resources(reference: ProgramRun, bare: ProgramRun, label: str) -> None:
    """Stop unless the bare program registered what the real one did, input for input."""
    expected, found = registrations(reference), registrations(bare)
    differing = sorted(
        urn for urn in expected.keys() | found.keys() if expected.get(urn) != found.get(urn)
    )
    if differing:
        raise SystemExit(
            f"the {label} bare program does not declare the program's resources: "
            f"{len(differing)} differ, first {differing[0]}"
        )
    if reference.exports != bare.exports:
        raise SystemExit(f"the {label} bare program does not export what the program does")


def time_once(stack: str, config: Mapping[str, Any], program: Any) -> tuple[float, ProgramRun]:
    start = time.perf_counter()
    run = (
        run_program(stack, config)
        if program is None
        else run_program(stack, config, program=program)
    )
    return time.perf_counter() - start, run


def measure_size(hosts: int, repeat: int) -> SizeResult:
    config = stack_config(hosts)
    _, reference = time_once("dev", config, None)  # also warms imports and caches
    bare, raw = bare_program(reference), bare_program(reference, raw=True)
    check_same_resources(reference, time_once("dev", config, bare)[1], "provider-class")
    check_same_resources(reference, time_once("dev", config, raw)[1], "raw")
    program_times, bare_times, raw_times = [], [], []
    # Interleaved, so that a noisy neighbour on the shared cores slows all three alike.
    for _ in range(repeat):
        program_times.append(time_once("dev", config, None)[0])
        bare_times.append(time_once("dev", config, bare)[0])
        raw_times.append(time_once("dev", config, raw)[0])
    return SizeResult(
        hosts=hosts,
        resources=len(reference.resources),
        program_s=statistics.median(program_times),
        bare_s=statistics.median(bare_times),
        raw_s=statistics.median(raw_times),
        run_ratios=tuple(p / b for p, b in zip(program_times, bare_times, strict=True)),
    )


def render_ms(hosts: int, repeat: int) -> list[float]:
    """Milliseconds per host to render every host's user-data, for each of `repeat` passes that
    render every host in order, as the program's up-front check and each apply do."""
    config = stack_config(hosts)
    settings = parse_settings(encode_config(config))
    every_host = [
        user_data_args(settings, planned.host_name) for planned in settings.address_plan.hosts
    ]

    def render_all() -> float:
        start = time.perf_counter()
        for args in every_host:
            render_host(host_spec(args, macaddress="fa:16:3e:00:00:01", mtu=1450))
        return (time.perf_counter() - start) * 1000 / len(every_host)

    render_all()  # imports, templates and per-class checks, which the program's first host pays
    return [render_all() for _ in range(repeat)]


def profile_program(hosts: int, limit: int = 25) -> str:
    config = stack_config(hosts)
    run_program("dev", config)
    profiler = cProfile.Profile()
    profiler.enable()
    run_program("dev", config)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def versions() -> str:
    packages = ("pulumi", "pulumi_openstack", "PyYAML", "Jinja2")
    found = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in packages)
    return f"Python {platform.python_version()}, {found}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (median); default 5")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest size too")
    parser.add_argument(
        "--pyyaml-emitter",
        action="store_true",
        help="write user-data with PyYAML's own emitter only, as without libyaml",
    )
    args = parser.parse_args(argv)
    if args.pyyaml_emitter:
        yamltext.LibyamlDumper = None

    print(versions())
    # The machine's cores may be shared: the load says how far to trust absolute times.
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"median of {args.repeat} interleaved runs per size; wall time of run_program\n")
    print(
        f"{'hosts':>5}  {'resources':>9}  {'program s':>9}  {'bare s':>7}  {'ratio':>5}"
        f"  {'raw s':>7}  {'ratio':>5}  {'run ratios':>10}"
    )
    results = []
    for hosts in args.sizes:
        result = measure_size(hosts, args.repeat)
        results.append(result)
        print(
            f"{result.hosts:>5}  {result.resources:>9}  {result.program_s:>9.3f}  "
            f"{result.bare_s:>7.3f}  {result.ratio:>5.2f}  {result.raw_s:>7.3f}  "
            f"{result.raw_ratio:>5.2f}  "
            f"{min(result.run_ratios):.2f}-{max(result.run_ratios):.2f}"
        )

    largest = max(args.sizes)
    passes = render_ms(largest, args.repeat)
    render = statistics.median(passes)
    emitter = "PyYAML's" if yamltext.LibyamlDumper is None else "libyaml's"
    print(
        f"\nuser-data render, {largest} hosts, {emitter} emitter: {render:.2f} ms per host "
        f"(median of {args.repeat} passes, {min(passes):.2f}-{max(passes):.2f})"
    )

    final = results[-1]
    ratio_ok = final.ratio <= RATIO_TARGET
    render_ok = render <= RENDER_TARGET_MS
    print(
        f"\ntargets: ratio at {final.hosts} hosts {final.ratio:.2f} <= {RATIO_TARGET}: "
        f"{'met' if ratio_ok else 'MISSED'}; render {render:.2f} ms <= "
        f"{RENDER_TARGET_MS} ms: {'met' if render_ok else 'MISSED'}"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if args.profile:
        print(f"\ncProfile of the real program, {largest} hosts (cumulative):\n")
        print(profile_program(largest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

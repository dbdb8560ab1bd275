"""Benchmark: the real program under mocks against a bare program with the same resources.

Not a test: it prints figures. For 1, 10, 50 and 200 hosts it times `lxdhost.offline.run_program`
on the real `__main__.py` (configuration parsing and validation, the address plan, user-data
rendering in `Output.apply`, the components) and, in the same process, on a bare program that
registers exactly the resources the real one recorded, with literal arguments and no logic. The
ratio is what the program's own work costs on top of Pulumi's. It also times the user-data
render of every host (`host_spec` + `userdata.render_host`, what each host's `apply` runs).

    python bench/bench_program.py [--sizes 1 10 50 200] [--repeat 5] [--profile]

Targets: ratio <= 1.15 at 200 hosts; render <= 2 ms per host.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import io
import os
import platform
import pstats
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
from lxdhost.host import host_args, host_spec
from lxdhost.offline import ProgramRun, encode_config, read_stack_config, run_program
from userdata import render_host

SIZES = (1, 10, 50, 200)
RATIO_TARGET = 1.15
RENDER_TARGET_MS = 2.0


@dataclass(frozen=True)
class SizeResult:
    hosts: int
    resources: int
    program_s: float
    bare_s: float

    @property
    def ratio(self) -> float:
        return self.program_s / self.bare_s


def stack_config(hosts: int) -> dict[str, Any]:
    """The dev stack grown to `hosts` hosts: a /16, so that 10 slots a host always fit."""
    return {
        **read_stack_config("dev"),
        "lxdhost:cidr": "10.0.0.0/16",
        "lxdhost:dhcpPoolSize": hosts + 10,
        "lxdhost:hostCount": hosts,
    }


def bare_program(run: ProgramRun) -> Callable[[], None]:
    """A program that registers `run`'s resources again, each from its recorded literal inputs."""

    def declare() -> None:
        declared: dict[str, pulumi.Resource] = {}
        for record in run.resources:
            options = record.options
            opts = pulumi.ResourceOptions(
                parent=declared.get(record.parent or ""),
                depends_on=[declared[urn] for urn in options["depends_on"] if urn in declared],
                delete_before_replace=options["delete_before_replace"],
                retain_on_delete=options["retain_on_delete"],
                protect=options["protect"],
                import_=options["import_id"],
            )
            if record.custom:
                resource: pulumi.Resource = pulumi.CustomResource(
                    record.type, record.name, dict(record.inputs), opts
                )
            else:
                resource = pulumi.ComponentResource(record.type, record.name, None, opts)
            declared[record.urn] = resource
        for name, value in run.exports.items():
            pulumi.export(name, value)

    return declare


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
    bare = bare_program(reference)
    time_once("dev", config, bare)
    program_times, bare_times = [], []
    # Interleaved, so that a noisy neighbour on the shared cores slows both alike.
    for _ in range(repeat):
        program_times.append(time_once("dev", config, None)[0])
        bare_times.append(time_once("dev", config, bare)[0])
    return SizeResult(
        hosts=hosts,
        resources=len(reference.resources),
        program_s=statistics.median(program_times),
        bare_s=statistics.median(bare_times),
    )


def render_times_ms(hosts: int, repeat: int) -> list[float]:
    """Per host: the fastest of `repeat` renders of its user-data, in milliseconds."""
    config = stack_config(hosts)
    settings = parse_settings(encode_config(config))
    best: list[float] = []
    for planned in settings.address_plan.hosts:
        args = host_args(
            settings,
            planned.host_name,
            network_id="network-id",
            subnet_id="subnet-id",
            network_mtu=1450,
            security_group_ids=["group-id"],
            key_pair="key",
            image_id=None,
            floating_ip_depends_on=[],
        )
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            render_host(host_spec(args, macaddress="fa:16:3e:00:00:01", mtu=1450))
            runs.append(time.perf_counter() - start)
        best.append(min(runs) * 1000)
    return best


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
    args = parser.parse_args(argv)

    print(versions())
    # The machine's cores may be shared: the load says how far to trust absolute times.
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"median of {args.repeat} interleaved runs per size; wall time of run_program\n")
    print(f"{'hosts':>5}  {'resources':>9}  {'program s':>9}  {'bare s':>7}  {'ratio':>5}")
    results = []
    for hosts in args.sizes:
        result = measure_size(hosts, args.repeat)
        results.append(result)
        print(
            f"{result.hosts:>5}  {result.resources:>9}  {result.program_s:>9.3f}  "
            f"{result.bare_s:>7.3f}  {result.ratio:>5.2f}"
        )

    largest = max(args.sizes)
    renders = render_times_ms(largest, args.repeat)
    print(
        f"\nuser-data render, {len(renders)} hosts (best of {args.repeat} each): "
        f"median {statistics.median(renders):.2f} ms, max {max(renders):.2f} ms per host"
    )

    final = results[-1]
    ratio_ok = final.ratio <= RATIO_TARGET
    render_ok = max(renders) <= RENDER_TARGET_MS
    print(
        f"\ntargets: ratio at {final.hosts} hosts {final.ratio:.2f} <= {RATIO_TARGET}: "
        f"{'met' if ratio_ok else 'MISSED'}; render {max(renders):.2f} ms <= "
        f"{RENDER_TARGET_MS} ms: {'met' if render_ok else 'MISSED'}"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if args.profile:
        print(f"\ncProfile of the real program, {largest} hosts (cumulative):\n")
        print(profile_program(largest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: instructions, not seconds, of the program under mocks, the bare program, the render.

On a machine whose cores are shared, identical runs of bench_program.py differ by a factor of
two (bench/README.md has such runs); the instructions a run executes move by less than half a
per cent. This runs the measurements of bench_program.py once each under valgrind's callgrind:
one run of the real program for `--hosts` hosts, one of the bare program that declares the same
resources, and one pass that renders every host's user-data. It prints the instructions of each,
the program's ratio to the bare program, the render's instructions per host, and what is left of
the program once its two renders a host are taken off: the components' own work, as a share of
the bare program.

    python bench/instructions.py [--hosts 50]

Needs valgrind; a run takes about a hundred times as long as without it (50 hosts: 5 minutes).
Compare commits with the same --hosts: two runs of one commit agree within half a per cent.

Targets: render <= 22 M instructions per host; components <= 0.20 of the bare program (from 50
hosts up: below that the runtime's fixed cost, in both programs, is most of the bare program).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_program import bare_program, stack_config

from lxdhost.config import parse_settings
from lxdhost.host import host_spec
from lxdhost.offline import encode_config, run_program
from lxdhost.stack import user_data_args
from userdata import render_host

# Each measured section starts and ends with a call to getppid(), which nothing else in the run
# makes: callgrind writes its counts at each such call, so the file it writes at a section's end
# holds that section alone, and the setup between sections (imports, warm-up runs) none of it.
SECTIONS = ("program", "bare", "render")
RENDER_TARGET = 22e6
COMPONENTS_TARGET = 0.20


def measured_sections(hosts: int) -> list[tuple[str, Callable[[], object]]]:
    """The program, the bare program and a render pass for `hosts` hosts, each run once first."""
    config = stack_config(hosts)
    bare = bare_program(run_program("dev", config))
    settings = parse_settings(encode_config(config))
    every_host = [
        user_data_args(settings, planned.host_name) for planned in settings.address_plan.hosts
    ]

    def render_all() -> None:
        for args in every_host:
            render_host(host_spec(args, macaddress="fa:16:3e:00:00:01", mtu=1450))

    sections: list[tuple[str, Callable[[], object]]] = [
        ("program", lambda: run_program("dev", config)),
        ("bare", lambda: run_program("dev", config, program=bare)),
        ("render", render_all),
    ]
    for _, section in sections:  # what a first run pays once: imports, caches, templates
        section()
    return sections


def run_sections(hosts: int) -> None:
    for _, section in measured_sections(hosts):
        os.getppid()
        section()
        os.getppid()


def totals(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"{dump}: callgrind wrote no totals")


def count(hosts: int) -> dict[str, int]:
    """Instructions of each section, from one run under callgrind."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--hosts",
            str(hosts),
            "--sections",
        ]
        # A fixed hash seed: the same dict and set orders, so the same instructions each run.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the run under callgrind failed:\n{done.stderr[-3000:]}")
        dumps = sorted(out.parent.glob(f"{out.name}.*"), key=lambda p: int(p.suffix[1:]))
        if len(dumps) != 2 * len(SECTIONS):
            raise SystemExit(f"expected {2 * len(SECTIONS)} callgrind dumps, found {len(dumps)}")
        # Dumps 1, 3, 5 hold what came before each section; 2, 4, 6 the sections.
        return {name: totals(dumps[2 * i + 1]) for i, name in enumerate(SECTIONS)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--sections", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sections:  # the run under callgrind
        run_sections(args.hosts)
        return 0
    counts = count(args.hosts)
    program, bare = counts["program"], counts["bare"]
    render = counts["render"] / args.hosts
    # The program renders each host twice: up front with stand-ins, and in the host's apply.
    components = (program - bare - 2 * args.hosts * render) / bare
    print(f"{args.hosts} hosts, instructions (callgrind)")
    print(f"  program     {program / 1e9:8.3f} G")
    print(f"  bare        {bare / 1e9:8.3f} G")
    print(f"  ratio       {program / bare:8.3f}")
    print(f"  render      {render / 1e6:8.2f} M per host")
    print(f"  components  {components:8.3f} of the bare program")
    render_ok, components_ok = render <= RENDER_TARGET, components <= COMPONENTS_TARGET
    print(
        f"\ntargets: render {render / 1e6:.2f} M <= {RENDER_TARGET / 1e6:.0f} M: "
        f"{'met' if render_ok else 'MISSED'}; components {components:.3f} <= "
        f"{COMPONENTS_TARGET:.2f}: {'met' if components_ok else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

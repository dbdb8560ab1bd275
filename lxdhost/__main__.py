"""The `python -m lxdhost` command line: `plan` shows what a stack builds, offline; `options`
checks or rewrites the files generated from the stack's key declarations; `lxc-remote` adds a
stack's hosts as `lxc` remotes."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import pulumi

from lxdhost.lxcremote import RemoteError, default_directory, stack_outputs, write_lxc_config
from lxdhost.offline.diff import diff_plans
from lxdhost.offline.engine import PROJECT_ROOT, StackFileError, read_stack_config, run_program
from lxdhost.offline.jsonformat import PlanFormatError, diff_to_json, plan_from_json, plan_to_json
from lxdhost.offline.model import OfflinePlan, build_plan
from lxdhost.offline.render import (
    render_diff_markdown,
    render_diff_text,
    render_plan_markdown,
    render_plan_text,
)
from lxdhost.options import GENERATED, WRITE_COMMAND, stale_files, write_files

# Exit statuses, after diff(1): 0 nothing replaced, 1 something replaced, 2 trouble.
EXIT_OK = 0
EXIT_REPLACES = 1
EXIT_ERROR = 2
# `options`: 1 a generated file differs from the declarations.
EXIT_STALE = 1


class UsageError(Exception):
    """Bad input from the user: printed as one message, exit status 2, never a traceback."""


def main(
    argv: Sequence[str] | None = None,
    *,
    stack_root: Path = PROJECT_ROOT,
    program: Path = PROJECT_ROOT / "__main__.py",
) -> int:
    """Run the command line; `stack_root` holds Pulumi.yaml and the stack files (tests vary it)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "options":
        return _options(stack_root, write=args.write)
    if args.command == "lxc-remote":
        return _lxc_remote(args, stack_root)
    try:
        plan = load_plan(args.stack, stack_root, program)
        if args.out is not None:
            write_user_data(plan, args.out)
        if args.diff is not None:
            return _print_diff(read_saved_plan(args.diff), plan, args)
        if args.json:
            print(json.dumps(plan_to_json(plan), indent=2, sort_keys=True))
        elif args.markdown:
            print(render_plan_markdown(plan), end="")
        else:
            print(render_plan_text(plan), end="")
        return EXIT_OK
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


def load_plan(
    stack: str,
    stack_root: Path = PROJECT_ROOT,
    program: Path = PROJECT_ROOT / "__main__.py",
) -> OfflinePlan:
    """Run the program for `stack` under mocks; configuration problems become `UsageError`."""
    try:
        config = read_stack_config(stack, stack_root)
        return build_plan(run_program(stack, config, program=program))
    except StackFileError as error:
        raise UsageError(str(error)) from error
    except pulumi.RunError as error:
        # The program's own validation: one message that lists every bad key.
        raise UsageError(f"stack {stack!r}: {error}") from error


def read_saved_plan(path: Path) -> OfflinePlan:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"{path}: cannot be read: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: not JSON ({error})") from error
    try:
        return plan_from_json(document)
    except PlanFormatError as error:
        raise UsageError(f"{path}: {error}") from error


def write_user_data(plan: OfflinePlan, directory: Path) -> None:
    """`DIR/<host>.yaml` for every server (named after its LxdHost, else after the server)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for item in plan.user_data:
            (directory / f"{item.host or item.server}.yaml").write_text(item.user_data)
    except OSError as error:
        raise UsageError(f"--out {directory}: {error.strerror}") from error


def _options(root: Path, *, write: bool) -> int:
    """Check (or, with `write`, regenerate) the files made from the key declarations."""
    if write:
        for name in write_files(root):
            print(f"{name}: rewritten from the declarations")
        return EXIT_OK
    stale = stale_files(root)
    for name in stale:
        print(f"{name}: differs from the declarations; run {WRITE_COMMAND}", file=sys.stderr)
    if not stale:
        print(f"{', '.join(GENERATED)}: as declared")
    return EXIT_STALE if stale else EXIT_OK


def _print_diff(base: OfflinePlan, current: OfflinePlan, args: argparse.Namespace) -> int:
    diff = diff_plans(base, current)
    if args.json:
        print(json.dumps(diff_to_json(diff), indent=2, sort_keys=True))
    elif args.markdown:
        print(render_diff_markdown(diff), end="")
    else:
        print(render_diff_text(diff), end="")
    return EXIT_REPLACES if diff.disruptive else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lxdhost",
        description="Offline tools for the lxdhost Pulumi program (no cloud, no Pulumi CLI).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan",
        help="show what a stack will build, or what a change will replace",
        description=(
            "Run the program for a stack under Neutron/Nova-like mocks and print its address "
            "plan, resources and user-data. With --diff, compare against a plan saved with "
            "--json and list what is added, removed, changed and replaced. Exit status: 0 "
            "nothing replaced, 1 a server, port, subnet or other resource will be replaced "
            "(--diff only), 2 the stack or base file is missing, unreadable or invalid."
        ),
    )
    plan.add_argument(
        "--stack", default="dev", help="the stack (Pulumi.<stack>.yaml); default: dev"
    )
    output = plan.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print one JSON document (see docs/review.md)"
    )
    output.add_argument(
        "--markdown", action="store_true", help="print Markdown, for a pull-request comment"
    )
    plan.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="also write each host's user-data to DIR/<host>.yaml",
    )
    plan.add_argument(
        "--diff", type=Path, metavar="BASE.json", help="compare with a plan saved by --json"
    )
    options = commands.add_parser(
        "options",
        help="check or rewrite Pulumi.yaml's config: block and the docs' tables of keys",
        description=(
            "Pulumi.yaml's config: block, the table of keys in docs/configuration.md and the "
            "host file's keys in docs/userdata.md are generated from the keys' declarations "
            "(lxdhost/config.py, and HostSpec's fields in userdata/host.py). Without --write, "
            "exit status 1 names each file that differs."
        ),
    )
    options.add_argument(
        "--write", action="store_true", help="rewrite the files that differ from the declarations"
    )
    remote = commands.add_parser(
        "lxc-remote",
        help="add a stack's hosts as lxc remotes, in an lxc configuration of the stack's own",
        description=(
            "Write an lxc configuration directory for a stack whose hosts are managed through "
            "LXD's API (lxdManagement: api): the stack's client certificate, each host's "
            "pinned server certificate and one remote per host, from `pulumi stack output "
            "--show-secrets`. Prints `export LXD_CONF=DIR` for a shell to eval; then "
            "`lxc list lxd-1:`. Needs the Pulumi CLI (scripts/pulumi-env) and the stack's "
            "passphrase."
        ),
    )
    remote.add_argument("--stack", required=True, help="the stack whose hosts to add")
    remote.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="the lxc configuration directory; default: ~/.config/lxdhost/<project>-<stack>/lxc",
    )
    return parser


def _lxc_remote(args: argparse.Namespace, stack_root: Path) -> int:
    try:
        outputs = stack_outputs(args.stack, stack_root)
        directory = args.dir or default_directory("lxdhost", args.stack)
        remotes = write_lxc_config(outputs, directory)
    except RemoteError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"lxc remotes {', '.join(remotes)} in {directory}; try: lxc list {remotes[0]}:",
        file=sys.stderr,
    )
    print(f"export LXD_CONF={shlex.quote(str(directory))}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

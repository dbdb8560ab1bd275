"""`python -m userdata render HOST.yaml`: print the user-data for a host description file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from userdata.cloudconfig import encoded_size
from userdata.host import render_host
from userdata.hostfile import keys_help, load_host_file
from userdata.validation import UserDataError

EXAMPLE = """\
example:
  python -m userdata render userdata/examples/ubuntu-24.04.yaml --output user-data.yaml
  nova boot --user-data user-data.yaml ...   # or: openstack server create --user-data ...
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m userdata",
        description="Cloud-init user-data for OpenStack VMs that host LXD containers bridged "
        "directly onto the tenant network.",
        epilog=f"{keys_help()}\n\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    render = commands.add_parser(
        "render",
        help="print the #cloud-config user-data for a host description file",
        description="Print the #cloud-config user-data for HOST.yaml. Bad input exits with "
        "status 2 and one message naming each bad key.",
        epilog=f"{keys_help()}\n\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("host_file", metavar="HOST.yaml", type=Path, help="host description")
    render.add_argument(
        "--output", "-o", metavar="FILE", type=Path, help="write here instead of stdout"
    )
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        text = render_host(load_host_file(arguments.host_file))
    except UserDataError as error:
        print(f"{arguments.host_file}: {error}", file=sys.stderr)
        return 2
    if arguments.output is None:
        sys.stdout.write(text)
        return 0
    try:
        arguments.output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"--output: cannot write {arguments.output} ({error})", file=sys.stderr)
        return 2
    print(
        f"{arguments.output}: {encoded_size(text)} bytes base64-encoded (Nova allows 65535)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

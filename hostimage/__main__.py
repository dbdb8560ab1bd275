"""`python3 -m hostimage`: build (or find in the cache) a host image and print where it is.

Only the standard library: the local cloud runs it with Debian's own python3.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from .build import (
    BUILD_TIMEOUT,
    LAYOUT_PACKAGES,
    NOCLOUD,
    BuildError,
    build_container_image,
    build_host_image,
    openstack_target,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m hostimage", description=__doc__)
    parser.add_argument("--target", choices=(NOCLOUD.name, "openstack"), default="openstack")
    parser.add_argument(
        "--mirror-host",
        help="the openstack target's apt mirror address (scripts/local-cloud passes its"
        " LC_EXT_UPLINK_IP)",
    )
    parser.add_argument("--layout", choices=sorted(LAYOUT_PACKAGES), default="ifupdown")
    parser.add_argument(
        "--qcow2", action="store_true", help="also write disk.qcow2 beside disk.raw (for Glance)"
    )
    args = parser.parse_args(argv)
    if args.target == NOCLOUD.name:
        if args.mirror_host:
            parser.error(f"--mirror-host: the nocloud target's mirror is {NOCLOUD.mirror_host}")
        target = NOCLOUD
    elif not args.mirror_host:
        parser.error("--target openstack needs --mirror-host (the local cloud's LC_EXT_UPLINK_IP)")
    else:
        target = openstack_target(args.mirror_host)
    started = time.monotonic()
    try:
        container = build_container_image()
        print(f"container image: {container.tarball}", file=sys.stderr)
        host = build_host_image(args.layout, container, target)
        print(f"host image: {host.disk}", file=sys.stderr)
    except BuildError as error:
        print(f"hostimage: build failed: {error}", file=sys.stderr)
        return 1
    qcow2 = host.disk.with_suffix(".qcow2")
    if args.qcow2 and not qcow2.is_file():
        partial = qcow2.with_suffix(".qcow2.partial")
        subprocess.run(
            ["qemu-img", "convert", "-O", "qcow2", str(host.disk), str(partial)],
            check=True,
            timeout=BUILD_TIMEOUT,
        )
        partial.rename(qcow2)
    print(
        json.dumps(
            {
                "disk": str(host.disk),
                "qcow2": str(qcow2) if args.qcow2 else None,
                "kernel": str(host.kernel),
                "initrd": str(host.initrd),
                "apt_repository": str(host.apt_repository),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

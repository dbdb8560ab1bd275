"""Boot each variant's host several times, one VM at a time, and print how long it took.

The time-to-ready benchmark (`bench/time_to_ready.py`) and the soak script (`scripts/soak-boot`)
are this module with different settings. A run boots one host from qemu's start to its first
container at the gateway, the boot test's way (`launch`, `checks`), and records:

- first boot done: cloud-init's final stage finished the first time;
- host ready: the boots the variant needs are done, SSH answers on the port's address, and
  LXD's default profile is on br0;
- first container at the gateway: the slot container, launched from the image the host
  carries, has run its own cloud-init and pings the gateway.

With `--checks` (the soak) each run then also does the boot test's checks, including one more
reboot; a run that fails anything counts as failed, and its serial log is kept. Variants run in
turn within each round, so that a slower hour of the machine spreads over all of them.

Not a test: figures vary with the machine's load. Needs root and the boot test's packages.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import hostimage as image

from .checks import (
    START_IMPORT,
    check_after_reboot,
    check_bridge,
    check_cloud_init,
    check_lxd,
    ensure_image,
    first_container_reaches_the_gateway,
)
from .launch import (
    FIRST_BOOT_TIMEOUT,
    SECOND_BOOT_TIMEOUT,
    VARIANTS,
    Figures,
    Launch,
    Variant,
    bring_up,
    make_ssh_key,
    missing_requirements,
    unwind_on_sigterm,
)

STAGE = re.compile(r"Finished stage: \((\S+)\) ([\d.]+) seconds")
BLAME = re.compile(r"^\s*([\d.]+)s \((\S+)\)$")
RECORD = re.compile(r"^-- Boot Record (\d+) --$")
# The first boot's cloud-init steps the breakdown shows, by `cloud-init analyze` name.
MODULES = {
    "modules-final/config-package-update-upgrade-install": "packages (apt-get update, install)",
    "modules-final/config-lxd": "lxd module",
    "modules-final/config-scripts-user": "runcmd (bring-up, LXD commands)",
    "modules-config/config-locale": "locale",
}
STAGES = ("init-local", "init-network", "modules-config", "modules-final")


@dataclass
class Run:
    variant: Variant
    number: int
    figures: Figures = field(default_factory=Figures)
    # Seconds per step: cloud-init's stages and modules on the first boot, the image import, the
    # container from launch to the gateway.
    steps: dict[str, float] = field(default_factory=dict)
    failure: str | None = None
    kept: Path | None = None


def analyze(text: str) -> dict[str, float]:
    """The first boot's stage and module times from `cloud-init analyze show` and `blame`."""
    steps: dict[str, float] = {}
    shown, blamed = text.split("\n=== blame ===\n", 1)
    for name, seconds in STAGE.findall(shown.split("-- Boot Record 02 --")[0]):
        steps.setdefault(f"stage {name}", float(seconds))
    record = 0
    for line in blamed.splitlines():
        header = RECORD.match(line.strip())
        if header:
            record = int(header.group(1))
            continue
        match = BLAME.match(line)
        if record == 1 and match and match.group(2) in MODULES:
            steps[MODULES[match.group(2)]] = float(match.group(1))
    return steps


def start_import_while_coming_up(launch: Launch) -> float | None:
    """Start importing the container image once LXD answers on the boot that readies the host.

    That is the first boot in place, the second with the reboot (which would kill an import
    begun on the first). Seconds after qemu's start, or None if the boot ended first.
    """
    guest, variant = launch.guest, launch.variant
    if guest is None:
        raise RuntimeError(f"{variant.id}: the VM is not running")
    guest.address = launch.server.port.fixed_ip
    deadline = time.monotonic() + FIRST_BOOT_TIMEOUT + SECOND_BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if len(guest.boots_finished_at) >= variant.boots_to_ready:
            return None
        booted = guest.boots_started() >= variant.boots_to_ready
        if booted and guest.ssh_status(START_IMPORT, 30).returncode == 0:
            return guest.elapsed()
        time.sleep(2)
    return None


def run_once(
    variant: Variant,
    number: int,
    container_image: image.ContainerImage,
    ssh_key: Path,
    *,
    checks: bool,
    early_import: bool,
    keep: Path,
) -> Run:
    run = Run(variant, number)
    launch = Launch.new(variant, run.figures)
    try:
        launch.prepare(container_image, ssh_key)
        import_started = start_import_while_coming_up(launch) if early_import else None
        host = bring_up(launch, log=False)
        host.import_started = import_started is not None
        if import_started is not None:
            run.steps["image import started (from qemu start)"] = import_started
        parent = host.guest.ssh("lxc profile device get default eth0 parent").strip()
        if parent != "br0":
            raise AssertionError(f"LXD's default profile is on {parent!r}, not br0")
        run.figures.host_ready = host.guest.elapsed()
        started = time.monotonic()
        ensure_image(host)
        run.steps["image import, after host ready"] = time.monotonic() - started
        started = time.monotonic()
        first_container_reaches_the_gateway(host)
        run.steps["container: launch to gateway"] = time.monotonic() - started
        run.figures.container_reached_gateway = host.guest.elapsed()
        if run.figures.second_boot_done is not None and run.figures.first_boot_done is not None:
            run.steps["second boot"] = run.figures.second_boot_done - run.figures.first_boot_done
        run.steps.update(
            analyze(
                host.guest.ssh("cloud-init analyze show")
                + "\n=== blame ===\n"
                + host.guest.ssh("cloud-init analyze blame")
            )
        )
        if checks:
            check_cloud_init(host, variant.boots_to_ready)
            check_bridge(host)
            check_lxd(host)
            check_after_reboot(host, "slot-container")
    except (AssertionError, RuntimeError, subprocess.SubprocessError, OSError) as error:
        run.failure = f"{type(error).__name__}: {error}"
        run.kept = keep / f"{variant.id}-{number}"
    finally:
        launch.close(run.kept)
        if run.kept is not None and run.failure is not None:
            run.kept.mkdir(parents=True, exist_ok=True)
            (run.kept / "failure.txt").write_text(run.failure + "\n")
    return run


def spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.0f} s"
    return f"{statistics.median(values):.0f} s ({min(values):.0f}-{max(values):.0f})"


def figure(runs: Sequence[Run], name: str) -> list[float]:
    values = (getattr(run.figures, name) for run in runs if run.failure is None)
    return [value for value in values if value is not None]


def report(runs: Sequence[Run], variants: Sequence[Variant]) -> str:
    lines = [
        "Seconds from qemu's start: median (min-max) over the runs that passed.",
        "",
        "| variant | runs | failed | first boot done | host ready "
        "| first container at the gateway |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    by_variant = {v.id: [run for run in runs if run.variant == v] for v in variants}
    for variant in variants:
        mine = by_variant[variant.id]
        failed = sum(run.failure is not None for run in mine)
        lines.append(
            f"| {variant.id} | {len(mine)} | {failed} | "
            f"{spread(figure(mine, 'first_boot_done'))} | {spread(figure(mine, 'host_ready'))} | "
            f"{spread(figure(mine, 'container_reached_gateway'))} |"
        )
    lines.append("")
    for variant in variants:
        same_layout = [
            v
            for v in variants
            if (v.host_network, v.lxd_init, v.bring_up)
            == (variant.host_network, variant.lxd_init, "reboot")
        ]
        if variant.bring_up == "reboot" or not same_layout:
            continue
        reboot = same_layout[0]
        in_place = figure(by_variant[variant.id], "container_reached_gateway")
        rebooted = figure(by_variant[reboot.id], "container_reached_gateway")
        if in_place and rebooted:
            ratio = statistics.median(in_place) / statistics.median(rebooted)
            lines.append(
                f"first container at the gateway, {variant.id} / {reboot.id}: {ratio:.2f}"
                " (target <= 0.70)"
            )
    seed = figure(by_variant.get("ifupdown-module-in-place", []), "container_reached_gateway")
    today = figure(by_variant.get("netplan-preseed", []), "container_reached_gateway")
    if seed and today:
        ratio = statistics.median(seed) / statistics.median(today)
        lines.append(
            "first container at the gateway, ifupdown-module-in-place / netplan-preseed: "
            f"{ratio:.2f} (target <= 1.00: the seed's layout no slower than netplan + preseed "
            "with the reboot)"
        )
    passed = [run for run in runs if run.failure is None]
    steps = sorted({step for run in passed for step in run.steps})
    if steps:
        lines += ["", "Steps, median seconds:", ""]
        lines.append("| step | " + " | ".join(v.id for v in variants) + " |")
        lines.append("|---|" + "---:|" * len(variants))
        for step in steps:
            cells = []
            for variant in variants:
                values = [r.steps[step] for r in passed if r.variant == variant and step in r.steps]
                cells.append(f"{statistics.median(values):.1f}" if values else "-")
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
    failures = [run for run in runs if run.failure is not None]
    if failures:
        lines += ["", "Failures:"]
        for run in failures:
            first = (run.failure or "").splitlines()[0]
            lines.append(
                f"- {run.variant.id} run {run.number}: {first} (the whole error, the serial log, "
                f"seed and overlay are in {run.kept})"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, checks_default: bool = False) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=5 if checks_default else 3,
        help="boots per variant (default: %(default)s)",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[v.id for v in VARIANTS],
        default=[v.id for v in VARIANTS],
        help="which of the boot test's variants (default: all)",
    )
    parser.add_argument(
        "--checks",
        action=argparse.BooleanOptionalAction,
        default=checks_default,
        help="run the boot test's checks after each run, one more reboot included",
    )
    parser.add_argument(
        "--early-import",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start importing the container image as soon as LXD answers on the boot that "
        "readies the host, as the bridge comes up (default), rather than once it is ready",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=Path("/var/tmp/lxdhost-boot-runs"),
        help="where a failed run's serial log, seed and overlay are kept",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: at least 1")
    missing = missing_requirements()
    if missing:
        parser.error(missing)
    unwind_on_sigterm()
    variants = [v for v in VARIANTS if v.id in args.variants]
    container_image = image.build_container_image()
    folder = Path(tempfile.mkdtemp(prefix="lxdhost-boot-key-"))
    runs: list[Run] = []
    began = time.monotonic()
    try:
        ssh_key = make_ssh_key(folder, "boot-runs")
        for number in range(1, args.runs + 1):
            for variant in variants:
                print(f"[{variant.id} run {number}/{args.runs}] booting", flush=True)
                run = run_once(
                    variant,
                    number,
                    container_image,
                    ssh_key,
                    checks=args.checks,
                    early_import=args.early_import,
                    keep=args.keep,
                )
                runs.append(run)
                outcome = run.failure.splitlines()[0] if run.failure else "passed"
                print(
                    f"[{variant.id} run {number}/{args.runs}] {run.figures.line(variant.id)}"
                    f"; {outcome} ({(time.monotonic() - began) / 60:.0f} min in)",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted: the report covers the runs that ended", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(report(runs, variants))
    return 1 if any(run.failure for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main(checks_default=True))

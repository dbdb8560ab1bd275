"""The benchmark's and the soak's own arithmetic, on what a booted guest printed (no boot)."""

from __future__ import annotations

from pathlib import Path

from boothost.launch import VARIANTS, Figures
from boothost.runs import Run, analyze, report

# `cloud-init analyze show` and `blame` from a netplan-preseed-in-place guest of the boot test.
ANALYZE = (Path(__file__).parent / "fixtures" / "cloud-init-analyze.txt").read_text()


def test_analyze_takes_the_first_boots_stages_and_the_slow_modules() -> None:
    steps = analyze(ANALYZE)
    assert steps == {
        "stage init-local": 13.661,
        "stage init-network": 7.205,
        "stage modules-config": 15.888,
        "stage modules-final": 29.828,
        "runcmd (bring-up, LXD commands)": 13.733,
        "locale": 12.343,
        "lxd module": 9.672,
        "packages (apt-get update, install)": 3.122,
    }


def test_analyze_ignores_later_boot_records() -> None:
    show, blame = ANALYZE.split("\n=== blame ===\n")
    later_show = show.replace("-- Boot Record 01 --", "-- Boot Record 02 --").replace(
        "(modules-final) 29.82800", "(modules-final) 99.00000"
    )
    later_blame = blame.replace("-- Boot Record 01 --", "-- Boot Record 02 --").replace(
        "09.67200s (modules-final/config-lxd)", "77.00000s (modules-final/config-lxd)"
    )
    steps = analyze(f"{show}\n{later_show}\n=== blame ===\n{blame}\n{later_blame}")
    assert steps["stage modules-final"] == 29.828
    assert steps["lxd module"] == 9.672


def run(variant_id: str, number: int, gateway: float | None, failure: str | None = None) -> Run:
    variant = next(v for v in VARIANTS if v.id == variant_id)
    return Run(
        variant,
        number,
        Figures(first_boot_done=100.0, host_ready=110.0, container_reached_gateway=gateway),
        steps={"lxd module": 9.0 + number},
        failure=failure,
    )


def test_report_gives_median_and_range_counts_failures_and_compares_the_bring_ups() -> None:
    variants = [v for v in VARIANTS if v.host_network == "netplan"]
    runs = [
        run("netplan-preseed", 1, 400.0),
        run("netplan-preseed", 2, 420.0),
        run("netplan-preseed", 3, 380.0),
        run("netplan-preseed-in-place", 1, 250.0),
        run("netplan-preseed-in-place", 2, None, "AssertionError: br0 holds []"),
        run("netplan-preseed-in-place", 3, 270.0),
    ]
    text = report(runs, variants)
    assert (
        "| netplan-preseed | 3 | 0 | 100 s (100-100) | 110 s (110-110) | 400 s (380-420) |" in text
    )
    # The failed run counts as failed and is left out of the figures.
    assert "| netplan-preseed-in-place | 3 | 1 | " in text
    assert "| 260 s (250-270) |" in text
    assert "netplan-preseed-in-place / netplan-preseed: 0.65 (target <= 0.70)" in text
    assert "| lxd module | 11.0 | 11.0 |" in text
    assert "- netplan-preseed-in-place run 2: AssertionError: br0 holds [] (the whole error" in text
    assert "ifupdown-module-in-place / netplan-preseed" not in text  # no ifupdown run


def test_report_compares_the_seeds_layout_in_place_with_netplan_and_the_reboot() -> None:
    runs = [run("netplan-preseed", 1, 400.0), run("ifupdown-module-in-place", 1, 300.0)]
    text = report(runs, list(VARIANTS))
    assert "ifupdown-module-in-place / netplan-preseed: 0.75 (target <= 1.00" in text
    # Each in-place variant is compared with the reboot of its own layout only.
    assert "ifupdown-module-in-place / ifupdown-module:" not in text

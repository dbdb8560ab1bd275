"""Fixtures for the boot test: images, the tenant network, and a host booted on it per variant.

Everything the fixtures create (network namespace, taps, dnsmasq, nftables rules, the mirror,
qemu) is removed when the fixture ends, whether the tests passed or not.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import hostimage as image
from boothost.launch import (
    VARIANTS,
    BootedHost,
    Figures,
    Launcher,
    Variant,
    bring_up,
    make_ssh_key,
    missing_requirements,
    unwind_on_sigterm,
)

FIGURES: dict[str, Figures] = {}

# What the local cloud does not cover. Its lifecycle suite (tests/lifecycle) boots stack
# `local`'s host on real Nova and Neutron (ifupdown, brought up at the reboot), and both layouts
# on a guest whose NIC is ens2, not ens3. The lxd module's form stays covered by
# `ifupdown-module-in-place`.
# bench/time_to_ready.py and scripts/soak-boot still boot every variant.
COVERED_BY_THE_LOCAL_CLOUD = ("ifupdown-module",)
BOOT_TEST_VARIANTS = tuple(v for v in VARIANTS if v.id not in COVERED_BY_THE_LOCAL_CLOUD)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for variant, figures in FIGURES.items():
        terminalreporter.write_line(figures.line(variant))


@pytest.fixture(scope="session")
def boot_environment() -> None:
    """Skip, naming what is missing, where the suite cannot run."""
    missing = missing_requirements()
    if missing:
        pytest.skip(missing)
    unwind_on_sigterm()


@pytest.fixture(scope="session")
def container_image(boot_environment: None) -> image.ContainerImage:
    built = image.build_container_image()
    if built.build_seconds:
        print(f"\nbuilt the container image in {built.build_seconds:.0f} s: {built.tarball}")
    return built


@pytest.fixture(scope="session")
def ssh_key(boot_environment: None) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="lxdhost-boot-key-"))
    key = make_ssh_key(folder, "boot-test")
    yield key
    shutil.rmtree(folder, ignore_errors=True)


def _selected_variants(session: pytest.Session) -> list[Variant]:
    wanted = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        variant = callspec.params.get("booted_host") if callspec is not None else None
        if isinstance(variant, Variant):
            wanted.add(variant.id)
    return [variant for variant in BOOT_TEST_VARIANTS if variant.id in wanted]


@pytest.fixture(scope="session")
def launcher(
    request: pytest.FixtureRequest,
    container_image: image.ContainerImage,
    ssh_key: Path,
) -> Iterator[Launcher]:
    """The selected variants' VMs, two at a time; all stopped at the end of the session."""
    started = Launcher(_selected_variants(request.session), container_image, ssh_key, FIGURES)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module", params=BOOT_TEST_VARIANTS, ids=lambda v: v.id)
def booted_host(request: pytest.FixtureRequest, launcher: Launcher) -> Iterator[BootedHost]:
    """The variant's host with br0 up (past its reboot, if it has one), reachable over SSH."""
    variant: Variant = request.param
    launch = launcher.get(variant)
    try:
        yield bring_up(launch)
    finally:
        # Free the CPU for the next variant's tests.
        launcher.release(variant)
        print(f"\n{launch.figures.line(variant.id)}")

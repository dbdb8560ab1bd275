"""The project's own Pulumi CLI (scripts/install-pulumi), run on a copy of the project.

Every command runs with the environment `scripts/pulumi-env` sets, as the README tells users to,
in a throwaway copy of the checkout with its own `.pulumi-state`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localcloud import harness

TOP = Path(__file__).resolve().parents[2]
PASSPHRASE = "toolchain-test"


def pulumi_environment() -> dict[str, str]:
    """The environment a shell has after `. scripts/pulumi-env`, with this suite's passphrase."""
    return harness.pulumi_environment(PASSPHRASE)


@dataclass
class Project:
    """A copy of the checkout's tracked files, with the checkout's venv."""

    path: Path
    environment: dict[str, str]

    def pulumi(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.path,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            command = " ".join(args)
            raise AssertionError(
                f"pulumi {command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    environment = pulumi_environment()
    if not (TOP / "venv/bin/pulumi").is_file():
        raise AssertionError("no venv/bin/pulumi: run scripts/install-pulumi first")
    copy = tmp_path / "project"
    copy.mkdir()
    # With the README's one-time step for Pulumi.yaml's relative file:// backend, .pulumi-state.
    harness.copy_checkout(copy)
    yield Project(copy, environment)

"""What every run of the real CLI on the local cloud starts from: the cloud's settings, the
shell's environment after `. scripts/pulumi-env`, and a copy of the checkout to run in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]


def local_cloud_settings() -> dict[str, str]:
    """What `scripts/local-cloud env` prints (LC_NS, LC_CLOUD, LC_LOGS, LC_FAKE_FLAVOR, ...):
    settings, read without the cloud running."""
    printed = subprocess.run(
        [TOP / "scripts/local-cloud", "env"], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)


def pulumi_environment(passphrase: str) -> dict[str, str]:
    """The environment a shell has after `. scripts/pulumi-env`, with the passphrase of the
    stacks' secrets (a stack file's `encryptionsalt` is for one passphrase)."""
    dump = subprocess.run(
        ["bash", "-c", f". {TOP}/scripts/pulumi-env && env -0"], capture_output=True, check=True
    ).stdout.decode()
    environment = dict(entry.split("=", 1) for entry in dump.split("\0") if "=" in entry)
    return {**environment, "PULUMI_CONFIG_PASSPHRASE": passphrase}


def copy_checkout(target: Path) -> None:
    """The checkout's tracked files (an uncommitted stack file is not among them), with the
    checkout's venv (Pulumi.yaml's pip toolchain) and an empty `.pulumi-state` for a file
    backend of its own."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=TOP, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (TOP / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TOP / name, target / name)
    (target / "venv").symlink_to(TOP / "venv")
    (target / ".pulumi-state").mkdir()

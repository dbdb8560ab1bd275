"""`python -m lxdhost lxc-remote`: the stack's hosts as `lxc` remotes on the user's machine.

An `lxc` configuration directory of the stack's own (`LXD_CONF`), kept apart from the user's:
the stack's client certificate and key, each host's server certificate as `lxc` pins it
(`servercerts/<host>.crt`), and one remote per host in `config.yml`. Nothing is accepted on
first use: the certificates are the stack's outputs (`pulumi stack output --show-secrets`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class RemoteError(RuntimeError):
    """The stack's outputs cannot make remotes; the message says why."""


def default_directory(project: str, stack: str) -> Path:
    """Where a stack's `lxc` configuration lives unless the user names another directory."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "lxdhost" / f"{project}-{stack}" / "lxc"


def stack_outputs(stack: str, cwd: Path) -> dict[str, Any]:
    """The stack's outputs with their secrets, through the Pulumi CLI."""
    try:
        result = subprocess.run(
            ["pulumi", "stack", "output", "--stack", stack, "--json", "--show-secrets"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise RemoteError("no pulumi on PATH: run '. scripts/pulumi-env' first") from None
    if result.returncode != 0:
        raise RemoteError(f"pulumi stack output --stack {stack} failed: {result.stderr.strip()}")
    outputs = json.loads(result.stdout or "{}")
    if not isinstance(outputs, dict):
        raise RemoteError(f"stack {stack}'s outputs are not a mapping")
    return outputs


def write_lxc_config(outputs: Mapping[str, Any], directory: Path) -> list[str]:
    """Write the `lxc` configuration for every host the stack manages through LXD's API; the
    remotes' names, in order."""
    certificate, key = outputs.get("lxdClientCertificate"), outputs.get("lxdClientKey")
    hosts = outputs.get("hosts") or {}
    remotes = {
        name: host
        for name, host in sorted(hosts.items())
        if isinstance(host, Mapping) and host.get("lxdApi") and host.get("lxdCertificate")
    }
    if not isinstance(certificate, str) or not isinstance(key, str) or not remotes:
        raise RemoteError(
            "the stack's outputs hold no LXD API (lxdManagement: api, after pulumi up)"
        )
    (directory / "servercerts").mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    _write(directory / "client.crt", certificate, 0o644)
    _write(directory / "client.key", key, 0o600)
    config: dict[str, Any] = {"default-remote": "local", "remotes": {}, "aliases": {}}
    for name, host in remotes.items():
        _write(directory / "servercerts" / f"{name}.crt", str(host["lxdCertificate"]), 0o644)
        config["remotes"][name] = {
            "addr": str(host["lxdApi"]),
            "auth_type": "tls",
            "project": "default",
            "protocol": "lxd",
            "public": False,
        }
    _write(directory / "config.yml", yaml.safe_dump(config, sort_keys=True), 0o600)
    return list(remotes)


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text if text.endswith("\n") else f"{text}\n")
    path.chmod(mode)

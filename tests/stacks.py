"""The stacks the repository ships: one Pulumi.<stack>.yaml each (dev, local, prod)."""

from __future__ import annotations

from pathlib import Path

TOP = Path(__file__).resolve().parents[1]

COMMITTED_STACKS = tuple(sorted(path.name.split(".")[1] for path in TOP.glob("Pulumi.*.yaml")))

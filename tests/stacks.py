"""A stack the repository ships, run by the offline engine with some `lxdhost:` keys changed.

Tests take it from the `stacks` fixture (tests/conftest.py); `lxdhost.offline.list_stacks()`
names the stacks.
"""

from __future__ import annotations

import json
from typing import Any

from lxdhost.offline import ProgramRun, read_stack_config, run_program
from lxdhost.offline.model import OfflinePlan, build_plan


def stack_config(stack: str, **overrides: object) -> dict[str, Any]:
    """The stack's configuration as the Pulumi CLI resolves it, each override set as
    `lxdhost:<key>`; an override of None removes the key."""
    config = read_stack_config(stack)
    for key, value in overrides.items():
        if value is None:
            config.pop(f"lxdhost:{key}", None)
        else:
            config[f"lxdhost:{key}"] = value
    return config


class Stacks:
    """A stack's configuration, program run and plan, with overrides as `stack_config` takes.

    Each run and plan is made once for the session and shared: a test must not change one. A
    test about running twice calls `lxdhost.offline.run_program` itself.
    """

    def __init__(self) -> None:
        self._runs: dict[str, ProgramRun] = {}
        self._plans: dict[str, OfflinePlan] = {}

    def config(self, stack: str, **overrides: object) -> dict[str, Any]:
        return stack_config(stack, **overrides)

    def run(self, stack: str, **overrides: object) -> ProgramRun:
        key = _cache_key(stack, overrides)
        if key not in self._runs:
            self._runs[key] = run_program(stack, stack_config(stack, **overrides))
        return self._runs[key]

    def plan(self, stack: str, **overrides: object) -> OfflinePlan:
        key = _cache_key(stack, overrides)
        if key not in self._plans:
            self._plans[key] = build_plan(self.run(stack, **overrides))
        return self._plans[key]


def _cache_key(stack: str, overrides: dict[str, object]) -> str:
    return json.dumps([stack, overrides], sort_keys=True)

"""Paths the userdata tests share, and how they compare lists of problems."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.installed import PROJECT_ROOT

EXAMPLES_DIR = PROJECT_ROOT / "userdata" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def assert_problems_start(problems: Sequence[str], expected: Sequence[str]) -> None:
    """Exactly these problems, in this order, each starting as expected (the rest is wording)."""
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), (problem, start)

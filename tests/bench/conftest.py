"""The benchmarks are scripts, not a package: their folder goes on `sys.path`, as running one
puts it there, so that the tests import them by name (`import scale`); after the rest, so
that no name there hides another."""

from __future__ import annotations

import sys

from tests.installed import PROJECT_ROOT

sys.path.append(str(PROJECT_ROOT / "bench"))

"""bench/bench_program.py's bare programs, which its ratio is measured against, under the mocks:
each registers exactly what the program does (type, parent, inputs, options) and exports the
same, or the bench stops before timing anything."""

from __future__ import annotations

import bench_program
import pytest


@pytest.mark.parametrize("raw", [False, True], ids=["provider-class", "raw"])
def test_the_bare_program_registers_what_the_program_does(raw: bool) -> None:
    config = bench_program.stack_config(2)
    _, reference = bench_program.time_once("dev", config, None)
    _, bare = bench_program.time_once("dev", config, bench_program.bare_program(reference, raw=raw))
    bench_program.check_same_resources(reference, bare, "raw" if raw else "provider-class")
    components = [r for r in bare.resources if r.type == "lxdhost:index:LxdHost"]
    assert [set(r.inputs) for r in components] == [{"userDataMaxBytes"}] * 2

"""Nothing outside tests/ imports from tests/: a harness shared with other code is a package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.installed import PROJECT_ROOT

# Not the project's code: the virtualenv, caches, state, and the tests themselves.
NOT_SCANNED = {"tests", "venv", ".venv", ".git", ".pulumi-state"}
# A script that runs a module or a file of tests/ with Python, as soak-boot once ran the boot runs.
RUNS_TESTS = re.compile(r"python\S*\s+(?:-m\s+tests\.|\S*tests/\S+\.py)")


def project_files(pattern: str) -> list[Path]:
    found = []
    for top in PROJECT_ROOT.iterdir():
        if top.name in NOT_SCANNED:
            continue
        if top.is_dir():
            found += [path for path in top.rglob(pattern) if "node_modules" not in path.parts]
        elif top.match(pattern):
            found.append(top)
    return sorted(found)


def imports_from_tests(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {name}"
            for name in names
            if name == "tests" or name.startswith("tests.")
        ]
    return found


def test_nothing_outside_tests_imports_from_tests() -> None:
    sources = project_files("*.py")
    scanned = {str(path.relative_to(PROJECT_ROOT)) for path in sources}
    # The harness's users: the scan must reach them, or it proves nothing.
    assert {"bench/time_to_ready.py", "boothost/runs.py"} <= scanned
    found = [line for path in sources for line in imports_from_tests(path)]
    assert not found, "imports from tests/:\n" + "\n".join(found)


def test_no_script_runs_code_from_tests() -> None:
    scripts = [
        path
        for folder in ("scripts", ".ci")
        for path in sorted((PROJECT_ROOT / folder).iterdir())
        if path.is_file()
    ]
    assert PROJECT_ROOT / "scripts" / "soak-boot" in scripts
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in scripts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if RUNS_TESTS.search(line)
    ]
    assert not found, "scripts that run code from tests/:\n" + "\n".join(found)

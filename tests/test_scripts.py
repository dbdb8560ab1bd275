"""The shell scripts pass shellcheck, each with the files it sources, so that a variable one file
sets and another reads is seen as set."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.installed import PROJECT_ROOT, SHELLCHECK


def shell_files() -> list[Path]:
    scripts = [path for path in (PROJECT_ROOT / "scripts").iterdir() if path.is_file()]
    libraries = [
        *(PROJECT_ROOT / "scripts" / "lib").glob("*.sh"),
        *(PROJECT_ROOT / "localcloud" / "lib").glob("*.sh"),
    ]
    return sorted([*scripts, PROJECT_ROOT / ".ci" / "run", *libraries])


def test_shell_files_cover_the_local_cloud_and_the_scripts() -> None:
    names = {path.relative_to(PROJECT_ROOT).as_posix() for path in shell_files()}
    assert {"scripts/local-cloud", "scripts/lib/log.sh", "localcloud/lib/nova.sh"} <= names


def test_scripts_and_local_cloud_pass_shellcheck() -> None:
    result = SHELLCHECK.run("--external-sources", "--format=gcc", *shell_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_script_that_fails_in_a_phase_names_the_phase(tmp_path: Path) -> None:
    script = tmp_path / "steps"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        f". {PROJECT_ROOT / 'scripts/lib/log.sh'}\n"
        "passes() { true; }\nfails() { false; echo 'set -e still holds in a phase'; }\n"
        'phase "first part" passes\nphase "second part" fails\nphase "third part" passes\n'
    )
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "first part: done in" in result.stdout
    assert "set -e still holds" not in result.stdout
    assert "third part" not in result.stdout
    assert "steps: second part: failed (exit 1) after" in result.stderr

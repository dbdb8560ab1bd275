"""The shell scripts pass shellcheck, each with the files it sources, so that a variable one file
sets and another reads is seen as set."""

from __future__ import annotations

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

"""The GitHub workflows: actionlint's verdict, the properties the team workflow relies on, and
the guard scripts run for real.

actionlint (rhysd/actionlint compiled to WebAssembly, installed by scripts/install) lints each
file on its own: it cannot open the local reusable workflow that the others call, so the calls
are checked here against that workflow's declared inputs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.installed import actionlint

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
STACKS = ("dev", "prod")


class WorkflowLoader(yaml.SafeLoader):
    """YAML as GitHub reads a workflow: only true/false are booleans.

    PyYAML follows YAML 1.1, where `on`, `off`, `yes` and `no` are booleans too: the `on:` key
    that holds a workflow's triggers would load as True.
    """


WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(name: str) -> dict[str, Any]:
    document = yaml.load((WORKFLOWS / name).read_text(), Loader=WorkflowLoader)
    assert isinstance(document, dict), name
    return document


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in workflow_files():
        for job_id, job in load(path.name)["jobs"].items():
            for step in job.get("steps", []):
                yield path.name, job_id, step


def step_named(job: Mapping[str, Any], name: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [step for step in job["steps"] if step.get("name") == name]
    assert len(matches) == 1, f"{len(matches)} steps named {name!r}"
    return matches[0]


def step_using(job: Mapping[str, Any], action: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        step for step in job["steps"] if str(step.get("uses", "")).startswith(action + "@")
    ]
    assert len(matches) == 1, f"{len(matches)} steps use {action}"
    return matches[0]


def run_step(
    step: Mapping[str, Any], env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a step's script the way GitHub's runner runs `run:` with the default bash shell."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


# --- actionlint -------------------------------------------------------------------------------


def test_actionlint_accepts_every_workflow() -> None:
    files = workflow_files()
    result = subprocess.run(
        [str(actionlint()), str(WORKFLOWS / "*.y*ml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The command exits 0 when its pattern matches nothing; make sure it saw every file.
    assert f"Checking {len(files)} workflow file(s)" in result.stdout
    assert len(files) >= 6


# --- structure --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "triggers"),
    [
        pytest.param(
            "pull-request.yml", {"pull_request": {"branches": ["main"]}}, id="pull-request"
        ),
        pytest.param("deploy.yml", {"push": {"branches": ["main"]}}, id="deploy-on-push-to-main"),
        pytest.param("checks.yml", {"workflow_call": None}, id="checks-only-called"),
        pytest.param("pulumi.yml", None, id="pulumi-only-called"),
    ],
)
def test_triggers(name: str, triggers: dict[str, Any] | None) -> None:
    on = load(name)["on"]
    if triggers is None:
        assert set(on) == {"workflow_call"}
    else:
        assert on == triggers


def test_destroy_is_only_run_by_hand() -> None:
    assert set(load("destroy.yml")["on"]) == {"workflow_dispatch"}


def test_the_comment_workflow_follows_the_pull_request_workflow() -> None:
    on = load("plan-comment.yml")["on"]
    assert on == {
        "workflow_run": {"workflows": [load("pull-request.yml")["name"]], "types": ["completed"]}
    }


def test_no_workflow_runs_pull_request_code_with_a_writing_token() -> None:
    for path in workflow_files():
        assert "pull_request_target" not in load(path.name)["on"], path.name


def test_every_action_is_pinned_to_a_major_version() -> None:
    for name, job_id, step in all_steps():
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), (name, job_id, step["uses"])


def test_setup_python_caches_pip() -> None:
    uses = [
        (name, step)
        for name, _, step in all_steps()
        if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert {name for name, _ in uses} == {"pulumi.yml", "pull-request.yml"}
    for name, step in uses:
        assert step["with"]["cache"] == "pip", name
        assert step["with"]["python-version"] == "3.11", name


def test_no_secret_is_spliced_into_a_script() -> None:
    for name, job_id, step in all_steps():
        assert "secrets." not in step.get("run", ""), (name, job_id)


@pytest.mark.parametrize(
    ("name", "job_id"),
    [
        pytest.param("pull-request.yml", "preview", id="preview"),
        pytest.param("deploy.yml", "up-dev", id="up-dev"),
        pytest.param("deploy.yml", "up-prod", id="up-prod"),
        pytest.param("destroy.yml", "destroy", id="destroy"),
        pytest.param("pull-request.yml", "checks", id="checks-on-pull-request"),
        pytest.param("deploy.yml", "checks", id="checks-on-deploy"),
    ],
)
def test_calls_pass_only_declared_inputs_and_every_required_one(name: str, job_id: str) -> None:
    job = load(name)["jobs"][job_id]
    called = load(Path(job["uses"]).name)
    declared = called["on"]["workflow_call"] or {}
    inputs = declared.get("inputs", {})
    given = set(job.get("with", {}))
    assert job["uses"].startswith("./.github/workflows/")
    assert given <= set(inputs), given - set(inputs)
    required = {key for key, spec in inputs.items() if spec.get("required")}
    assert required <= given
    if "secrets." in (WORKFLOWS / Path(job["uses"]).name).read_text():
        assert job.get("secrets") == "inherit"


def pulumi_job() -> dict[str, Any]:
    job: dict[str, Any] = load("pulumi.yml")["jobs"]["pulumi"]
    return job


def test_the_pulumi_action_runs_the_callers_command_on_the_callers_stack() -> None:
    step = step_using(pulumi_job(), "pulumi/actions")
    assert re.fullmatch(r"pulumi/actions@v\d+", step["uses"])
    assert step["with"]["command"] == "${{ inputs.command }}"
    assert step["with"]["stack-name"] == "${{ inputs.stack }}"
    assert step["with"]["upsert"] is False


def test_previews_comment_on_the_pull_request_and_apply_the_policy_pack() -> None:
    step = step_using(pulumi_job(), "pulumi/actions")
    assert step["with"]["comment-on-pr"] == "${{ inputs.command == 'preview' }}"
    assert step["with"]["policyPacks"] == "${{ inputs.command != 'destroy' && 'policy' || '' }}"
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert preview["with"]["command"] == "preview"
    assert preview["permissions"]["pull-requests"] == "write"


def test_the_preview_runs_for_each_stack_and_skips_forks() -> None:
    preview = load("pull-request.yml")["jobs"]["preview"]
    matrix = preview["strategy"]["matrix"]
    assert set(matrix) == {"stack"}
    # dev and prod at least; a stack added to the matrix must exist.
    assert set(STACKS) <= set(matrix["stack"])
    assert preview["strategy"]["fail-fast"] is False
    assert preview["with"]["stack"] == "${{ matrix.stack }}"
    # Forks get no secrets: their previews would fail; the offline plan covers them.
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    for stack in matrix["stack"]:
        assert (ROOT / f"Pulumi.{stack}.yaml").is_file(), stack


def test_state_backend_and_passphrase_come_from_secrets() -> None:
    env = pulumi_job()["env"]
    assert env["PULUMI_BACKEND_URL"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    step = step_using(pulumi_job(), "pulumi/actions")
    assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"


def test_clouds_yaml_is_written_to_a_private_file_and_never_printed(tmp_path: Path) -> None:
    step = step_named(pulumi_job(), "Write clouds.yaml")
    assert step["env"] == {"OPENSTACK_CLOUDS_YAML": "${{ secrets.OPENSTACK_CLOUDS_YAML }}"}
    secret = "clouds:\n  tenant:\n    auth:\n      password: s3cr3t-`$(touch pwned)`\n"
    github_env = tmp_path / "github_env"
    result = run_step(
        step,
        {
            "OPENSTACK_CLOUDS_YAML": secret,
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_ENV": str(github_env),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    written = tmp_path / "clouds.yaml"
    assert written.read_text() == secret + "\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert github_env.read_text() == f"OS_CLIENT_CONFIG_FILE={written}\n"
    assert "s3cr3t" not in result.stdout + result.stderr
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        pytest.param("PULUMI_BACKEND_URL", "PULUMI_BACKEND_URL", id="backend-url"),
        pytest.param("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE", id="passphrase"),
        pytest.param("OPENSTACK_CLOUDS_YAML", "OPENSTACK_CLOUDS_YAML", id="clouds-yaml"),
    ],
)
def test_a_missing_secret_stops_the_job_by_name(tmp_path: Path, unset: str, message: str) -> None:
    step = step_named(pulumi_job(), "Check that the secrets are set")
    env = {
        "PULUMI_BACKEND_URL": "s3://state",
        "PULUMI_CONFIG_PASSPHRASE": "passphrase",
        "OPENSTACK_CLOUDS_YAML": "clouds: {}",
    }
    assert run_step(step, env, cwd=tmp_path).returncode == 0
    env[unset] = ""
    result = run_step(step, env, cwd=tmp_path)
    assert result.returncode == 1
    assert f"::error::repository secrets not set: {message} " in result.stdout


# --- deploy and concurrency -------------------------------------------------------------------


def test_push_to_main_deploys_dev_then_prod_behind_the_production_environment() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert jobs["up-dev"]["needs"] == "checks"
    assert jobs["up-dev"]["with"] == {"command": "up", "stack": "dev", "environment": "dev"}
    assert jobs["up-prod"]["needs"] == "up-dev"
    assert jobs["up-prod"]["with"] == {
        "command": "up",
        "stack": "prod",
        "environment": "production",
    }
    assert pulumi_job()["environment"] == "${{ inputs.environment }}"


@pytest.mark.parametrize(
    ("name", "job_id", "group"),
    [
        pytest.param("deploy.yml", "up-dev", "pulumi-dev", id="up-dev"),
        pytest.param("deploy.yml", "up-prod", "pulumi-prod", id="up-prod"),
        pytest.param("destroy.yml", "destroy", "pulumi-${{ inputs.stack }}", id="destroy"),
    ],
)
def test_operations_that_change_a_stack_queue_per_stack_and_are_never_cancelled(
    name: str, job_id: str, group: str
) -> None:
    concurrency = load(name)["jobs"][job_id]["concurrency"]
    assert concurrency == {"group": group, "cancel-in-progress": False}


def test_a_destroy_and_an_up_of_the_same_stack_share_one_group() -> None:
    destroy_group = load("destroy.yml")["jobs"]["destroy"]["concurrency"]["group"]
    for stack in STACKS:
        up_group = load("deploy.yml")["jobs"][f"up-{stack}"]["concurrency"]["group"]
        assert destroy_group.replace("${{ inputs.stack }}", stack) == up_group


def test_previews_never_hold_or_cancel_a_deploy() -> None:
    concurrency = load("pull-request.yml")["jobs"]["preview"]["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    assert not concurrency["group"].startswith("pulumi-")


# --- destroy ----------------------------------------------------------------------------------


def test_destroy_inputs() -> None:
    inputs = load("destroy.yml")["on"]["workflow_dispatch"]["inputs"]
    assert inputs["stack"] == inputs["stack"] | {"type": "string", "required": True}
    assert inputs["confirm"] == inputs["confirm"] | {"type": "string", "required": True}
    assert inputs["allow-production"] | {} == inputs["allow-production"] | {
        "type": "boolean",
        "default": False,
    }


def test_destroy_needs_the_guard_and_repeats_its_conditions() -> None:
    job = load("destroy.yml")["jobs"]["destroy"]
    assert job["needs"] == "guard"
    condition = " ".join(job["if"].split())
    assert "github.ref == 'refs/heads/main'" in condition
    assert "inputs.confirm == inputs.stack" in condition
    assert "(!startsWith(inputs.stack, 'prod') || inputs.allow-production)" in condition
    assert job["with"]["command"] == "destroy"
    assert (
        job["with"]["environment"]
        == "${{ startsWith(inputs.stack, 'prod') && 'production' || '' }}"
    )


@pytest.mark.parametrize(
    ("stack", "confirm", "allow_production", "ref", "error"),
    [
        pytest.param("dev", "dev", "false", "refs/heads/main", None, id="dev-confirmed"),
        pytest.param("dev", "dve", "false", "refs/heads/main", "confirm: must repeat", id="typo"),
        pytest.param(
            "dev", "DEV", "false", "refs/heads/main", "confirm: must repeat", id="case-differs"
        ),
        pytest.param(
            "dev", "", "false", "refs/heads/main", "confirm: must repeat", id="empty-confirm"
        ),
        pytest.param(
            "prod", "prod", "false", "refs/heads/main", "allow-production:", id="prod-refused"
        ),
        pytest.param("prod", "prod", "true", "refs/heads/main", None, id="prod-allowed"),
        pytest.param(
            "Prod-eu",
            "Prod-eu",
            "false",
            "refs/heads/main",
            "allow-production:",
            id="prod-prefix-any-case",
        ),
        pytest.param(
            "dev", "dev", "false", "refs/heads/topic", "run this workflow from main", id="not-main"
        ),
        pytest.param(
            "staging",
            "staging",
            "false",
            "refs/heads/main",
            "no Pulumi.staging.yaml",
            id="unknown-stack",
        ),
        pytest.param(
            "dev;touch pwned",
            "dev;touch pwned",
            "false",
            "refs/heads/main",
            "is not a stack name",
            id="not-a-name",
        ),
    ],
)
def test_the_destroy_guard(  # noqa: PLR0917 (one parameter per column of the table)
    tmp_path: Path, stack: str, confirm: str, allow_production: str, ref: str, error: str | None
) -> None:
    for known in ("dev", "prod", "Prod-eu"):
        (tmp_path / f"Pulumi.{known}.yaml").write_text("config: {}\n")
    guard = load("destroy.yml")["jobs"]["guard"]
    step = step_named(guard, "Check the stack name, the confirmation and the production guard")
    assert step["env"] == {
        "STACK": "${{ inputs.stack }}",
        "CONFIRM": "${{ inputs.confirm }}",
        "ALLOW_PRODUCTION": "${{ inputs.allow-production }}",
        "REF": "${{ github.ref }}",
    }
    result = run_step(
        step,
        {"STACK": stack, "CONFIRM": confirm, "ALLOW_PRODUCTION": allow_production, "REF": ref},
        cwd=tmp_path,
    )
    if error is None:
        assert result.returncode == 0, result.stdout
        assert f"destroying stack {stack}" in result.stdout
    else:
        assert result.returncode == 1
        assert f"::error::{error}" in result.stdout or error in result.stdout
        assert "destroying stack" not in result.stdout
    assert not (tmp_path / "pwned").exists()


# --- the offline plan -------------------------------------------------------------------------


def test_the_offline_plan_needs_no_secret_and_compares_with_the_base_branch() -> None:
    job = load("pull-request.yml")["jobs"]["offline-plan"]
    assert "secrets." not in yaml.safe_dump(job)
    assert "if" not in job  # forks too
    assert job["permissions"] == {"contents": "read"}
    checkouts = [
        step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")
    ]
    assert [step["with"].get("ref") for step in checkouts] == [
        None,
        "${{ github.event.pull_request.base.sha }}",
    ]
    script = step_named(job, "Plan each stack and compare it with the base branch")["run"]
    assert 'python -m lxdhost plan --stack "$stack" --json' in script
    assert 'python -m lxdhost plan --stack "$stack" --diff "../plan/base-$stack.json"' in script
    upload = step_using(job, "actions/upload-artifact")
    assert upload["with"]["name"] == "offline-plan"


def test_the_comment_workflow_never_checks_out_code_and_may_only_comment() -> None:
    workflow = load("plan-comment.yml")
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert not any("checkout" in step.get("uses", "") for step in job["steps"])
    download = step_using(job, "actions/download-artifact")
    assert download["with"]["name"] == "offline-plan"
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    script = step_using(job, "actions/github-script")["with"]["script"]
    # The artifact's pull request number is only trusted when that pull request's head is the
    # commit whose run produced the artifact.
    assert "pull.head.sha !== headSha" in script


def copy_project(destination: Path, stacks: tuple[str, ...] = STACKS) -> Path:
    """What `python -m lxdhost plan` reads, as a checkout of the repository would hold it."""
    destination.mkdir()
    for name in ("__main__.py", "Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in stacks)):
        shutil.copy(ROOT / name, destination / name)
    for package in ("lxdhost", "userdata"):
        shutil.copytree(
            ROOT / package, destination / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return destination


def run_offline_plan(workspace: Path) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """The offline-plan job's script over `workspace/base` and `workspace/head`."""
    job = load("pull-request.yml")["jobs"]["offline-plan"]
    step = step_named(job, "Plan each stack and compare it with the base branch")
    # The job's `python` is the one setup-python installs, with requirements.txt; here, the one
    # running the tests. A wrapper, not a symlink: Python finds its virtualenv (pyvenv.cfg) next
    # to the path it was started by, so a linked venv interpreter would lose the venv's packages.
    bin_dir = workspace / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    summary = workspace / "summary.md"
    result = run_step(
        step,
        {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PR_NUMBER": "42",
            "GITHUB_STEP_SUMMARY": str(summary),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        cwd=workspace,
    )
    assert (workspace / "plan" / "pr-number").read_text() == "42\n"
    return result, (workspace / "plan" / "offline-plan.txt").read_text(), summary.read_text()


def test_the_offline_plan_job_reports_replacements_and_new_stacks(tmp_path: Path) -> None:
    copy_project(tmp_path / "base")
    head = copy_project(tmp_path / "head")
    prod = head / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("    - jq\n", "    - jq\n    - htop\n"))
    shutil.copy(head / "Pulumi.dev.yaml", head / "Pulumi.staging.yaml")
    result, text, summary = run_offline_plan(tmp_path)
    # A replacement is news for the reviewer, not a failed check.
    assert result.returncode == 0, result.stdout + result.stderr
    assert text.startswith("REPLACEMENTS in: prod\n")
    sections = dict(
        (section.split("\n", 1)[0], section) for section in text.split("=== stack ")[1:]
    )
    assert set(sections) == {"dev", "prod", "staging"}
    assert "Nothing will be replaced." in sections["dev"]
    assert "REPLACE" in sections["prod"]
    assert "user_data" in sections["prod"]
    assert "(new stack: not on the base branch; its whole plan follows)" in sections["staging"]
    assert summary.startswith("### Offline plan against the base branch\n````text\nREPLACEMENTS")


def test_the_offline_plan_job_fails_on_a_stack_it_cannot_plan(tmp_path: Path) -> None:
    copy_project(tmp_path / "base", stacks=("dev",))
    head = copy_project(tmp_path / "head", stacks=("dev",))
    dev = head / "Pulumi.dev.yaml"
    dev.write_text(
        dev.read_text().replace("lxdhost:cidr: 192.168.0.0/24", "lxdhost:cidr: 192.168.0/24")
    )
    result, text, _ = run_offline_plan(tmp_path)
    assert result.returncode == 1
    assert text.startswith("PLAN FAILED for: dev\n")
    assert "cidr" in text


def test_the_ci_doc_documents_every_secret_and_variable_the_workflows_read() -> None:
    used = set()
    for path in workflow_files():
        used |= set(re.findall(r"\b(?:secrets|vars)\.([A-Z][A-Z0-9_]*)", path.read_text()))
    ci_doc = (ROOT / "docs" / "ci.md").read_text()
    documented = set(
        re.findall(r"^\| `([A-Z][A-Z0-9_]*)`(?:, `([A-Z][A-Z0-9_]*)`)? \|", ci_doc, re.M)
    )
    names = {name for pair in documented for name in pair if name}
    assert used == names

"""The policy pack under the real CLI: `pulumi preview --policy-pack policy` of a new prod stack.

Stack `prod-policy` is stack `local`'s configuration with SSH open to 0.0.0.0/0, in a copy of the
checkout with its own state; nothing is created (a preview), so nothing is left to destroy. The
assertions read the engine's own events: its policy violations and its diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from lxdhost import tokens
from policy import rules

from .conftest import TOP, copy_checkout, pulumi_environment

pytestmark = pytest.mark.lifecycle

STACK = "prod-policy"


@pytest.fixture(scope="module")
def preview_events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[auto.EngineEvent]]:
    """Every engine event of the preview, which the mandatory violation fails."""
    path: Path = tmp_path_factory.mktemp("policy") / "project"
    copy_checkout(path)
    config = yaml.safe_load((TOP / "Pulumi.local.yaml").read_text())
    config["config"]["lxdhost:sshIngress"] = ["0.0.0.0/0"]
    (path / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(config))
    environment = pulumi_environment()
    # The Automation API runs the CLI it finds on this process's PATH.
    monkeypatch = pytest.MonkeyPatch()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    stack = auto.create_or_select_stack(
        STACK, work_dir=str(path), opts=auto.LocalWorkspaceOptions(env_vars=environment)
    )
    events: list[auto.EngineEvent] = []
    try:
        with pytest.raises(auto.CommandError):
            stack.preview(
                policy_packs=[str(path / "policy")],
                on_event=events.append,
                on_output=print,
                color="never",
            )
        yield events
    finally:
        stack.workspace.remove_stack(STACK)
        monkeypatch.undo()


def test_the_one_violation_is_the_world_open_ssh_rule(
    preview_events: list[auto.EngineEvent],
) -> None:
    """Every rule judged the new stack: no note that a policy could not run during the preview
    (user-data-within-nova-limit on the server's unknown user_data, the members rule's unknown
    remote group)."""
    policy = [e.policy_event for e in preview_events if e.policy_event is not None]
    judged = [
        (event.resource_urn.rsplit("::", 1)[-1], event.policy_name, event.enforcement_level)
        for event in policy
        if event.resource_urn
    ]
    assert judged == [("hosts-ssh-0.0.0.0-0", "no-world-admin-ingress-in-production", "mandatory")]
    assert not [event.message for event in policy if "during preview" in event.message]


def test_the_user_data_bound_is_the_hosts_own_input_and_no_servers(
    preview_events: list[auto.EngineEvent],
) -> None:
    """What user-data-within-nova-limit judged at preview: the LxdHost's userDataMaxBytes, known
    while its port is new, as the engine planned it; the server it bounds has no metadata."""
    planned = [e.resource_pre_event.metadata.new for e in preview_events if e.resource_pre_event]
    inputs = {
        (state.type, state.urn.rsplit("::", 1)[-1]): state.inputs for state in planned if state
    }
    bound = inputs[(tokens.LXD_HOST, "lxd-1")]["userDataMaxBytes"]
    assert isinstance(bound, int | float) and 0 < bound < rules.NOVA_USER_DATA_LIMIT
    assert "metadata" not in inputs[(tokens.INSTANCE, "lxd-1-server")]


def test_no_traceback_reaches_the_user(preview_events: list[auto.EngineEvent]) -> None:
    """The engine stops the program after the violation; the program ends without Python's
    KeyboardInterrupt traceback (lxdhost.interrupt)."""
    assert any(e.policy_event for e in preview_events), "no policy ran: the preview did not"
    # The program's stderr reaches the user as the engine's diagnostics; its stdout as output.
    messages = [e.diagnostic_event.message for e in preview_events if e.diagnostic_event]
    messages += [e.stdout_event.message for e in preview_events if e.stdout_event]
    for message in messages:
        assert "Traceback" not in message, message
        assert "KeyboardInterrupt" not in message, message

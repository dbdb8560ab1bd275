"""The policy pack as the Pulumi engine drives it: each recorded resource of a program run is
sent to the pack's analyzer as an AnalyzeRequest, with the stack's configuration in
PULUMI_CONFIG as the engine passes it, and the diagnostics that come back are checked.

`_PolicyAnalyzerServicer` is the object pulumi-policy serves over gRPC (`PolicyPack(...)` only
adds the server); policy/requirements.txt pins the SDK's major version.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import pulumi.runtime
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from lxdhost.offline import PROJECT_ROOT, encode_config, list_stacks
from policy.__main__ import PACK_NAME, policies
from tests.stacks import Stacks

POLICY_DIR = PROJECT_ROOT / "policy"
# The engine's placeholder for a value that is only known after a create.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MANDATORY = proto.EnforcementLevel.Value("MANDATORY")
ADVISORY = proto.EnforcementLevel.Value("ADVISORY")


@dataclass(frozen=True)
class Diagnostic:
    resource: str
    policy: str
    level: int
    message: str


Analyze = Callable[..., list[Diagnostic]]


@pytest.fixture
def analyze(stacks: Stacks, monkeypatch: pytest.MonkeyPatch) -> Analyze:
    """The pack's diagnostics for every resource of a program run: the engine hands the pack its
    components too (an LxdHost's inputs are its `props`), as the step generator analyzes every
    registration."""

    def diagnostics_of(
        stack: str,
        settings: Mapping[str, Any] | None = None,
        *,
        change: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[Diagnostic]:
        """`settings` changes lxdhost: keys of the stack; `change` overrides inputs of named
        resources after the run, for resources the program never builds that way."""
        run = stacks.run(stack, **(settings or {}))
        pulumi.runtime.set_all_config({}, [])
        monkeypatch.setenv(
            "PULUMI_CONFIG",
            json.dumps(encode_config(stacks.config(stack, **(settings or {})))),
        )
        servicer = _PolicyAnalyzerServicer(
            PACK_NAME, "0.0.1", policies(), EnforcementLevel.ADVISORY
        )
        diagnostics = []
        for resource in run.resources:
            inputs = {**resource.inputs, **(change or {}).get(resource.name, {})}
            properties = struct_pb2.Struct()
            properties.update(inputs)
            request = proto.AnalyzeRequest(
                type=resource.type, properties=properties, urn=resource.urn, name=resource.name
            )
            response = servicer.Analyze(request, None)
            diagnostics.extend(
                Diagnostic(resource.name, d.policyName, d.enforcementLevel, d.message)
                for d in response.diagnostics
            )
        return diagnostics

    return diagnostics_of


def test_every_policy_has_its_enforcement_level() -> None:
    levels = {policy.name: policy.enforcement_level for policy in policies()}
    assert levels == {
        "no-world-admin-ingress-in-production": EnforcementLevel.MANDATORY,
        "no-world-admin-ingress": EnforcementLevel.ADVISORY,
        "user-data-within-nova-limit": EnforcementLevel.MANDATORY,
        "address-pairs-need-port-security-and-fit-the-limit": EnforcementLevel.MANDATORY,
        "lxd-host-port-lets-containers-through": EnforcementLevel.MANDATORY,
        "server-on-port-has-no-security-groups": EnforcementLevel.MANDATORY,
    }


@pytest.mark.parametrize("stack", list_stacks())
def test_the_shipped_stacks_pass(stack: str, analyze: Analyze) -> None:
    assert analyze(stack) == []


@pytest.mark.parametrize(
    ("stack", "policy", "level"),
    [
        pytest.param("prod", "no-world-admin-ingress-in-production", MANDATORY, id="prod-blocks"),
        pytest.param("dev", "no-world-admin-ingress", ADVISORY, id="dev-warns"),
    ],
)
def test_ssh_open_to_the_world(stack: str, policy: str, level: int, analyze: Analyze) -> None:
    diagnostics = analyze(stack, {"sshIngress": ["0.0.0.0/0"]})
    assert [(d.resource, d.policy, d.level) for d in diagnostics] == [
        ("hosts-ssh-0.0.0.0-0", policy, level)
    ]
    assert "security group rule opens SSH (22/tcp) to 0.0.0.0/0" in diagnostics[0].message


def test_the_lxd_api_port_is_read_from_the_stack(analyze: Analyze) -> None:
    diagnostics = analyze("prod", {"lxdApiIngress": ["0.0.0.0/0"], "lxdApiPort": 9443})
    assert [(d.resource, d.level) for d in diagnostics] == [("hosts-lxd-api-0.0.0.0-0", MANDATORY)]
    assert "LXD's API (9443/tcp) to 0.0.0.0/0" in diagnostics[0].message


@pytest.mark.parametrize(
    ("settings", "change", "reported"),
    [
        pytest.param({}, None, False, id="ten-slots-ten-pairs"),
        pytest.param(
            {"slotsPerHost": 12, "maxAddressPairs": 12}, None, False, id="stack-raises-the-limit"
        ),
        pytest.param({}, "twelve-pairs", True, id="over-the-stacks-limit"),
    ],
)
def test_the_pair_limit_is_the_stacks(
    settings: dict[str, Any],
    change: str | None,
    reported: bool,
    stacks: Stacks,
    analyze: Analyze,
) -> None:
    changes = {}
    if change is not None:
        port = stacks.run("dev").named("lxd-1-port").inputs
        pairs = [*port["allowedAddressPairs"], *port["allowedAddressPairs"][:2]]
        changes = {"lxd-1-port": {"allowedAddressPairs": pairs}}
    diagnostics = analyze("dev", settings, change=changes)
    if reported:
        assert [(d.policy, d.level) for d in diagnostics] == [
            ("address-pairs-need-port-security-and-fit-the-limit", MANDATORY)
        ]
        assert "12 allowed address pairs, over the limit of 10" in diagnostics[0].message
    else:
        assert diagnostics == []


@pytest.mark.parametrize(
    ("resource", "change", "policy"),
    [
        pytest.param(
            "lxd-a-server",
            {"userData": "#" * 50000},
            "user-data-within-nova-limit",
            id="user-data-too-big",
        ),
        pytest.param(
            "lxd-a-port",
            {"portSecurityEnabled": False},
            "address-pairs-need-port-security-and-fit-the-limit",
            id="pairs-without-port-security",
        ),
        pytest.param(
            "lxd-a-port",
            {"allowedAddressPairs": []},
            "lxd-host-port-lets-containers-through",
            id="host-port-blocks-containers",
        ),
        pytest.param(
            "lxd-a-server",
            {"securityGroups": ["default"]},
            "server-on-port-has-no-security-groups",
            id="server-security-groups",
        ),
    ],
)
def test_mandatory_violations_in_prod(
    resource: str, change: dict[str, Any], policy: str, analyze: Analyze
) -> None:
    diagnostics = analyze("prod", change={resource: change})
    assert [(d.resource, d.policy, d.level) for d in diagnostics] == [(resource, policy, MANDATORY)]


# What `pulumi preview` of a new stack does not know yet, as the engine sends it: ids of the new
# group and ports, and a server's user_data, which embeds its new port's MAC. An LxdHost's
# userDataMaxBytes does not depend on the port: it is known.
NEW_STACK_UNKNOWNS = {
    "hosts-members-ipv4": {"remoteGroupId": UNKNOWN, "securityGroupId": UNKNOWN},
    "hosts-ssh-0.0.0.0-0": {"securityGroupId": UNKNOWN},
    **{
        f"lxd-{host}-server": {"userData": UNKNOWN, "networks": [{"port": UNKNOWN}]}
        for host in "abcd"
    },
}


def test_a_new_stack_is_judged_at_preview_with_nothing_left_for_up(analyze: Analyze) -> None:
    """Every rule judges a new stack's resources during the preview: the one violation, and no
    note that a policy could not run (pulumi-policy's proxy used to stop the members rule at its
    unknown group id and the server at its unknown user_data)."""
    diagnostics = analyze("prod", {"sshIngress": ["0.0.0.0/0"]}, change=NEW_STACK_UNKNOWNS)
    assert [(d.resource, d.policy, d.level) for d in diagnostics] == [
        ("hosts-ssh-0.0.0.0-0", "no-world-admin-ingress-in-production", MANDATORY)
    ]


def test_a_hosts_bound_over_novas_limit_fails_the_preview(analyze: Analyze) -> None:
    change = {**NEW_STACK_UNKNOWNS, "lxd-a": {"userDataMaxBytes": 50000}}
    diagnostics = analyze("prod", change=change)
    assert [(d.resource, d.policy, d.level) for d in diagnostics] == [
        ("lxd-a", "user-data-within-nova-limit", MANDATORY)
    ]
    assert (
        "user_data can be up to 66668 bytes base64-encoded (the host's userDataMaxBytes)"
        in diagnostics[0].message
    )


def test_a_hosts_known_user_data_over_novas_limit_fails_up(analyze: Analyze) -> None:
    """At `pulumi up`, once the port exists, the server's own user_data is judged."""
    change = {"lxd-a-server": {"userData": "#" * 50000}}
    diagnostics = analyze("prod", change=change)
    assert [(d.resource, d.policy, d.level) for d in diagnostics] == [
        ("lxd-a-server", "user-data-within-nova-limit", MANDATORY)
    ]
    assert "user_data is 66668 bytes base64-encoded" in diagnostics[0].message


def test_the_pack_serves_its_policies_when_run_as_pulumi_runs_it(stacks: Stacks) -> None:
    """`python -m pulumi.policy ENGINE DIR` from the pack's folder, as Pulumi's language host
    starts a Python policy pack: the pack prints its port and answers the engine's calls."""
    config = stacks.config("prod", sshIngress=["0.0.0.0/0"])
    rule = stacks.run("prod", sshIngress=["0.0.0.0/0"]).named("hosts-ssh-0.0.0.0-0")
    env = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(encode_config(config)),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=POLICY_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "the pack printed no port within 60 s"
        port = int(server.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            analyzer = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == PACK_NAME
            assert {policy.name for policy in info.policies} == {p.name for p in policies()}
            properties = struct_pb2.Struct()
            properties.update(dict(rule.inputs))
            response = analyzer.Analyze(
                proto.AnalyzeRequest(
                    type=rule.type, properties=properties, urn=rule.urn, name=rule.name
                ),
                timeout=30,
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("no-world-admin-ingress-in-production", MANDATORY)
    ]

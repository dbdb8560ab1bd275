"""The offline engine's record of a run, on a program written for it: every field it reads.

Where the SDK's public testing API shows nothing (a registration's parent and resource options,
the exports), the engine reads one SDK surface each; these tests fail if that surface changes.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import pytest

from lxdhost.offline import ProgramRun, run_program
from lxdhost.offline import engine as engine_module

STACK = "unit"
URN = f"urn:pulumi:{STACK}::lxdhost::"
BOX = "test:index:Box"
NETWORK = "test:index:Network"
SUBNET = "test:index:Subnet"
KEY = "test:index:Key"


def declare() -> None:
    """A component with two children, a resource of the stack's own, a lookup and exports."""
    box = pulumi.ComponentResource(BOX, "box")
    key = pulumi.CustomResource(KEY, "key", {"publicKey": "ssh-ed25519 AAAA"})
    network = pulumi.CustomResource(
        NETWORK, "box-network", {"mtu": 1450}, pulumi.ResourceOptions(parent=box)
    )
    lookup = pulumi.runtime.invoke("test:index:getImage", {"name": "ubuntu"})
    subnet = pulumi.CustomResource(
        SUBNET,
        "box-subnet",
        {"networkId": network.id, "cidr": "10.0.0.0/24", "image": lookup.value["name"]},
        pulumi.ResourceOptions(
            parent=box,
            depends_on=[key],
            delete_before_replace=True,
            retain_on_delete=True,
            protect=True,
            import_="subnet-0",
            ignore_changes=["name"],
            replace_on_changes=["cidr"],
        ),
    )
    pulumi.export("networkId", network.id)
    pulumi.export("plan", {"subnets": [subnet.id, "fixed"], "size": 24})
    pulumi.export("nested", network.id.apply(lambda id_: {"id": id_, "again": network.id}))


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(STACK, {}, program=declare)


def test_each_registration_is_recorded_with_its_urn_type_and_parent(run: ProgramRun) -> None:
    by_name = {r.name: r for r in run.resources}
    assert sorted(by_name) == ["box", "box-network", "box-subnet", "key"]
    # The mock monitor's URNs: the stack's own children name its type, the others their parent's.
    assert by_name["box"].urn == f"{URN}pulumi:pulumi:Stack${BOX}::box"
    assert by_name["box-subnet"].urn == f"{URN}{BOX}${SUBNET}::box-subnet"
    assert (by_name["box"].parent, by_name["key"].parent) == (None, None)
    assert by_name["box-network"].parent == by_name["box"].urn
    assert by_name["box-subnet"].parent_name == "box"
    assert [r.custom for r in (by_name["box"], by_name["key"])] == [False, True]


def test_inputs_outputs_and_id_are_what_the_mocks_saw_and_answered(run: ProgramRun) -> None:
    network, subnet = run.named("box-network"), run.named("box-subnet")
    assert network.inputs == {"mtu": 1450}
    assert network.outputs == {"mtu": 1450}  # the cloud mocks' answer for an unknown type
    assert network.id is not None and len(network.id) == 36
    assert subnet.inputs == {"networkId": network.id, "cidr": "10.0.0.0/24", "image": "ubuntu"}
    # An imported resource keeps the id it was imported by.
    assert subnet.id == "subnet-0"
    assert run.named("box").id is None


def test_resource_options_are_recorded(run: ProgramRun) -> None:
    key, network, subnet = run.named("key"), run.named("box-network"), run.named("box-subnet")
    assert subnet.options == {
        "delete_before_replace": True,
        "retain_on_delete": True,
        "protect": True,
        "import_id": "subnet-0",
        "ignore_changes": ["name"],
        "replace_on_changes": ["cidr"],
        # The explicit `depends_on` and the resource its `networkId` comes from.
        "depends_on": sorted([key.urn, network.urn]),
    }
    assert network.options == {
        "delete_before_replace": False,
        "retain_on_delete": False,
        "protect": False,
        "import_id": None,
        "ignore_changes": [],
        "replace_on_changes": [],
        "depends_on": [],
    }


def test_lookups_are_recorded_with_the_mocks_answer(run: ProgramRun) -> None:
    (lookup,) = run.invokes
    assert (lookup.token, lookup.args, lookup.result) == (
        "test:index:getImage",
        {"name": "ubuntu"},
        {"name": "ubuntu"},
    )


def test_exports_are_recorded_with_every_output_in_them_resolved(run: ProgramRun) -> None:
    network_id, subnet_id = run.named("box-network").id, run.named("box-subnet").id
    assert run.exports == {
        "networkId": network_id,
        "plan": {"subnets": [subnet_id, "fixed"], "size": 24},
        "nested": {"id": network_id, "again": network_id},
    }


def test_a_run_starts_from_a_new_stack() -> None:
    first = run_program(STACK, {}, program=declare)
    second = run_program(STACK, {}, program=lambda: pulumi.export("only", "this"))
    assert second.exports == {"only": "this"}
    assert second.resources == [] and second.invokes == []
    assert len(first.resources) == 4


def test_an_error_in_the_program_reaches_the_caller() -> None:
    def refuse() -> None:
        raise pulumi.RunError("lxdhost:cidr: not a CIDR")

    with pytest.raises(pulumi.RunError, match="lxdhost:cidr: not a CIDR"):
        run_program(STACK, {}, program=refuse)


def test_an_error_in_an_apply_reaches_the_caller() -> None:
    def fail(_: Any) -> None:
        raise ValueError("user_data did not render")

    def program() -> None:
        network = pulumi.CustomResource(NETWORK, "network", {"mtu": 1450})
        pulumi.export("broken", network.id.apply(fail))

    with pytest.raises(ValueError, match="user_data did not render"):
        run_program(STACK, {}, program=program)


# --- the SDK surface the engine uses ------------------------------------------------------------


def sdk_names_used(source: str) -> set[str]:
    """Every `pulumi...` module imported and every `pulumi.<name>`/`pulumi.runtime.<name>` used."""
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("pulumi."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi"):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "pulumi":
                names.add(f"pulumi.{node.attr}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner = node.value
            if isinstance(inner.value, ast.Name) and (inner.value.id, inner.attr) == (
                "pulumi",
                "runtime",
            ):
                names.add(f"pulumi.runtime.{node.attr}")
    return names


def test_the_engine_uses_only_the_sdks_public_names_but_its_mock_monitor() -> None:
    used = sdk_names_used(Path(engine_module.__file__).read_text())
    public = {f"pulumi.{name}" for name in pulumi.__all__} | {
        f"pulumi.runtime.{name}" for name in pulumi.runtime.__all__
    }
    # The one class outside the public names: see RecordingMonitor and _registration_options.
    assert used - public == {"pulumi.runtime.mocks.MockMonitor"}
    assert "pulumi.runtime.set_mocks" in used

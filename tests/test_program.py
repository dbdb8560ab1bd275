"""The whole program under Neutron/Nova-like mocks: what each stack declares, wired how.

Every assertion is on values the offline engine recorded from the real `__main__.py`: resource
inputs, the mocks' outputs (a port's `fa:16:3e:…` MAC, its pool address), options and exports.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import lxdhost.host
from lxdhost import tokens
from lxdhost.config import parse_settings
from lxdhost.host import STAND_IN_MACADDRESS
from lxdhost.lookups import provider_reason
from lxdhost.offline import PROJECT_ROOT, CloudMocks, ProgramRun, list_stacks, run_program
from tests.installed import CLOUD_INIT
from tests.stacks import Stacks, stack_config
from userdata import HostSpec

STACKS = list_stacks()
SERVER = tokens.INSTANCE
PORT = tokens.PORT
SUBNET = tokens.SUBNET
RULE = tokens.SEC_GROUP_RULE
FLOATING_IP = tokens.FLOATING_IP


def host_names(run: ProgramRun) -> list[str]:
    return sorted(run.exports["hosts"])


def user_data_by_host(run: ProgramRun) -> dict[str, str]:
    return {name: run.named(f"{name}-server").inputs["userData"] for name in host_names(run)}


@pytest.fixture(scope="module", params=STACKS)
def run(request: pytest.FixtureRequest, stacks: Stacks) -> ProgramRun:
    return stacks.run(request.param)


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        pytest.param(
            "dev",
            {
                tokens.TENANT_NETWORK: 1,
                tokens.NETWORK: 1,
                SUBNET: 1,
                tokens.ROUTER: 1,
                tokens.ROUTER_INTERFACE: 1,
                tokens.HOST_SECURITY_GROUP: 1,
                tokens.SEC_GROUP: 1,
                RULE: 3,  # members, SSH and ICMP from the one office range
                tokens.KEYPAIR: 1,
                tokens.LXD_HOST: 1,
                PORT: 1,
                SERVER: 1,
                FLOATING_IP: 1,
            },
            id="dev-creates-its-network-one-host-floating-ip",
        ),
        pytest.param(
            "prod",
            {
                tokens.TENANT_NETWORK: 1,
                SUBNET: 1,
                tokens.HOST_SECURITY_GROUP: 1,
                tokens.SEC_GROUP: 1,
                RULE: 4,  # members, SSH, ICMP and the LXD API from the bastion
                tokens.LXD_HOST: 4,
                PORT: 4,
                SERVER: 4,
            },
            id="prod-adopts-the-subnet-four-hosts-no-floating-ip",
        ),
    ],
)
def test_stack_declares_these_resources(
    stack: str, expected: Mapping[str, int], stacks: Stacks
) -> None:
    counted: dict[str, int] = {}
    for resource in stacks.run(stack).resources:
        counted[resource.type] = counted.get(resource.type, 0) + 1
    assert counted == expected


@pytest.mark.parametrize("stack", STACKS)
def test_declared_resources_match_the_reviewed_snapshot(
    stack: str, snapshot: Any, stacks: Stacks
) -> None:
    # The whole declaration but the user_data (read back and checked above): a change to any
    # resource, input or option shows up here for review (`pytest --snapshot-update` accepts).
    declared = [
        {
            "type": r.type,
            "name": r.name,
            "parent": r.parent_name,
            "inputs": {key: value for key, value in r.inputs.items() if key != "userData"},
            "options": {key: value for key, value in r.options.items() if value},
        }
        for r in sorted(stacks.run(stack).resources, key=lambda r: r.urn)
    ]
    assert declared == snapshot


def test_every_resource_belongs_to_a_component_and_is_named_after_it(run: ProgramRun) -> None:
    components = {r.urn: r for r in run.resources if not r.custom}
    for resource in run.resources:
        if resource.type == tokens.KEYPAIR or resource.name == "lxd-client-certificate":
            continue  # shared by every host: a child of the stack
        if resource.custom:
            assert resource.parent in components, resource.name
            assert resource.name.startswith(f"{components[resource.parent].name}-")


def test_subnet_pool_is_the_plans_reduced_pool(run: ProgramRun) -> None:
    subnet = run.of_type(SUBNET)[0]
    assert subnet.inputs["allocationPools"] == [run.exports["allocationPool"]]
    pool = run.exports["allocationPool"]
    assert (run.stack, pool) in (
        ("dev", {"start": "192.168.0.2", "end": "192.168.0.20"}),
        ("local", {"start": "192.168.0.2", "end": "192.168.0.20"}),
        ("prod", {"start": "10.20.0.4", "end": "10.20.0.35"}),
        ("scale", {"start": "10.20.0.2", "end": "10.20.0.129"}),
    )


def test_each_port_lets_exactly_its_slots_through_with_their_macs(run: ProgramRun) -> None:
    group = run.of_type(tokens.SEC_GROUP)[0]
    for name in host_names(run):
        port = run.named(f"{name}-port")
        slots = run.exports["hosts"][name]["containerSlots"]
        assert port.inputs["allowedAddressPairs"] == [
            {"ipAddress": slot["ip"], "macAddress": slot["mac"]} for slot in slots.values()
        ]
        assert port.inputs["portSecurityEnabled"] is True
        assert port.inputs["securityGroupIds"] == [group.id]


def test_slot_blocks_are_disjoint_across_hosts(run: ProgramRun) -> None:
    addresses = [
        slot["ip"]
        for name in host_names(run)
        for slot in run.exports["hosts"][name]["containerSlots"].values()
    ]
    assert len(addresses) == len(set(addresses)) == 10 * len(host_names(run))


def test_server_boots_on_its_port_without_groups_of_its_own(run: ProgramRun) -> None:
    for name in host_names(run):
        server, port = run.named(f"{name}-server"), run.named(f"{name}-port")
        assert server.inputs["networks"] == [{"port": port.id}]
        assert "securityGroups" not in server.inputs
        assert server.options["delete_before_replace"] is True


def test_br0_is_pinned_to_its_own_ports_mac(
    run: ProgramRun, read_user_data: Callable[[str], Any]
) -> None:
    for name, text in user_data_by_host(run).items():
        port_mac = run.named(f"{name}-port").outputs["macAddress"]
        assert port_mac.startswith("fa:16:3e:")
        assert read_user_data(text).bridge_macaddress == port_mac


def test_slot_profiles_are_the_plan(
    run: ProgramRun, read_user_data: Callable[[str], Any], stacks: Stacks
) -> None:
    settings = parse_settings(stacks.config(run.stack))
    plan = settings.address_plan
    nameservers = [str(server) for server in settings.network.dns_nameservers]
    for name, text in user_data_by_host(run).items():
        user_data = read_user_data(text)
        profiles = user_data.lxd_profiles
        if settings.lxd.through_api:
            # LXD's API holds them: one resource per slot, the default profile in user_data.
            assert sorted(profiles) == ["default"]
            profiles = profiles | {
                resource.inputs["name"]: resource.inputs
                for resource in run.of_type(tokens.LXD_PROFILE)
                if resource.inputs["host"] == name
            }
        slots = plan.container_slots(name)
        assert sorted(p for p in profiles if p != "default") == [slot.name for slot in slots]
        assert profiles["default"]["devices"]["eth0"]["parent"] == "br0"
        for slot in slots:
            nic = profiles[slot.name]["devices"]["eth0"]
            assert (nic["nictype"], nic["parent"], nic["hwaddr"]) == (
                "bridged",
                "br0",
                slot.mac_address,
            )
            (interface,) = yaml.safe_load(profiles[slot.name]["config"]["user.network-config"])[
                "config"
            ]
            (static,) = interface["subnets"]
            assert interface["mac_address"] == slot.mac_address
            assert static["address"] == f"{slot.ip_address}/{plan.prefix_length}"
            assert static["gateway"] == str(plan.gateway_ip)
            assert static["dns_nameservers"] == nameservers


def test_user_data_is_valid_under_cloud_inits_schema(
    run: ProgramRun,
    read_user_data: Callable[[str], Any],
    cloud_config_validator: Callable[[Mapping[str, Any]], list[str]],
) -> None:
    for name, text in user_data_by_host(run).items():
        assert cloud_config_validator(read_user_data(text).document) == [], name


def test_cloud_init_itself_accepts_the_user_data(run: ProgramRun, tmp_path: Path) -> None:
    for name, text in user_data_by_host(run).items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        checked = CLOUD_INIT.run("schema", "-c", path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Valid cloud-config" in checked.stdout


def test_running_twice_gives_identical_user_data(run: ProgramRun) -> None:
    # A run of its own: the fixture's is shared.
    assert user_data_by_host(run_program(run.stack)) == user_data_by_host(run)


@pytest.mark.parametrize("stack", STACKS)
def test_each_host_is_rendered_once_with_stand_ins_and_once_for_its_server(
    stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The up-front check and the host's userDataMaxBytes need the same stand-in render: the
    # render is the program's costliest step (bench/README.md), so it runs once.
    rendered: list[str | None] = []
    render = lxdhost.host.render_host

    def counted(spec: HostSpec) -> str:
        rendered.append(spec.macaddress)
        return render(spec)

    monkeypatch.setattr(lxdhost.host, "render_host", counted)
    monkeypatch.setattr(lxdhost.host, "_STAND_IN_RENDERS", {})
    run = run_program(stack)
    hosts = host_names(run)
    port_macs = sorted(run.named(f"{name}-port").outputs["macAddress"] for name in hosts)
    assert sorted(m for m in rendered if m != STAND_IN_MACADDRESS) == port_macs
    assert rendered.count(STAND_IN_MACADDRESS) == len(hosts)


# Every resource's inputs, the servers' user_data and the components' own (an LxdHost's
# userDataMaxBytes) among them: the stack keeps them, so a byte that moved between runs would
# show as a change on each preview.
INPUT_DIGESTS = """
import hashlib, json, sys
from lxdhost.offline import run_program
from tests.test_program import input_digests
print(json.dumps(input_digests(run_program(sys.argv[1]))))
"""


def input_digests(run: ProgramRun) -> dict[str, str]:
    return {
        f"{r.type}::{r.name}": hashlib.sha256(
            json.dumps(r.inputs, sort_keys=True).encode()
        ).hexdigest()
        for r in run.resources
    }


@pytest.mark.parametrize("stack", STACKS)
def test_other_processes_declare_the_same_inputs(stack: str, stacks: Stacks) -> None:
    expected = input_digests(stacks.run(stack))
    assert any(key.startswith(f"{tokens.LXD_HOST}::") for key in expected)
    for seed in ("1", "2"):
        # A different hash seed reorders sets and dicts built from them: bytes must not move.
        result = subprocess.run(
            [sys.executable, "-c", INPUT_DIGESTS, stack],
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(
    ("stack", "overrides", "changes_resources"),
    [
        pytest.param("dev", {"floatingIps": False}, True, id="dev-floating-ips-off"),
        pytest.param("dev", {"sshIngress": ["198.51.100.7/32"]}, True, id="dev-other-ssh-range"),
        pytest.param(
            "prod", {"floatingIps": True, "externalNetwork": "public"}, True, id="prod-fips"
        ),
        pytest.param("prod", {"sshIngress": []}, True, id="prod-ssh-closed"),
        # A limit the program checks the slots against (and the policy pack reads): no resource.
        pytest.param("prod", {"maxAddressPairs": 20}, False, id="prod-higher-pair-limit"),
    ],
)
def test_settings_not_about_hosts_change_no_user_data(
    stack: str, overrides: Mapping[str, object], changes_resources: bool, stacks: Stacks
) -> None:
    changed = stacks.run(stack, **overrides)
    assert user_data_by_host(changed) == user_data_by_host(stacks.run(stack))
    assert (declared(changed) != declared(stacks.run(stack))) is changes_resources


def declared(run: ProgramRun) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """What the program declared, by URN: the order of registrations, and so the addresses the
    mocks hand out (outputs), vary from run to run."""
    return sorted(((r.urn, r.inputs, r.options) for r in run.resources), key=lambda d: d[0])


def test_created_subnet_is_plain_and_adopted_subnet_is_imported_kept_and_protected(
    stacks: Stacks,
) -> None:
    created = stacks.run("dev").of_type(SUBNET)[0]
    assert created.options["import_id"] is None
    assert created.options["retain_on_delete"] is False
    adopted = stacks.run("prod").of_type(SUBNET)[0]
    assert adopted.options["import_id"] == stacks.config("prod")["lxdhost:subnetId"]
    assert adopted.options["retain_on_delete"] is True
    assert adopted.options["protect"] is True
    assert "allocationPools" not in adopted.options["ignore_changes"]
    assert {"dnsNameservers", "gatewayIp", "name", "enableDhcp"} <= set(
        adopted.options["ignore_changes"]
    )
    assert adopted.inputs["cidr"] == "10.20.0.0/22"
    getsubnet = [i for i in stacks.run("prod").invokes if i.token.endswith("getSubnet")]
    assert adopted.inputs["networkId"] == getsubnet[0].result["networkId"]


def test_adopt_import_step_imports_the_subnet_unchanged_and_nothing_else(stacks: Stacks) -> None:
    run = stacks.run("prod", adoptStage="import")
    assert sorted(r.type for r in run.resources) == [tokens.TENANT_NETWORK, SUBNET]
    subnet = run.of_type(SUBNET)[0]
    assert "allocationPools" in subnet.options["ignore_changes"]
    assert subnet.options["import_id"] and subnet.options["retain_on_delete"]
    assert list(run.exports) == ["subnetId"], "the import step exports no plan it did not apply"


def test_floating_ip_is_on_the_port_after_the_router_interface(stacks: Stacks) -> None:
    run = stacks.run("dev")
    (floating_ip,) = run.of_type(FLOATING_IP)
    (interface,) = run.of_type(tokens.ROUTER_INTERFACE)
    assert floating_ip.inputs["portId"] == run.named("lxd-1-port").id
    assert floating_ip.inputs["pool"] == "public"
    assert interface.urn in floating_ip.options["depends_on"]
    assert run.exports["sshCommands"]["lxd-1"] == f"ssh ubuntu@{floating_ip.outputs['address']}"


def test_router_gateway_is_the_named_external_network(stacks: Stacks) -> None:
    run = stacks.run("dev")
    (lookup,) = [i for i in run.invokes if i.token.endswith("getNetwork")]
    assert lookup.args == {"name": "public", "external": True}
    router = run.of_type(tokens.ROUTER)[0]
    assert router.inputs["externalNetworkId"] == lookup.result["id"]


def rule_summaries(run: ProgramRun) -> set[tuple[Any, ...]]:
    return {
        (
            r.inputs["direction"],
            r.inputs.get("protocol"),
            r.inputs.get("portRangeMin"),
            r.inputs.get("remoteIpPrefix"),
            "remoteGroupId" in r.inputs,
        )
        for r in run.of_type(RULE)
    }


@pytest.mark.parametrize(
    ("stack", "rules"),
    [
        pytest.param(
            "dev",
            {
                ("ingress", None, None, None, True),
                ("ingress", "tcp", 22, "203.0.113.0/24", False),
                ("ingress", "icmp", None, "203.0.113.0/24", False),
            },
            id="dev-ssh-and-icmp-from-the-office",
        ),
        pytest.param(
            "prod",
            {
                ("ingress", None, None, None, True),
                ("ingress", "tcp", 22, "10.20.3.10/32", False),
                ("ingress", "icmp", None, "10.20.3.10/32", False),
                ("ingress", "tcp", 8443, "10.20.3.10/32", False),
            },
            id="prod-bastion-only-with-lxd-api",
        ),
    ],
)
def test_security_group_opens_only_what_the_stack_lists(
    stack: str, rules: set[tuple[Any, ...]], stacks: Stacks
) -> None:
    assert rule_summaries(stacks.run(stack)) == rules


def test_ssh_from_anywhere_only_when_listed(stacks: Stacks) -> None:
    run = stacks.run("dev", sshIngress=["0.0.0.0/0"])
    assert ("ingress", "tcp", 22, "0.0.0.0/0", False) in rule_summaries(run)
    closed = stacks.run("dev", sshIngress=[])
    assert rule_summaries(closed) == {("ingress", None, None, None, True)}


def test_port_security_off_drops_pairs_and_groups(stacks: Stacks) -> None:
    run = stacks.run("dev", containerAccess="port-security-off")
    port = run.named("lxd-1-port")
    assert port.inputs["portSecurityEnabled"] is False
    assert port.inputs["noSecurityGroups"] is True
    assert "allowedAddressPairs" not in port.inputs
    assert "securityGroupIds" not in port.inputs
    assert not run.of_type(tokens.SEC_GROUP)


def test_boot_volume_is_made_from_the_looked_up_image(stacks: Stacks) -> None:
    run = stacks.run("prod")
    (lookup,) = [i for i in run.invokes if i.token.endswith("getImage")]
    for name in host_names(run):
        server = run.named(f"{name}-server")
        assert "imageName" not in server.inputs
        (volume,) = server.inputs["blockDevices"]
        assert volume["uuid"] == lookup.result["id"]
        assert (volume["sourceType"], volume["destinationType"]) == ("image", "volume")
        assert volume["volumeSize"] == 80


def test_without_a_boot_volume_the_server_boots_the_image_by_name(stacks: Stacks) -> None:
    server = stacks.run("dev").named("lxd-1-server")
    assert server.inputs["imageName"] == "ubuntu-24.04-server-cloudimg-amd64"
    assert "blockDevices" not in server.inputs


def test_uploaded_public_key_becomes_the_servers_key_pair(stacks: Stacks) -> None:
    run = stacks.run("dev")
    (key_pair,) = run.of_type(tokens.KEYPAIR)
    assert key_pair.inputs["publicKey"] == stacks.config("dev")["lxdhost:publicKey"]
    assert run.named("lxd-1-server").inputs["keyPair"] == key_pair.outputs["name"] == "lxdhost-dev"
    assert stacks.run("prod").named("lxd-a-server").inputs["keyPair"] == "ops-2026"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        pytest.param({"distro": "debian"}, "hwaddress ether", id="debian-ifupdown"),
        pytest.param(
            {"distro": "debian", "hostNetwork": "netplan"}, "netplan.io", id="debian-netplan"
        ),
        pytest.param({"distro": "debian", "lxdInit": "module"}, "/etc/lxd-profiles/", id="module"),
        pytest.param({"mtu": 1400}, "mtu: 1400", id="explicit-mtu-reaches-the-host"),
    ],
)
def test_host_options_reach_the_user_data(
    overrides: Mapping[str, object],
    fragment: str,
    read_user_data: Callable[[str], Any],
    stacks: Stacks,
) -> None:
    run = stacks.run("dev", **overrides)
    text = run.named("lxd-1-server").inputs["userData"]
    assert fragment in text
    assert fragment not in stacks.run("dev").named("lxd-1-server").inputs["userData"]
    assert read_user_data(text).bridge_macaddress == run.named("lxd-1-port").outputs["macAddress"]
    assert sorted(read_user_data(text).lxd_profiles)[-1] == "slot-10"


def test_containers_take_the_networks_mtu_unless_the_stack_sets_one(
    read_user_data: Callable[[str], Any], stacks: Stacks
) -> None:
    network_mtu = stacks.run("dev").of_type(tokens.NETWORK)[0]
    text = stacks.run("dev").named("lxd-1-server").inputs["userData"]
    (interface,) = read_user_data(text).slot_network_config("slot-01")["config"]
    assert interface["mtu"] == network_mtu.outputs["mtu"] == 1450


def test_exports_the_plan_and_an_ssh_command_per_host(stacks: Stacks) -> None:
    run = stacks.run("prod")
    assert run.exports["subnetId"] == stacks.config("prod")["lxdhost:subnetId"]
    assert run.exports["reservedRange"] == {"start": "10.20.0.36", "end": "10.20.3.254"}
    assert run.exports["sshCommands"] == {
        name: f"ssh ubuntu@{run.exports['hosts'][name]['fixedIp']}" for name in host_names(run)
    }
    assert run.exports["hosts"]["lxd-b"]["containerSlots"]["slot-01"] == {
        "ip": "10.20.0.46",
        "mac": "0a:4c:0a:14:00:2e",
    }


def test_each_existing_server_is_looked_up_once_and_a_running_one_warns_nothing(
    stacks: Stacks,
) -> None:
    run = stacks.run("prod")
    lookups = [i for i in run.invokes if i.token == tokens.GET_INSTANCE]
    assert sorted(i.args["id"] for i in lookups) == sorted(
        run.named(f"{name}-server").id for name in host_names(run)
    )
    assert run.warnings == []
    assert {
        name: host["serverStatus"] for name, host in run.exports["hosts"].items()
    } == dict.fromkeys(host_names(run), "ACTIVE")


@pytest.mark.parametrize(
    ("status", "command"),
    [
        pytest.param("SHUTOFF", "server start", id="shutoff-start-it"),
        pytest.param("ERROR", "server delete", id="error-delete-then-refresh"),
    ],
)
def test_a_host_not_running_is_named_with_what_to_run(status: str, command: str) -> None:
    run = run_program("prod", stack_config("prod"), mocks=CloudMocks({"lxd-c": status}))
    server = run.named("lxd-c-server")
    (warning,) = run.warnings
    assert warning.startswith(f"LXD host lxd-c is down: its server {server.id} is")
    assert f"`openstack --os-cloud production {command} {server.id}`" in warning
    assert run.exports["hosts"]["lxd-c"]["serverStatus"] == status
    assert run.exports["hosts"]["lxd-a"]["serverStatus"] == "ACTIVE"


def test_read_from_the_refreshed_state_no_server_is_looked_up(stacks: Stacks) -> None:
    run = run_program("prod", stack_config("prod", serverStatusRead="refreshed"))
    assert [i for i in run.invokes if i.token == tokens.GET_INSTANCE] == []
    assert run.warnings == []
    assert {
        name: host["serverStatus"] for name, host in run.exports["hosts"].items()
    } == dict.fromkeys(host_names(run), "ACTIVE")
    # The same resources, with the same inputs, as the stack that reads Nova.
    assert {r.urn: r.inputs for r in run.resources} == {
        r.urn: r.inputs for r in stacks.run("prod").resources
    }


def test_read_from_the_refreshed_state_a_server_stored_in_error_is_named() -> None:
    # The mocks store the status as a refresh would: `powerState` "error" on lxd-c's server.
    run = run_program(
        "prod",
        stack_config("prod", serverStatusRead="refreshed"),
        mocks=CloudMocks({"lxd-c": "ERROR"}),
    )
    server = run.named("lxd-c-server")
    assert [i for i in run.invokes if i.token == tokens.GET_INSTANCE] == []
    (warning,) = run.warnings
    assert warning.startswith(f"LXD host lxd-c is down: its server {server.id} is in ERROR")
    assert f"`openstack --os-cloud production server delete {server.id}`" in warning
    assert run.exports["hosts"]["lxd-c"]["serverStatus"] == "ERROR"
    assert run.exports["hosts"]["lxd-a"]["serverStatus"] == "ACTIVE"


def test_a_host_in_error_is_told_the_replace_and_the_refresh() -> None:
    run = run_program("local", stack_config("local"), mocks=CloudMocks({"lxd-1": "ERROR"}))
    (warning,) = run.warnings
    assert f"`pulumi up --replace '{run.named('lxd-1-server').urn}'`" in warning
    assert "`pulumi up --refresh`" in warning


def test_a_status_the_lookup_refuses_is_still_named_and_the_program_goes_on(
    stacks: Stacks,
) -> None:
    # The data source fails on REBOOT, SUSPENDED and others outside its list: the failure is a
    # warning, and every resource is still declared.
    run = run_program("dev", stack_config("dev"), mocks=CloudMocks({"lxd-1": "SUSPENDED"}))
    (warning,) = run.warnings
    assert "SUSPENDED" in warning and "server resume" in warning
    assert run.exports["hosts"]["lxd-1"]["serverStatus"] == "SUSPENDED"
    assert sorted(r.urn for r in run.resources) == sorted(
        r.urn for r in stacks.run("dev").resources
    )


class CountingMocks(CloudMocks):
    """The cloud mocks, counting every resource the program asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: list[str] = []

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.registered.append(args.name)
        return super().new_resource(args)


BAD_STACKS = [
    pytest.param({"image": None}, "lxdhost:image: required", id="no-image"),
    pytest.param({"cidr": "10.0.0.0/29"}, "lxdhost:dhcpPoolSize:", id="pool-outgrows-cidr"),
    pytest.param({"cidr": "fd00::/64"}, "lxdhost:cidr: fd00::/64 is IPv6", id="ipv6"),
    pytest.param(
        {"cidr": "192.168.0.0/27", "hostCount": 2},
        "lxdhost:slotsPerHost: 2 host(s) x 10 slot(s) need 20",
        id="slots-do-not-fit",
    ),
    pytest.param({"hostCount": 30}, "lxdhost:dhcpPoolSize:", id="pool-misses-hosts"),
    pytest.param({"slotsPerHost": 12}, "lxdhost:slotsPerHost: 12 slots", id="over-pair-limit"),
    pytest.param({"sshIngress": "0.0.0.0/0"}, "lxdhost:sshIngress: expected a list", id="scalar"),
    pytest.param({"networkMode": "adopt"}, "lxdhost:subnetId: required", id="adopt-no-subnet"),
    pytest.param({"externalNetwork": ""}, "lxdhost:externalNetwork: required", id="no-gateway"),
    pytest.param({"hostname": "web"}, "lxdhost:hostname: unknown key (did you", id="typo"),
    pytest.param({"publicKey": "AAAA"}, "lxdhost:publicKey: not an OpenSSH", id="bad-key"),
    pytest.param({"floatingIps": "maybe"}, "lxdhost:floatingIps: expected true", id="bool"),
    pytest.param(
        {"containerAccess": "port-security-off", "slotsPerHost": 100, "cidr": "10.0.0.0/22"},
        "over Nova's limit of 65535",
        id="user-data-over-novas-limit",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_STACKS)
def test_bad_stack_is_refused_naming_its_key_before_any_resource(
    overrides: Mapping[str, object], message: str, stacks: Stacks
) -> None:
    mocks = CountingMocks()
    with pytest.raises(pulumi.RunError) as caught:
        run_program("dev", stacks.config("dev", **overrides), mocks=mocks)
    assert message in str(caught.value)
    assert mocks.registered == []


def mostly(valid: list[Any], invalid: list[Any]) -> st.SearchStrategy[Any]:
    """Valid values four times as often as invalid ones, so both outcomes are exercised."""
    return st.sampled_from(valid * 4 + invalid)


@st.composite
def stack_configs(draw: st.DrawFn) -> dict[str, Any]:
    """dev's stack with host and network keys drawn at random, mostly valid."""
    config: dict[str, Any] = stack_config("dev")
    prefix = draw(st.integers(min_value=22, max_value=30))
    config["lxdhost:cidr"] = draw(mostly([f"10.9.0.0/{prefix}"], [f"10.9.0.1/{prefix}"]))
    config["lxdhost:hostCount"] = draw(mostly([1, 2, 3, 5], [0]))
    config["lxdhost:slotsPerHost"] = draw(mostly([1, 4, 10], [0, 14]))
    config["lxdhost:dhcpPoolSize"] = draw(mostly([6, 19], [2]))
    config["lxdhost:containerAccess"] = draw(
        mostly(["address-pairs", "port-security-off"], ["open"])
    )
    config["lxdhost:distro"] = draw(st.sampled_from(["ubuntu", "debian"]))
    config["lxdhost:lxdInit"] = draw(st.sampled_from(["preseed", "module"]))
    config["lxdhost:floatingIps"] = draw(st.booleans())
    config["lxdhost:sshIngress"] = draw(
        st.lists(mostly(["0.0.0.0/0", "198.51.100.0/24"], ["198.51.100.1/24"]), max_size=3)
    )
    return config


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(stack_configs())
def test_any_stack_builds_consistently_or_is_refused_before_any_resource(
    config: dict[str, Any],
) -> None:
    mocks = CountingMocks()
    try:
        run = run_program("dev", config, mocks=mocks)
    except pulumi.RunError as error:
        lines = str(error).splitlines()[1:]
        assert lines, "a refusal names at least one key"
        assert all(line.startswith("  lxdhost:") for line in lines), lines
        assert mocks.registered == []
        event("refused")
        return
    event("built")
    pairs_mode = config["lxdhost:containerAccess"] == "address-pairs"
    for name in host_names(run):
        port = run.named(f"{name}-port")
        slots = run.exports["hosts"][name]["containerSlots"]
        assert len(slots) == config["lxdhost:slotsPerHost"]
        assert port.inputs["portSecurityEnabled"] is pairs_mode
        if pairs_mode:
            assert [p["macAddress"] for p in port.inputs["allowedAddressPairs"]] == [
                slot["mac"] for slot in slots.values()
            ]


class LookupRefused(CloudMocks):
    """The cloud as a machine without the stack's cloud sees it: one data source fails."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        if args.token == self.token:
            return {}, [("", "unable to load clouds.yaml: no clouds.yml file found")]
        return super().call(args)


@pytest.mark.parametrize(
    ("stack", "token", "names"),
    [
        pytest.param(
            "dev", "openstack:networking/getNetwork:getNetwork",
            "the external network 'public' (lxdhost:externalNetwork)", id="external-network",
        ),
        pytest.param(
            "prod", "openstack:networking/getSubnet:getSubnet",
            "the subnet to adopt", id="adopted-subnet",
        ),
        pytest.param(
            "prod", "openstack:images/getImage:getImage",
            "(lxdhost:image) could not be looked up", id="boot-volume-image",
        ),
    ],
)  # fmt: skip
def test_a_lookup_the_cloud_refuses_ends_the_program_with_one_error_naming_its_keys(
    stack: str, token: str, names: str
) -> None:
    # Under the real CLI this was a Python traceback ("Program failed with an unhandled
    # exception") on any machine whose clouds.yaml lacked the stack's cloud.
    with pytest.raises(pulumi.RunError) as caught:
        run_program(stack, mocks=LookupRefused(token))
    (message,) = str(caught.value).splitlines()
    assert names in message
    assert "on the stack's cloud (openstack:cloud)" in message
    assert "unable to load clouds.yaml: no clouds.yml file found" in message


# What the provider's getNetwork failed with, word for word, under the real CLI on a machine
# with no clouds.yaml.
PROVIDER_FAILURE = (
    "invoke of openstack:networking/getNetwork:getNetwork failed: invocation of "
    "openstack:networking/getNetwork:getNetwork returned an error: 1 error occurred:\n"
    "\t* unable to load clouds.yaml: no clouds.yml file found: file does not exist\n\n"
)


def test_the_providers_reason_is_kept_without_the_sdks_preamble() -> None:
    assert provider_reason(PROVIDER_FAILURE) == (
        "unable to load clouds.yaml: no clouds.yml file found: file does not exist"
    )
    assert provider_reason("connection refused\n") == "connection refused"


def test_a_host_that_keeps_another_image_than_lxdhost_image_is_noted() -> None:
    # As a refresh stores it: lxd-1's server booted an image Glance now names 'ubuntu-22.04'.
    mocks = CloudMocks(server_images={"lxd-1": "ubuntu-22.04"})
    run = run_program("local", stack_config("local", hostCount=2), mocks=mocks)
    (note,) = run.infos
    assert note.startswith("LXD host lxd-1 keeps the image it booted from, 'ubuntu-22.04';")
    assert f"lxdhost:image names {stack_config('local')['lxdhost:image']!r}" in note
    assert "docs/troubleshooting.md#re-uploading-the-hosts-image" in note
    assert run.warnings == []
    # The image the program gives: nothing to say.
    assert run_program("local", stack_config("local")).infos == []


@pytest.mark.parametrize(
    ("overrides", "kept"),
    [
        # The provider's name for an image Glance no longer has: nothing to name.
        pytest.param({}, "Image not found", id="image-deleted"),
        # With `replace`, the preview shows the server's replacement instead.
        pytest.param({"imageUpdates": "replace"}, "ubuntu-22.04", id="replace"),
    ],
)
def test_no_note_where_there_is_no_other_image_to_name(
    overrides: dict[str, object], kept: str
) -> None:
    mocks = CloudMocks(server_images={"lxd-1": kept})
    assert run_program("local", stack_config("local", **overrides), mocks=mocks).infos == []

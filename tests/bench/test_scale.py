"""bench/scale.py's own arithmetic and checks, offline: no cloud, no Pulumi CLI.

The cloud's log lines are the shapes the local cloud's Nova and Neutron write; the engine's events
are built from the JSON the CLI writes to its event log; every expected figure is worked out by
hand from the inputs next to it.
"""

from __future__ import annotations

import ast
from datetime import datetime
from ipaddress import IPv4Address
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import scale
from pulumi import automation as auto

from lxdhost.config import parse_settings
from lxdhost.offline import encode_config, read_stack_config, run_program

BASE = read_stack_config("scale")


# ---- stack `scale` and its sizes


def test_stack_scale_is_the_committed_one_with_n_hosts() -> None:
    config = scale.scale_config(BASE, 7)
    assert config["lxdhost:hostCount"] == "7"
    assert config["lxdhost:flavor"] == "lxd.fake"
    assert {key: value for key, value in config.items() if key != "lxdhost:hostCount"} == {
        key: value for key, value in BASE.items() if key != "lxdhost:hostCount"
    }


def test_50_and_100_hosts_fit_with_the_change_steps_host() -> None:
    assert scale.size_problems(BASE, [1, 10, 25, 50, 100]) == []
    plan = parse_settings(encode_config(scale.scale_config(BASE, 101))).address_plan
    # The pool: 10.20.0.2 and the 127 addresses after it. The slots start after it, at
    # 10.20.0.130; lxd-100's are the 991st to the 1000th, 10.20.0.130 + 990 = 10.20.4.96 (1120 =
    # 4 x 256 + 96) to 10.20.4.105.
    assert str(plan.allocation_pool) == "10.20.0.2-10.20.0.129"
    slots = plan.container_slots("lxd-100")
    assert (slots[0].ip_address, slots[-1].ip_address) == (
        IPv4Address("10.20.4.96"),
        IPv4Address("10.20.4.105"),
    )


def test_a_size_whose_change_step_overflows_the_pool_is_refused() -> None:
    # A pool of 128 addresses holds Neutron's DHCP port and 127 hosts: 126, plus the change
    # step's host, fit; 127 plus one do not.
    assert scale.size_problems(BASE, [126]) == []
    problems = scale.size_problems(BASE, [127])
    assert len(problems) == 1
    assert problems[0].startswith("127 hosts (+1 in the change step): lxdhost:dhcpPoolSize: ")
    assert "cannot serve 128 host(s)" in problems[0]


def test_quotas_below_the_largest_size_are_named() -> None:
    limits = {"instances": 10, "cores": -1, "ram": None, "ports": 60}
    needed = {"instances": 51, "cores": 51, "ram": 1000, "ports": 53}
    assert scale.quota_problems(limits, needed) == [
        "instances: the project's quota is 10, the largest size needs 51"
    ]


# ---- the cloud's API logs

RESET = "\x1b[00m"
NOVA_LINE = (
    "2026-12-03 22:55:06.761 12627 INFO nova.api.openstack.requestlog [None req-9e86fa60 3b10 "
    '3535 - - default default] 127.0.0.1 "GET /v2.1/os-services?binary=nova-compute" status: '
    "200 len: 16 microversion: 2.69 time: 4.966579" + RESET
)
NEUTRON_LINE = (
    "2026-12-03 22:55:25.309 12900 INFO neutron.wsgi [req-89563042 req-02a1e057 e694 d448 - - "
    'default default] 127.0.0.1 "GET /v2.0/agents HTTP/1.1" status: 200  len: 2558 time: '
    "0.9540093" + RESET
)


def test_a_nova_request_line() -> None:
    request = scale.parse_api_line(NOVA_LINE)
    assert request == scale.ApiRequest(
        at=datetime(2026, 12, 3, 22, 55, 6, 761000),
        method="GET",
        target="/v2.1/os-services?binary=nova-compute",
        status=200,
        seconds=4.966579,
    )
    assert request.kind == "GET /v2.1/os-services?binary"


def test_a_neutron_request_line_ending_in_a_colour_reset() -> None:
    request = scale.parse_api_line(NEUTRON_LINE)
    assert request is not None
    assert (request.at, request.method, request.target) == (
        datetime(2026, 12, 3, 22, 55, 25, 309000),
        "GET",
        "/v2.0/agents",
    )
    assert (request.status, request.seconds) == (200, 0.9540093)


@pytest.mark.parametrize(
    "line",
    [
        "2026-12-03 22:55:25.309 12900 INFO neutron.wsgi [-] (12900) accepted ('127.0.0.1', 4000)",
        '2026-12-03 22:55:25.310 12900 DEBUG neutron.api "GET" handled in 0.1',
        "",
    ],
)
def test_other_lines_are_no_request(line: str) -> None:
    assert scale.parse_api_line(line) is None


@pytest.mark.parametrize(
    ("method", "target", "kind"),
    [
        ("DELETE", "/v2.0/ports/6f0c6d1e-1b7a-4c1e-9d2b-0c7e2f1a3b4c", "DELETE /v2.0/ports/{id}"),
        (
            "GET",
            "/v2.1/servers/40d3152b-7240-40aa-9ba1-50ca27fb9b4b/os-interface",
            "GET /v2.1/servers/{id}/os-interface",
        ),
        (
            "GET",
            "/v2.0/networks/e8931a7d-c2f5-4aac-8046-48bca571d5f2"
            "?fields=provider%3Aphysical_network&fields=provider%3Anetwork_type",
            "GET /v2.0/networks/{id}?fields",
        ),
        (
            "GET",
            "/v2.0/ports?network_id=e8931a7d-c2f5-4aac-8046-48bca571d5f2&device_owner=network%3Adhcp",
            "GET /v2.0/ports?network_id&device_owner",
        ),
        ("GET", "/v2.1/flavors/1", "GET /v2.1/flavors/{id}"),
        ("GET", "/v2.1/35359af008104d4b83ab766e4c2fb0c5/servers", "GET /v2.1/{id}/servers"),
        ("GET", "/v2.1/os-keypairs/lxdhost-local", "GET /v2.1/os-keypairs/lxdhost-local"),
    ],
)
def test_request_kinds_replace_ids_and_keep_parameter_names(
    method: str, target: str, kind: str
) -> None:
    assert scale.request_kind(method, target) == kind


def nova(stamp: str, request: str, seconds: float) -> str:
    return (
        f"2026-12-03 {stamp} 1 INFO nova.api.openstack.requestlog [None req-1 u p - - default "
        f'default] 127.0.0.1 "{request}" status: 200 len: 1 microversion: 2.1 time: {seconds}'
        + RESET
    )


SERVER_1 = "/v2.1/servers/40d3152b-7240-40aa-9ba1-50ca27fb9b4b"
SERVER_2 = "/v2.1/servers/50d3152b-7240-40aa-9ba1-50ca27fb9b4b"
STEP_LINES = [
    nova("09:59:59.000", "GET /v2.1/flavors/detail", 8.0),  # before the step
    nova("10:00:00.500", "POST /v2.1/servers", 1.5),
    nova("10:00:01.000", f"GET {SERVER_1}", 0.25),
    nova("10:00:02.000", f"GET {SERVER_2}", 0.25),
    nova("10:00:03.000", "GET /v2.1/flavors/b090101a-63be-4720-a55f-39a9d90b0531", 0.125),
    nova("10:00:04.000", "GET /v2.1/os-keypairs/k", 0.5),
    nova("10:00:09.000", "POST /v2.1/servers", 3.0),  # after it
]
STEP_START, STEP_END = datetime(2026, 12, 3, 10, 0, 0), datetime(2026, 12, 3, 10, 0, 5)


def test_a_steps_requests_their_time_and_the_kinds_that_took_most() -> None:
    requests = [scale.parse_api_line(line) for line in STEP_LINES]
    figures = scale.api_figures(filter(None, requests), STEP_START, STEP_END)
    # Five requests in the window: 1.5 + 0.25 + 0.25 + 0.125 + 0.5 seconds. The two server reads
    # are one kind, 0.5 s, level with the key pair's read: the name decides.
    assert figures == scale.ApiFigures(
        requests=5,
        seconds=2.625,
        top=(
            ("POST /v2.1/servers", 1, 1.5),
            ("GET /v2.1/os-keypairs/k", 1, 0.5),
            ("GET /v2.1/servers/{id}", 2, 0.5),
        ),
    )


def test_the_logs_are_read_from_where_they_stood_when_the_step_began(tmp_path: Path) -> None:
    log = tmp_path / "nova-api.log"
    log.write_text(STEP_LINES[1] + "\n")  # in the window, but logged before the mark
    logs = scale.CloudLogs(tmp_path)
    mark = logs.mark()
    with log.open("a") as appended:
        appended.write("\n".join(STEP_LINES[2:]) + "\n")
    figures = logs.figures(mark, STEP_START.timestamp(), STEP_END.timestamp())
    nova_figures = figures["Nova"]
    assert nova_figures is not None
    assert (nova_figures.requests, nova_figures.seconds) == (4, 1.125)
    assert figures["Neutron"] is None  # no neutron-server.log
    assert logs.missing() == [str(tmp_path / "neutron-server.log")]


# ---- the engine's events

PORT = "openstack:networking/port:Port"
PROVIDER = "urn:pulumi:scale::lxdhost::pulumi:providers:openstack::default_5_5_1::1e2f"


def engine_event(key: str, op: str, urn: str, type_: str, provider: str, **states: Any) -> Any:
    return auto.EngineEvent.from_json(
        {
            "sequence": 1,
            "timestamp": 1796338506,
            key: {
                "metadata": {"op": op, "urn": urn, "type": type_, "provider": provider, **states}
            },
        }
    )


def test_the_events_read_from_the_engine() -> None:
    port = "urn:pulumi:scale::lxdhost::lxdhost:index:LxdHost$openstack:networking/port:Port::p"
    created = engine_event("resourcePreEvent", "create", port, PORT, PROVIDER,
                           new={"type": PORT, "urn": port, "custom": True})  # fmt: skip
    assert scale.step_event(created, 1.5) == scale.StepEvent(1.5, "pre", port, PORT, True)
    # A delete carries the old state only.
    deleted = engine_event("resOutputsEvent", "delete", port, PORT, PROVIDER,
                           old={"type": PORT, "urn": port, "custom": True})  # fmt: skip
    assert scale.step_event(deleted, 2.0) == scale.StepEvent(2.0, "outputs", port, PORT, True)
    host = "urn:pulumi:scale::lxdhost::lxdhost:index:LxdHost::lxd-1"
    component = engine_event("resourcePreEvent", "create", host, "lxdhost:index:LxdHost", "")
    assert scale.step_event(component, 0.5) == scale.StepEvent(
        0.5, "pre", host, "lxdhost:index:LxdHost", False
    )
    failed = auto.EngineEvent.from_json(
        {"sequence": 2, "timestamp": 0, "resOpFailedEvent": {
            "metadata": {"op": "create", "urn": port, "type": PORT, "provider": PROVIDER},
            "status": 1, "steps": 1}}
    )  # fmt: skip
    assert scale.step_event(failed, 3.0) == scale.StepEvent(3.0, "failed", port, PORT, True)
    message = auto.EngineEvent.from_json(
        {"sequence": 3, "timestamp": 0, "diagnosticEvent": {"message": "m", "color": "never",
                                                            "severity": "info"}}
    )  # fmt: skip
    assert scale.step_event(message, 4.0) is None


def urn(name: str) -> str:
    return f"urn:pulumi:scale::lxdhost::openstack:any::{name}"


def timed(name: str, start: float, end: float) -> list[scale.StepEvent]:
    return [
        scale.StepEvent(start, "pre", urn(name), PORT, True),
        scale.StepEvent(end, "outputs", urn(name), PORT, True),
    ]


STACK = "pulumi:pulumi:Stack"
TENANT = "lxdhost:index:TenantNetwork"
# An `up` of a one-host stack, times in seconds from the step's start.
UP_EVENTS = [
    scale.StepEvent(0.5, "pre", f"urn:pulumi:scale::lxdhost::{STACK}::s", STACK, False),
    scale.StepEvent(0.6, "pre", f"urn:pulumi:scale::lxdhost::{TENANT}::tenant", TENANT, False),
    *timed("network", 1.0, 3.0),
    *timed("group", 1.0, 1.5),
    *timed("router", 1.0, 2.0),
    *timed("subnet", 3.0, 5.0),
    *timed("interface", 5.0, 7.0),
    *timed("port", 5.0, 6.0),
    *timed("server", 6.0, 16.0),
]  # fmt: skip
WAITS_FOR = {
    urn("subnet"): (urn("network"),),
    urn("interface"): (urn("router"), urn("subnet")),
    urn("port"): (urn("network"), urn("subnet"), urn("group")),
    urn("server"): (urn("port"), urn("network")),
}


def test_an_ups_registrations_provider_time_and_critical_path() -> None:
    figures = scale.event_figures(sorted(UP_EVENTS, key=lambda event: event.at), WAITS_FOR)
    assert figures.steps == 9  # the stack, the component and seven cloud resources
    assert (figures.first_registration, figures.last_registration) == (0.5, 6.0)
    # 2 + 0.5 + 1 + 2 + 2 + 1 + 10
    assert (figures.provider_sum, figures.provider_max) == (18.5, 10.0)
    # The server ended last; of what it waited for the port ended last, of the port's the
    # subnet, of the subnet's the network, which waited for nothing.
    assert figures.critical == (("network", 2.0), ("subnet", 2.0), ("port", 1.0), ("server", 10.0))
    assert figures.critical_seconds == 15.0


def test_a_destroy_waits_for_what_depends_on_each_resource() -> None:
    dependents = scale.dependents(WAITS_FOR)
    assert dependents == {
        urn("network"): (urn("port"), urn("server"), urn("subnet")),
        urn("router"): (urn("interface"),),
        urn("subnet"): (urn("interface"), urn("port")),
        urn("group"): (urn("port"),),
        urn("port"): (urn("server"),),
    }
    events = [
        *timed("server", 0.0, 5.0),
        *timed("interface", 0.0, 2.0),
        *timed("router", 2.0, 3.0),
        *timed("port", 5.0, 6.0),
        *timed("group", 6.0, 6.5),
        *timed("subnet", 6.0, 7.0),
        *timed("network", 7.0, 8.0),
    ]
    figures = scale.event_figures(sorted(events, key=lambda event: event.at), dependents)
    assert [name for name, _ in figures.critical] == ["server", "port", "subnet", "network"]


def test_a_replacements_steps_add_up_and_a_failure_ends_a_step() -> None:
    events = [
        scale.StepEvent(1.0, "pre", urn("server"), PORT, True),
        scale.StepEvent(2.0, "outputs", urn("server"), PORT, True),
        scale.StepEvent(1.0, "pre", urn("port"), PORT, True),
        scale.StepEvent(3.0, "failed", urn("port"), PORT, True),
        scale.StepEvent(4.0, "pre", urn("server"), PORT, True),
        scale.StepEvent(7.0, "outputs", urn("server"), PORT, True),
        # The CLI's default provider is the engine's, not a cloud resource.
        scale.StepEvent(0.1, "pre", PROVIDER, "pulumi:providers:openstack", True),
        scale.StepEvent(0.9, "outputs", PROVIDER, "pulumi:providers:openstack", True),
    ]
    assert scale.provider_intervals(sorted(events, key=lambda event: event.at)) == {
        urn("server"): scale.Interval(start=1.0, end=7.0, seconds=4.0),
        urn("port"): scale.Interval(start=1.0, end=3.0, seconds=2.0),
    }


def test_what_a_resource_waited_for_comes_from_the_stacks_state() -> None:
    state: list[dict[str, Any]] = [
        {"urn": urn("network"), "type": "t"},
        {"urn": urn("subnet"), "dependencies": [urn("network")]},
    ]
    assert scale.dependencies(state) == {urn("network"): (), urn("subnet"): (urn("network"),)}


# ---- memory


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (["/work/main/venv/bin/pulumi", "--non-interactive", "up", "--yes"], "cli"),
        (
            ["/work/main/venv/pulumi-home/plugins/resource-openstack-v5.5.1/"
             "pulumi-resource-openstack", "127.0.0.1:40157"],
            "provider",
        ),
        (
            ["/work/main/venv/bin/python", "-u", "/work/main/venv/bin/pulumi-language-python-exec",
             "--monitor", "127.0.0.1:40001", "--project", "lxdhost", "/tmp/checkout"],
            "program",
        ),
        (["/work/main/venv/bin/pulumi-language-python", "-root=/tmp/checkout"], None),
        (["/usr/bin/python3", "-c", "import pulumi"], None),
        ([], None),
    ],
)  # fmt: skip
def test_process_roles(cmdline: list[str], role: str | None) -> None:
    assert scale.process_role(cmdline) == role


def test_the_tree_below_a_process() -> None:
    parents = {10: 1, 11: 10, 12: 11, 13: 10, 20: 1, 21: 20}
    assert scale.tree_below(parents, 10) == [11, 12, 13]
    assert scale.tree_below(parents, 12) == []


def test_memory_from_proc_status() -> None:
    status = "Name:\tpulumi\nVmPeak:\t 2000000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t   81920 kB\n"
    assert scale.memory_kib(status) == (81920, 153600)
    assert scale.memory_kib("Name:\tkthreadd\nState:\tS (sleeping)\n") is None


def test_peak_rss_by_role() -> None:
    samples = [
        [
            scale.ProcessSample(1, "cli", 102400, 102400),
            scale.ProcessSample(3, "provider", 51200, 51200),
        ],
        [
            # The CLI peaked at 150 MiB between the two samples: its VmHWM says so.
            scale.ProcessSample(1, "cli", 81920, 153600),
            # Two providers at once: 50 + 30 MiB.
            scale.ProcessSample(3, "provider", 51200, 51200),
            scale.ProcessSample(4, "provider", 30720, 30720),
        ],
    ]
    assert scale.peak_mib(samples) == {"cli": 150.0, "provider": 80.0}


# ---- the bare program


def test_a_user_data_template_marks_the_mac_and_every_mtu() -> None:
    text = "macaddress: fa:16:3e:00:00:01\nmtu: 7919\nconfig: \"mtu: '7919'\"\n"
    assert scale.user_data_template(text, "fa:16:3e:00:00:01", 7919) == (
        "macaddress: @@PORT_MAC@@\nmtu: @@NETWORK_MTU@@\nconfig: \"mtu: '@@NETWORK_MTU@@'\"\n"
    )
    with pytest.raises(scale.BenchError, match="port's MAC fa:16:3e:00:00:02"):
        scale.user_data_template(text, "fa:16:3e:00:00:02", 7919)


def test_ids_the_mocks_gave_become_references() -> None:
    references = {
        "id-net": {"$ref": "urn-net", "output": "id"},
        "id-subnet": {"$ref": "urn-subnet", "output": "id"},
        "id-ext": {"$invoke": "invoke-0", "output": "id"},
    }
    used: set[str] = set()
    arguments = {
        "network_id": "id-net",
        "fixed_ips": [{"subnetId": "id-subnet"}],
        "external_network_id": "id-ext",
        "name": "lxdhost-scale",
    }
    assert scale.with_references(arguments, references, used) == {
        "network_id": {"$ref": "urn-net", "output": "id"},
        "fixed_ips": [{"subnetId": {"$ref": "urn-subnet", "output": "id"}}],
        "external_network_id": {"$invoke": "invoke-0", "output": "id"},
        "name": "lxdhost-scale",
    }
    assert used == {"invoke-0"}


def test_the_bare_program_registers_the_programs_resources(tmp_path: Path) -> None:
    config = scale.scale_config(BASE, 2)
    reference = run_program("scale", config)
    spec = scale.bare_spec(reference, run_program("scale", config, mocks=scale.SentinelMocks()))
    bare = run_program("scale", config, program=scale.write_bare_program(tmp_path, spec))
    assert scale.registration_differences(reference, bare) == []
    server = next(entry for entry in spec["resources"] if entry["name"] == "lxd-2-server")
    assert (
        bare.named("lxd-2-server").inputs["userData"]
        == (reference.named("lxd-2-server").inputs["userData"])
    )
    # One MTU of one server's user_data off by one: that server, and nothing else, differs.
    template = server["args"]["user_data"]["$user_data"]
    template["text"] = template["text"].replace("@@NETWORK_MTU@@", "1451", 1)
    spoiled = run_program("scale", config, program=scale.write_bare_program(tmp_path, spec))
    assert scale.registration_differences(reference, spoiled) == [server["urn"]]


def test_the_bare_program_imports_no_project_code() -> None:
    tree = ast.parse(scale.BARE_PROGRAM.read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert imported == {"__future__", "json", "collections", "pathlib", "typing", "pulumi",
                        "pulumi_openstack"}  # fmt: skip


# ---- tables


def test_a_table_aligns_its_first_column_left_and_the_others_right() -> None:
    table = scale.format_table(
        ["step", "hosts", "s"], [["up", "1", "12.5"], ["destroy", "10", "3.0"]]
    )
    assert table == "step     hosts     s\nup           1  12.5\ndestroy     10   3.0"


def result(program: str, size: int, step: str, seconds: float) -> scale.StepResult:
    hosts = size + 1 if step in ("change", "destroy") else size
    return scale.StepResult(
        program=program, size=size, hosts=hosts, step=step, parallel=0, seconds=seconds,
        memory={}, events=(), api={}, changes={},
    )  # fmt: skip


def test_the_summary_gives_seconds_per_host_and_the_changes_seconds() -> None:
    # Program and bare seconds of each step at 1 and at 10 hosts.
    seconds = {
        1: {"up": (12, 10), "preview": (4, 2), "preview-refreshed": (3, 2), "refresh": (3, 3),
            "change": (9, 6), "destroy": (8, 4)},
        10: {"up": (30, 25), "preview": (5, 4), "preview-refreshed": (4, 4), "refresh": (6, 3),
             "change": (12, 8), "destroy": (22, 11)},
    }  # fmt: skip
    by_size = {
        size: {
            step: {"program": result("program", size, step, p),
                   "bare": result("bare", size, step, b)}
            for step, (p, b) in steps.items()
        }
        for size, steps in seconds.items()
    }  # fmt: skip
    lines = [" ".join(line.split()) for line in scale.summary_report(by_size).splitlines()]
    per_host = lines[1 : lines.index("program / bare")]
    # up: 12/1 and 10/1; 30/10 and 25/10. destroy: 8/2 and 4/2 (two hosts after the change),
    # 22/11 and 11/11. change: seconds as they are.
    assert per_host == [
        "step 1 host 10 hosts",
        "up 12.00 / 10.00 3.00 / 2.50",
        "preview 4.00 / 2.00 0.50 / 0.40",
        "preview-refreshed 3.00 / 2.00 0.40 / 0.40",
        "refresh 3.00 / 3.00 0.60 / 0.30",
        "change (s) 9.0 / 6.0 12.0 / 8.0",
        "destroy 4.00 / 2.00 2.00 / 1.00",
        "",
    ]
    assert lines[lines.index("program / bare") + 1 :] == [
        "step 1 host 10 hosts",
        "up 1.20 1.20",
        "preview 2.00 1.25",
        "preview-refreshed 1.50 1.00",
        "refresh 1.00 2.00",
        "change 1.50 1.50",
        "destroy 2.00 2.00",
    ]


# ---- the steps, on stacks that only record what is asked of them


class FakeStack:
    """Answers the Automation API calls the bench makes, with one server's events; `fail` names
    a step (up, preview, ...) that fails, `extra` a type more in its previews."""

    name = "scale"

    def __init__(self, label: str, log: list[str], fail: str = "", extra: str = "") -> None:
        self.label, self.log, self.fail, self.extra = label, log, fail, extra
        self.workspace = SimpleNamespace(remove_stack=lambda name: log.append(f"{label} rm"))
        self.hosts = 1

    def _run(self, step: str, options: dict[str, Any]) -> None:
        parallel = options.get("parallel")
        self.log.append(f"{self.label} {step}" + (f" --parallel {parallel}" if parallel else ""))
        if step == self.fail:
            options["on_error"]("error: the cloud said no")
            raise auto.CommandError(auto.CommandResult("", "error: the cloud said no", 255))
        server = urn("server")
        for key, op in (("resourcePreEvent", "create"), ("resOutputsEvent", "create")):
            options["on_event"](engine_event(key, op, server, PORT, PROVIDER))

    def up(self, **options: Any) -> Any:
        self._run("up", options)
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"create": 3}))

    def preview(self, **options: Any) -> Any:
        if "on_output" not in options:  # the fresh stack's preview, counting types
            self.log.append(f"{self.label} preview of the fresh stack")
            for type_ in (PORT, "openstack:compute/instance:Instance", self.extra):
                if type_:
                    options["on_event"](engine_event("resourcePreEvent", "create", "u", type_, ""))
            return auto.PreviewResult("", "", {auto.OpType.CREATE: 2})
        self._run("preview", options)
        return auto.PreviewResult("", "", {auto.OpType.SAME: 3})

    def refresh(self, **options: Any) -> Any:
        self._run("refresh", options)
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"same": 3}))

    def destroy(self, **options: Any) -> Any:
        self.log.append(f"{self.label} destroy" + ("" if "on_event" in options else " (clean-up)"))
        if "on_event" in options:
            self.log.pop()
            self._run("destroy", options)
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"delete": 3}))

    def export_stack(self) -> Any:
        self.log.append(f"{self.label} export")
        resources = [{"urn": urn("server"), "dependencies": [urn("port")]}]
        return SimpleNamespace(deployment={"resources": resources})


class FakeSubject(scale.Subject):
    def __init__(self, label: str, log: list[str], **fake: str) -> None:
        super().__init__(Path("/nowhere"), {})
        self.label, self.log, self.fake = label, log, fake

    def new_stack(self, hosts: int) -> Any:
        self.log.append(f"{self.label} new stack, {hosts} hosts")
        return FakeStack(self.label, self.log, **self.fake)

    def prepare(self, hosts: int) -> None:
        raise AssertionError("new_stack is the fake's")

    def configure(self, stack: Any, hosts: int) -> None:
        raise AssertionError("new_stack is the fake's")

    def grow(self, stack: Any, hosts: int) -> None:
        self.log.append(f"{self.label} grows to {hosts + 1} hosts")

    def read_status_from_state(self, stack: Any, from_state: bool) -> None:
        self.log.append(
            f"{self.label} reads status {'from state' if from_state else 'as the stack says'}"
        )


# One host, then two after the change: it creates a component, a port and a server.
PLANS = {1: scale.Plan(1, 14, {}), 2: scale.Plan(2, 17, {})}


def test_each_program_runs_the_six_steps_then_an_up_and_destroy_per_parallel(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    bench = scale.Bench(scale.CloudLogs(tmp_path), scale.Interrupts())
    subjects = [FakeSubject("program", log), FakeSubject("bare", log)]
    results = bench.measure(subjects, 1, PLANS, [0, 4])
    six_steps = [
        "up", "export", "preview", "reads status from state", "preview",
        "reads status as the stack says", "refresh", "grows to 2 hosts", "up", "export", "destroy",
        "rm",
    ]  # fmt: skip
    assert log == [
        "program new stack, 1 hosts",
        "bare new stack, 1 hosts",
        "program preview of the fresh stack",
        "bare preview of the fresh stack",
        *(f"program {step}" for step in six_steps),
        *(f"bare {step}" for step in six_steps),
        "program new stack, 1 hosts",
        "program up --parallel 4",
        "program destroy --parallel 4",
        "program rm",
        "bare new stack, 1 hosts",
        "bare up --parallel 4",
        "bare destroy --parallel 4",
        "bare rm",
    ]
    assert [(r.program, r.step, r.hosts, r.parallel) for r in results[:6]] == [
        ("program", "up", 1, 0),
        ("program", "preview", 1, 0),
        ("program", "preview-refreshed", 1, 0),
        ("program", "refresh", 1, 0),
        ("program", "change", 2, 0),
        ("program", "destroy", 2, 0),
    ]
    assert all(not result.notes for result in results)
    # The state says the server waited for the port: a destroy deletes the server first.
    assert results[0].waits_for == {urn("server"): (urn("port"),)}
    assert results[5].waits_for == {urn("port"): (urn("server"),)}
    assert results[0].figures.critical == (("server", results[0].figures.provider_max),)
    assert bench.live == []


def test_previews_of_other_types_stop_the_bench_before_anything_is_made(tmp_path: Path) -> None:
    log: list[str] = []
    bench = scale.Bench(scale.CloudLogs(tmp_path), scale.Interrupts())
    subjects = [FakeSubject("program", log), FakeSubject("bare", log, extra=PORT)]
    with pytest.raises(scale.BenchError) as stopped:
        bench.measure(subjects, 1, PLANS, [0])
    assert str(stopped.value) == (
        "at 1 hosts the two previews differ: program 2, bare 3 resources; by type "
        f"(program/bare): {PORT} 1/2"
    )
    assert bench.clean_up() == []
    assert log[-4:] == [
        "bare destroy (clean-up)", "bare rm", "program destroy (clean-up)", "program rm",
    ]  # fmt: skip


def test_a_failed_step_names_itself_with_the_clis_stderr_and_what_is_made_is_destroyed(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    bench = scale.Bench(scale.CloudLogs(tmp_path), scale.Interrupts())
    subjects = [FakeSubject("program", log), FakeSubject("bare", log, fail="refresh")]
    with pytest.raises(scale.StepError) as failed:
        bench.measure(subjects, 1, PLANS, [0])
    assert failed.value.report().splitlines()[:3] == [
        "FAILED: refresh failed for 1 hosts, bare",
        "the CLI's stderr, last lines:",
        "error: the cloud said no",
    ]
    assert bench.clean_up() == []
    assert log[-3:] == ["bare refresh", "bare destroy (clean-up)", "bare rm"]

"""The typed cloud-config modules: what each renders to, what each rejects, and the renderer."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from tests.userdata.support import assert_problems_start
from userdata.cloudconfig import (
    NOVA_USER_DATA_LIMIT,
    CloudConfig,
    Lxd,
    LxdBridge,
    LxdInit,
    PowerState,
    WriteFile,
    check_size,
    encoded_size,
    render_cloud_config,
)
from userdata.validation import UserDataError
from userdata.yamltext import dump_yaml

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey operator@example"

# Where each module's mapping sits in a cloud-config document.
IN_A_DOCUMENT: dict[type, Callable[[dict[str, Any]], dict[str, Any]]] = {
    WriteFile: lambda item: {"write_files": [item]},
    LxdInit: lambda section: {"lxd": {"init": section}},
    LxdBridge: lambda section: {"lxd": {"bridge": section}},
    Lxd: lambda section: {"lxd": section},
    PowerState: lambda section: {"power_state": section},
}


RENDERINGS = [
    pytest.param(WriteFile("/etc/x", "a\n"), {"path": "/etc/x", "content": "a\n"}, id="file"),
    pytest.param(
        WriteFile("/etc/x", "", permissions="0600", owner="root:root", defer=True),
        {
            "path": "/etc/x",
            "content": "",
            "permissions": "0600",
            "owner": "root:root",
            "defer": True,
        },
        id="file-all-keys",
    ),
    pytest.param(LxdInit(), {"storage_backend": "dir"}, id="lxd-init-default"),
    pytest.param(
        LxdInit("zfs", "tank", "10.0.0.2", 8443),
        {
            "storage_backend": "zfs",
            "storage_pool": "tank",
            "network_address": "10.0.0.2",
            "network_port": 8443,
        },
        id="lxd-init-all-keys",
    ),
    pytest.param(
        LxdBridge("existing", "br0", ipv4_nat=False),
        {"mode": "existing", "name": "br0", "ipv4_nat": False},
        id="lxd-bridge-existing",
    ),
    pytest.param(LxdBridge("none"), {"mode": "none"}, id="lxd-bridge-none"),
    pytest.param(
        Lxd(init=LxdInit(), bridge=LxdBridge("existing", "br0")),
        {"init": {"storage_backend": "dir"}, "bridge": {"mode": "existing", "name": "br0"}},
        id="lxd-module-form",
    ),
    pytest.param(Lxd(preseed="config: {}\n"), {"preseed": "config: {}\n"}, id="lxd-preseed"),
    pytest.param(
        PowerState("reboot", "now", "Bye Bye", 60, True),
        {
            "delay": "now",
            "mode": "reboot",
            "message": "Bye Bye",
            "timeout": 60,
            "condition": True,
        },
        id="power-state-blog",
    ),
    pytest.param(
        PowerState("poweroff", 5, condition=("test", "-f", "/run/x")),
        {"delay": 5, "mode": "poweroff", "condition": ["test", "-f", "/run/x"]},
        id="power-state-command-condition",
    ),
]


@pytest.mark.parametrize(
    ("module", "expected"),
    RENDERINGS,
)
def test_module_renders_with_cloud_inits_key_names(module: object, expected: object) -> None:
    assert module.to_dict() == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(("module", "rendered"), RENDERINGS)
def test_cloud_inits_schema_accepts_each_rendered_module(
    module: object,
    rendered: dict[str, Any],
    cloud_config_validator: Callable[[Mapping[str, Any]], list[str]],
) -> None:
    assert cloud_config_validator(IN_A_DOCUMENT[type(module)](rendered)) == []


def every_module() -> CloudConfig:
    return CloudConfig(
        bootcmd=("echo early",),
        package_update=True,
        packages=("bridge-utils",),
        ssh_authorized_keys=(KEY,),
        write_files=(WriteFile("/etc/x", "x\n"),),
        unverified_modules=("lxd",),
        lxd=Lxd(init=LxdInit()),
        runcmd=(("lxc", "list"), "echo done"),
        power_state=PowerState(),
    )


def test_document_renders_each_set_key_in_run_order_and_leaves_empty_ones_out() -> None:
    document = every_module().to_dict()
    assert list(document) == [
        "bootcmd",
        "package_update",
        "packages",
        "ssh_authorized_keys",
        "write_files",
        "unverified_modules",
        "lxd",
        "runcmd",
        "power_state",
    ]
    assert document["runcmd"] == [["lxc", "list"], "echo done"]
    assert CloudConfig().to_dict() == {}


def test_cloud_inits_schema_accepts_a_document_with_every_module(
    cloud_config_validator: Callable[[Mapping[str, Any]], list[str]],
) -> None:
    assert cloud_config_validator(every_module().to_dict()) == []


REJECTIONS = [
    pytest.param(
        CloudConfig(lxd=Lxd(init=LxdInit(), preseed="config: {}\n")),
        ["lxd.preseed: cannot be combined with lxd.init"],
        None,
        id="preseed-with-init",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(bridge=LxdBridge("existing", "br0"), preseed="{}")),
        ["lxd.preseed: cannot be combined with lxd.bridge"],
        None,
        id="preseed-with-bridge",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(init=LxdInit(), bridge=LxdBridge("none"), preseed="config: {}\n")),
        ["lxd.preseed: cannot be combined with lxd.init, lxd.bridge"],
        None,
        id="preseed-with-init-and-bridge",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(preseed="[a, b]")),
        ["lxd.preseed: must be a YAML mapping"],
        None,
        id="preseed-not-a-mapping",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(preseed="a: [")),
        ["lxd.preseed: not YAML"],
        None,
        id="preseed-not-yaml",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd()), ["lxd: needs init, bridge or preseed"], "lxd", id="empty-lxd"
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(bridge=LxdBridge("existing"))),
        ["lxd.bridge.name: mode 'existing' needs the name"],
        None,
        id="existing-bridge-without-name",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(bridge=LxdBridge("bridged", "br0"))),  # type: ignore[arg-type]
        ["lxd.bridge.mode: 'bridged' is not one of"],
        "lxd.bridge.mode",
        id="bridge-mode-unknown",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(init=LxdInit("ceph"))),  # type: ignore[arg-type]
        ["lxd.init.storage_backend: 'ceph' is not one of"],
        "lxd.init.storage_backend",
        id="storage-backend-unknown",
    ),
    pytest.param(
        CloudConfig(lxd=Lxd(init=LxdInit(network_address="0.0.0.0", network_port=70000))),
        ["lxd.init.network_port: 70000 is not a TCP port"],
        None,
        id="network-port-out-of-range",
    ),
    pytest.param(
        CloudConfig(write_files=(WriteFile("etc/network/interfaces"),)),
        ["write_files[0].path: 'etc/network/interfaces' is relative"],
        None,
        id="write-files-relative-path",
    ),
    pytest.param(
        CloudConfig(write_files=(WriteFile("/etc/x", permissions="rw-r--r--"),)),
        ["write_files[0].permissions: 'rw-r--r--' is not an octal mode"],
        None,
        id="write-files-symbolic-permissions",
    ),
    pytest.param(
        CloudConfig(write_files=(WriteFile("/etc/x"), WriteFile("/etc/x"))),
        ["write_files[1].path: '/etc/x' is written twice"],
        None,
        id="write-files-same-path-twice",
    ),
    pytest.param(
        CloudConfig(packages=("bridge-utils", "bridge-utils")),
        ["packages[1]: 'bridge-utils' is listed twice"],
        None,
        id="package-twice",
    ),
    pytest.param(
        CloudConfig(packages=("lxd; rm -rf /",)),
        ["packages[0]: 'lxd; rm -rf /' is not a Debian package name"],
        None,
        id="package-not-a-name",
    ),
    pytest.param(
        CloudConfig(ssh_authorized_keys=("AAAA no type",)),
        ["ssh_authorized_keys[0]: not an OpenSSH public key line"],
        None,
        id="ssh-key-without-type",
    ),
    pytest.param(
        CloudConfig(power_state=PowerState("restart")),  # type: ignore[arg-type]
        ["power_state.mode: 'restart' is not one of"],
        "power_state.mode",
        id="power-mode-unknown",
    ),
    pytest.param(
        CloudConfig(power_state=PowerState(delay=-1)),
        ["power_state.delay: -1 is neither 'now' nor whole minutes"],
        "power_state.delay",
        id="power-delay-negative",
    ),
    pytest.param(
        CloudConfig(runcmd=("",)),
        ["runcmd[0]: empty command"],
        None,
        id="runcmd-empty",
    ),
]


@pytest.mark.parametrize(
    ("document", "expected", "schema_rejects"),
    REJECTIONS,
)
def test_rejects_what_cloud_init_would_refuse(
    document: CloudConfig, expected: list[str], schema_rejects: str | None
) -> None:
    with pytest.raises(UserDataError) as caught:
        render_cloud_config(document)
    assert_problems_start(caught.value.problems, expected)


@pytest.mark.parametrize(("document", "expected", "schema_rejects"), REJECTIONS)
def test_cloud_inits_schema_rejects_the_same_documents_where_it_can(
    document: CloudConfig,
    expected: list[str],
    schema_rejects: str | None,
    cloud_config_validator: Callable[[Mapping[str, Any]], list[str]],
) -> None:
    """`schema_rejects` is the key cloud-init's own schema refuses too; None where only its
    module code (at boot) or this validator can tell."""
    schema_errors = cloud_config_validator(document.to_dict())
    assert [error.split(":")[0] for error in schema_errors] == (
        [schema_rejects] if schema_rejects else []
    ), schema_errors


def test_one_error_lists_every_offending_field() -> None:
    document = CloudConfig(
        write_files=(WriteFile("relative"),),
        lxd=Lxd(bridge=LxdBridge("existing"), preseed="{}"),
        power_state=PowerState(timeout=-5),
    )
    with pytest.raises(UserDataError) as caught:
        document.validate()
    keys = [problem.path for problem in caught.value.problems]
    assert keys == ["write_files[0].path", "lxd.bridge.name", "lxd.preseed", "power_state.timeout"]
    message = str(caught.value)
    assert message.startswith("invalid user-data (4 problems):")
    assert all(f"  - {problem}" in message for problem in caught.value.problems)


def test_render_writes_header_and_multiline_strings_as_literal_blocks() -> None:
    text = render_cloud_config(
        CloudConfig(
            write_files=(WriteFile("/etc/motd", "line one\nline two\n"),),
            power_state=PowerState(delay="now", condition=True),
        )
    )
    assert text == (
        "#cloud-config\n"
        "write_files:\n"
        "- path: /etc/motd\n"
        "  content: |\n"
        "    line one\n"
        "    line two\n"
        "power_state:\n"
        "  delay: now\n"
        "  mode: reboot\n"
        "  condition: true\n"
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("12:34:56:12:34:56", id="sexagesimal-looking"),
        pytest.param("yes", id="yaml11-boolean"),
        pytest.param("0600", id="octal-looking"),
        pytest.param("trailing space \nnext", id="multiline-trailing-space"),
        pytest.param("  leading\nindent\n", id="multiline-leading-indent"),
        pytest.param("tab\there\n", id="tab"),
        pytest.param("#not a comment", id="hash"),
        pytest.param("ünïcode ✓\n", id="unicode"),
        pytest.param("", id="empty"),
    ],
)
def test_strings_survive_the_round_trip(value: str) -> None:
    assert yaml.safe_load(dump_yaml({"value": value})) == {"value": value}


def test_encoded_size_is_the_base64_length_nova_counts() -> None:
    text = "#cloud-config\nü\n"
    assert (
        encoded_size(text)
        == len(base64.b64encode(text.encode()))
        == 4 * -(-len(text.encode()) // 3)
    )


def test_size_check_passes_at_the_limit_and_says_by_how_much_it_is_over() -> None:
    at_limit = "x" * (NOVA_USER_DATA_LIMIT // 4 * 3)  # 49149 bytes encode to 65532
    assert check_size(at_limit) == 65532
    over = "x" * 49152  # encodes to 65536: one byte over
    with pytest.raises(UserDataError) as caught:
        check_size(over)
    assert caught.value.problems == (
        "user_data: 65536 bytes base64-encoded, 1 byte over Nova's limit of 65535; "
        "drop packages, files or profiles",
    )

"""The typed cloud-config modules: what each renders to, what each rejects, and the renderer."""

from __future__ import annotations

import base64

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
    User,
    UserDataError,
    WriteFile,
    check_size,
    dump_yaml,
    encoded_size,
    render_cloud_config,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey operator@example"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
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
            LxdInit("zfs", "tank", "10.0.0.2", 8443, "secret"),
            {
                "storage_backend": "zfs",
                "storage_pool": "tank",
                "network_address": "10.0.0.2",
                "network_port": 8443,
                "trust_password": "secret",
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
        pytest.param(
            User("ops", (KEY,), sudo="ALL=(ALL) NOPASSWD:ALL", groups=("lxd",), shell="/bin/bash"),
            {
                "name": "ops",
                "groups": ["lxd"],
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "ssh_authorized_keys": [KEY],
            },
            id="user",
        ),
    ],
)
def test_module_renders_with_cloud_inits_key_names(module: object, expected: object) -> None:
    assert module.to_dict() == expected  # type: ignore[attr-defined]


def test_document_renders_each_set_key_in_run_order_and_leaves_empty_ones_out() -> None:
    document = CloudConfig(
        bootcmd=("echo early",),
        package_update=True,
        packages=("bridge-utils",),
        users=("default", User("ops")),
        ssh_authorized_keys=(KEY,),
        write_files=(WriteFile("/etc/x", "x\n"),),
        unverified_modules=("lxd",),
        lxd=Lxd(init=LxdInit()),
        runcmd=(("lxc", "list"), "echo done"),
        power_state=PowerState(),
    ).to_dict()
    assert list(document) == [
        "bootcmd",
        "package_update",
        "packages",
        "users",
        "ssh_authorized_keys",
        "write_files",
        "unverified_modules",
        "lxd",
        "runcmd",
        "power_state",
    ]
    assert document["runcmd"] == [["lxc", "list"], "echo done"]
    assert document["users"] == ["default", {"name": "ops"}]
    assert CloudConfig().to_dict() == {}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            CloudConfig(lxd=Lxd(init=LxdInit(), preseed="config: {}\n")),
            ["lxd.preseed: cannot be combined with lxd.init"],
            id="preseed-with-init",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(bridge=LxdBridge("existing", "br0"), preseed="{}")),
            ["lxd.preseed: cannot be combined with lxd.bridge"],
            id="preseed-with-bridge",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(init=LxdInit(), bridge=LxdBridge("none"), preseed="config: {}\n")),
            ["lxd.preseed: cannot be combined with lxd.init, lxd.bridge"],
            id="preseed-with-init-and-bridge",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(preseed="[a, b]")),
            ["lxd.preseed: must be a YAML mapping"],
            id="preseed-not-a-mapping",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(preseed="a: [")),
            ["lxd.preseed: not YAML"],
            id="preseed-not-yaml",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd()), ["lxd: needs init, bridge or preseed"], id="empty-lxd"
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(bridge=LxdBridge("existing"))),
            ["lxd.bridge.name: mode 'existing' needs the name"],
            id="existing-bridge-without-name",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(bridge=LxdBridge("bridged", "br0"))),  # type: ignore[arg-type]
            ["lxd.bridge.mode: 'bridged' is not one of"],
            id="bridge-mode-unknown",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(init=LxdInit("ceph"))),  # type: ignore[arg-type]
            ["lxd.init.storage_backend: 'ceph' is not one of"],
            id="storage-backend-unknown",
        ),
        pytest.param(
            CloudConfig(lxd=Lxd(init=LxdInit(network_address="0.0.0.0", network_port=70000))),
            ["lxd.init.network_port: 70000 is not a TCP port"],
            id="network-port-out-of-range",
        ),
        pytest.param(
            CloudConfig(write_files=(WriteFile("etc/network/interfaces"),)),
            ["write_files[0].path: 'etc/network/interfaces' is relative"],
            id="write-files-relative-path",
        ),
        pytest.param(
            CloudConfig(write_files=(WriteFile("/etc/x", permissions="rw-r--r--"),)),
            ["write_files[0].permissions: 'rw-r--r--' is not an octal mode"],
            id="write-files-symbolic-permissions",
        ),
        pytest.param(
            CloudConfig(write_files=(WriteFile("/etc/x"), WriteFile("/etc/x"))),
            ["write_files[1].path: '/etc/x' is written twice"],
            id="write-files-same-path-twice",
        ),
        pytest.param(
            CloudConfig(packages=("bridge-utils", "bridge-utils")),
            ["packages[1]: 'bridge-utils' is listed twice"],
            id="package-twice",
        ),
        pytest.param(
            CloudConfig(packages=("lxd; rm -rf /",)),
            ["packages[0]: 'lxd; rm -rf /' is not a package name"],
            id="package-not-a-name",
        ),
        pytest.param(
            CloudConfig(ssh_authorized_keys=("AAAA no type",)),
            ["ssh_authorized_keys[0]: not an OpenSSH public key line"],
            id="ssh-key-without-type",
        ),
        pytest.param(
            CloudConfig(power_state=PowerState("restart")),  # type: ignore[arg-type]
            ["power_state.mode: 'restart' is not one of"],
            id="power-mode-unknown",
        ),
        pytest.param(
            CloudConfig(power_state=PowerState(delay=-1)),
            ["power_state.delay: -1 is neither 'now' nor whole minutes"],
            id="power-delay-negative",
        ),
        pytest.param(
            CloudConfig(runcmd=("",)),
            ["runcmd[0]: empty command"],
            id="runcmd-empty",
        ),
        pytest.param(
            CloudConfig(users=(User("Bad Name"),)),
            ["users[0].name: 'Bad Name' is not a user name"],
            id="user-name-invalid",
        ),
    ],
)
def test_rejects_what_cloud_init_would_refuse(document: CloudConfig, expected: list[str]) -> None:
    with pytest.raises(UserDataError) as caught:
        render_cloud_config(document)
    assert_problems_start(caught.value.problems, expected)


def test_one_error_lists_every_offending_field() -> None:
    document = CloudConfig(
        write_files=(WriteFile("relative"),),
        lxd=Lxd(bridge=LxdBridge("existing"), preseed="{}"),
        power_state=PowerState(timeout=-5),
    )
    with pytest.raises(UserDataError) as caught:
        document.validate()
    keys = [problem.split(":")[0] for problem in caught.value.problems]
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

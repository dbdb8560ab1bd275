"""`python -m lxdhost lxc-remote`: an lxc configuration of the stack's own, from its outputs."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from lxdhost.lxcremote import RemoteError, default_directory, write_lxc_config

OUTPUTS = {
    "lxdClientCertificate": "CLIENT CERT",
    "lxdClientKey": "CLIENT KEY",
    "hosts": {
        "lxd-2": {"lxdApi": "https://203.0.113.2:8443", "lxdCertificate": "LXD-2 CERT"},
        "lxd-1": {"lxdApi": "https://203.0.113.1:8443", "lxdCertificate": "LXD-1 CERT"},
    },
}


def test_each_host_is_a_remote_pinned_to_its_own_certificate(tmp_path: Path) -> None:
    directory = tmp_path / "lxc"
    assert write_lxc_config(OUTPUTS, directory) == ["lxd-1", "lxd-2"]
    config = yaml.safe_load((directory / "config.yml").read_text())
    assert config["remotes"]["lxd-1"] == {
        "addr": "https://203.0.113.1:8443",
        "auth_type": "tls",
        "project": "default",
        "protocol": "lxd",
        "public": False,
    }
    assert config["default-remote"] == "local"
    assert (directory / "servercerts" / "lxd-2.crt").read_text() == "LXD-2 CERT\n"
    assert (directory / "client.crt").read_text() == "CLIENT CERT\n"


def test_the_key_and_the_directory_are_the_users_alone(tmp_path: Path) -> None:
    directory = tmp_path / "lxc"
    write_lxc_config(OUTPUTS, directory)
    assert stat.S_IMODE((directory / "client.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_stack_without_lxds_api_says_so(tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match=r"no LXD API \(lxdManagement: api, after pulumi up\)"):
        write_lxc_config({"hosts": {"lxd-1": {"fixedIp": "192.168.0.3"}}}, tmp_path)


def test_the_default_directory_is_the_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/u/.config")
    assert default_directory("lxdhost", "local") == Path(
        "/home/u/.config/lxdhost/lxdhost-local/lxc"
    )

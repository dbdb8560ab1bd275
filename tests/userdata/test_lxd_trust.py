"""LXD's own certificate and the clients it trusts, in the host's user-data."""

from __future__ import annotations

import subprocess

import pytest

from lxdhost import trust
from userdata import HostSpec, build_cloud_config, render_host
from userdata.lxd import TRUST_PATH, LxdTrust, certificate_fingerprint, pem_problem
from userdata.validation import UserDataError

SERVER = trust.server_certificate("lxd-1", ["192.168.0.11"])
CLIENT = trust.client_certificate("lxdhost-local")


def _spec(**changes: object) -> HostSpec:
    values: dict[str, object] = {
        "distro": "debian",
        "macaddress": "fa:16:3e:00:00:01",
        "lxd_api_address": "::",
        "lxd_server_certificate": SERVER.certificate,
        "lxd_server_key": SERVER.private_key,
        "lxd_trusted_certificates": (CLIENT.certificate,),
    }
    values.update(changes)
    return HostSpec(**values)  # type: ignore[arg-type]


def _files(spec: HostSpec) -> dict[str, tuple[str, str | None]]:
    return {
        item.path: (item.content, item.permissions) for item in build_cloud_config(spec).write_files
    }


@pytest.mark.parametrize(
    ("distro", "directory"),
    [("debian", "/var/lib/lxd"), ("ubuntu", "/var/snap/lxd/common/lxd")],
)
def test_the_certificate_goes_where_the_distros_lxd_reads_it(distro: str, directory: str) -> None:
    files = _files(_spec(distro=distro))
    assert files[f"{directory}/server.crt"] == (SERVER.certificate, None)
    # The key is for root alone.
    assert files[f"{directory}/server.key"] == (SERVER.private_key, "0600")
    assert files["/etc/lxdhost/trust/client-1.crt"] == (CLIENT.certificate, None)


def test_trust_runs_after_lxds_init_and_before_the_users_commands() -> None:
    preseed = build_cloud_config(_spec(runcmd=("echo mine",)))
    assert preseed.runcmd == (f"{TRUST_PATH} || exit 1", "echo mine")
    module = build_cloud_config(_spec(lxd_init="module", bring_up="in-place"))
    # In place: the bridge first, then the module form's pool and root disk, then trust.
    assert module.runcmd[0].startswith("/usr/local/sbin/lxdhost-bring-up")
    assert module.runcmd[-1] == f"{TRUST_PATH} || exit 1"
    assert "lxc storage create default dir" in module.runcmd


@pytest.mark.parametrize(
    ("distro", "restart"),
    [("debian", "systemctl restart lxd.service"), ("ubuntu", "snap restart lxd")],
)
def test_the_trust_script_restarts_an_lxd_serving_another_certificate(
    distro: str, restart: str
) -> None:
    script = _files(_spec(distro=distro))[TRUST_PATH][0]
    fingerprint = certificate_fingerprint(SERVER.certificate)
    assert f'"certificate_fingerprint": "{fingerprint}"' in script
    assert f"    {restart}\n" in script
    assert (
        script.rstrip().splitlines()[-2] == "lxc config trust add /etc/lxdhost/trust/client-1.crt"
    )
    # POSIX sh, which it runs under.
    subprocess.run(["sh", "-n"], input=script, text=True, check=True)


def test_without_a_certificate_nothing_of_trust_is_written() -> None:
    spec = HostSpec(distro="debian", macaddress="fa:16:3e:00:00:01")
    assert spec.lxd_trust() is None
    assert TRUST_PATH not in _files(spec)
    assert "lxdhost-trust" not in render_host(spec)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param(
            {"lxd_server_key": None},
            "lxd_server_key: set lxd_server_certificate and lxd_server_key together",
            id="certificate-without-key",
        ),
        pytest.param(
            {"lxd_server_certificate": None, "lxd_server_key": None},
            "lxd_trusted_certificates: needs lxd_server_certificate: a client pins the "
            "certificate it trusts",
            id="trust-without-a-certificate",
        ),
        pytest.param(
            {"lxd_server_key": SERVER.certificate},
            "lxd_server_key: not one PEM block (-----BEGIN PRIVATE KEY----- or -----BEGIN EC "
            "PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- ... -----END ...-----)",
            id="a-certificate-as-the-key",
        ),
        pytest.param(
            {
                "lxd_trusted_certificates": (
                    "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
                )
            },
            "lxd_trusted_certificates[0]: not one PEM block (-----BEGIN CERTIFICATE----- ... "
            "-----END ...-----)",
            id="not-base64",
        ),
    ],
)
def test_bad_trust_is_named(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(UserDataError) as raised:
        render_host(_spec(**changes))
    assert [str(found) for found in raised.value.problems] == [problem]


def test_pem_problem_takes_one_block_of_a_named_kind() -> None:
    assert pem_problem(SERVER.certificate, "c", "CERTIFICATE") is None
    assert pem_problem(SERVER.private_key, "k", "PRIVATE KEY") is None
    assert pem_problem(SERVER.certificate + SERVER.certificate, "c", "CERTIFICATE") is not None
    assert pem_problem(42, "c", "CERTIFICATE") is not None


def test_lxd_trust_holds_what_the_spec_sets() -> None:
    assert _spec().lxd_trust() == LxdTrust(
        SERVER.certificate, SERVER.private_key, (CLIENT.certificate,), "debian"
    )

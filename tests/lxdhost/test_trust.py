"""The stack's certificates: what LXD and a TLS client read in them."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from lxdhost import trust
from userdata.lxd import certificate_fingerprint

NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)


def _load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def test_a_server_certificate_names_the_host_and_its_addresses() -> None:
    pair = trust.server_certificate("lxd-1", ["192.168.0.11", "172.24.4.125"], now=NOW)
    names = _load(pair.certificate).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.DNSName) == ["lxd-1"]
    assert names.value.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.168.0.11"),
        ipaddress.ip_address("172.24.4.125"),
    ]


def test_server_and_client_certificates_are_for_their_own_use() -> None:
    server = _load(trust.server_certificate("lxd-1", now=NOW).certificate)
    client = _load(trust.client_certificate("lxdhost-local", now=NOW).certificate)
    usage = x509.ExtendedKeyUsage
    assert list(server.extensions.get_extension_for_class(usage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert list(client.extensions.get_extension_for_class(usage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]


def test_the_key_is_the_certificates_and_lxd_kind() -> None:
    pair = trust.client_certificate("lxdhost-local", now=NOW)
    key = serialization.load_pem_private_key(pair.private_key.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP384R1)
    certificate = _load(pair.certificate)
    assert certificate.public_key() == key.public_key()
    # Self-signed: its own key verifies its signature.
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA384())
    )


def test_it_is_valid_from_before_now_for_ten_years() -> None:
    certificate = _load(trust.server_certificate("lxd-1", now=NOW).certificate)
    assert certificate.not_valid_before_utc < NOW
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == (
        datetime.timedelta(days=3650)
    )


def test_each_certificate_is_new() -> None:
    first = trust.server_certificate("lxd-1", now=NOW)
    second = trust.server_certificate("lxd-1", now=NOW)
    assert first.private_key != second.private_key
    assert trust.fingerprint(first.certificate) != trust.fingerprint(second.certificate)


def test_the_fingerprint_is_what_lxd_prints_and_the_user_data_computes() -> None:
    pair = trust.server_certificate("lxd-1", now=NOW)
    der = _load(pair.certificate).public_bytes(serialization.Encoding.DER)
    expected = hashes.Hash(hashes.SHA256())
    expected.update(der)
    assert trust.fingerprint(pair.certificate) == expected.finalize().hex()
    assert certificate_fingerprint(pair.certificate) == trust.fingerprint(pair.certificate)


def test_a_long_project_and_stack_name_is_cut_to_x509s_limit() -> None:
    pair = trust.client_certificate("lxdhost-" + "s" * 100, now=NOW)
    (name,) = _load(pair.certificate).subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert name.value == ("lxdhost-" + "s" * 100)[:64]

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


# A P-384 ECDSA signature in DER: a sequence of two integers of up to 48 bytes, each with a
# leading zero byte when its top bit is set: 2 + 2 * (2 + 49).
LONGEST_SIGNATURE = 104


def _der_length(pem: str) -> int:
    return len(_load(pem).public_bytes(serialization.Encoding.DER))


def test_a_stand_in_is_the_same_at_every_call() -> None:
    # The stack keeps a length measured on it (an LxdHost's userDataMaxBytes): one that moved
    # between runs would show every host as changed on each preview.
    first = trust.stand_in_certificate("x" * 63, ["255.255.255.255"] * 3)
    second = trust.stand_in_certificate("x" * 63, ["255.255.255.255"] * 3)
    assert first == second


def test_a_stand_in_with_one_address_more_outweighs_the_longest_signature() -> None:
    """A real certificate differs from a stand-in of the same names in its serial, dates and
    signature; the first two are longest in the stand-in, so with the longest signature a real
    one is at most that long. The address a stand-in is given beyond the real ones covers it."""
    for name, addresses in [("x" * 63, 2), ("y" * 64, 0)]:
        same = trust.stand_in_certificate(name, ["255.255.255.255"] * addresses).certificate
        longest_real = _der_length(same) - len(_load(same).signature) + LONGEST_SIGNATURE
        more = trust.stand_in_certificate(name, ["255.255.255.255"] * (addresses + 1))
        assert _der_length(more.certificate) >= longest_real


def test_a_stand_in_is_no_shorter_than_real_certificates_of_its_names() -> None:
    stand_in = trust.stand_in_certificate("x" * 63, ["255.255.255.255"] * 3)
    for _ in range(300):
        real = trust.server_certificate("x" * 63, ["255.255.255.255"] * 2)
        assert len(real.certificate) <= len(stand_in.certificate)
        assert len(real.private_key) <= len(stand_in.private_key)
    # The stand-in's own figures: the longest serial and GeneralizedTime dates.
    certificate = _load(stand_in.certificate)
    assert certificate.serial_number.bit_length() == 159
    assert certificate.not_valid_before_utc.year >= 2050

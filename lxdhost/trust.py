"""The TLS certificates by which the stack and each host's LXD know each other.

The stack holds one client certificate, which every host's LXD trusts and nothing else; each
host gets a server certificate of its own, installed before its LXD first starts, whose
fingerprint the stack's LXD client pins. No trust password, no trust on first use.

Plain functions over PEM text, made with `cryptography`: the certificates' resources
(`lxdhost.lxdresources.Certificate`) call them once, at create, and keep what they return.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# LXD makes its own certificates with ECDSA P-384 and ten years' validity: the same here, so that
# a host never stops answering because a certificate ran out under a long-lived stack.
VALIDITY = datetime.timedelta(days=3650)
# The notBefore a little in the past: a host whose clock lags the stack's still accepts it.
CLOCK_SKEW = datetime.timedelta(hours=1)

ORGANIZATION = "lxdhost"
COMMON_NAME_LIMIT = 64

# A stand-in's fixed parts, each the longest a real certificate's can be: the largest serial
# `x509.random_serial_number` gives (159 bits), and dates from 2050 on, which X.509 writes as
# GeneralizedTime, two bytes longer each than the UTCTime of earlier ones. The key is any valid
# one: a P-384 key and its public point have the same length whatever the key.
STAND_IN_SERIAL_NUMBER = 2**159 - 1
STAND_IN_NOW = datetime.datetime(2050, 1, 1, 1, tzinfo=datetime.UTC)
STAND_IN_PRIVATE_VALUE = 1


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM."""

    certificate: str
    private_key: str

    @staticmethod
    def of(certificate: x509.Certificate, key: PrivateKeyTypes) -> KeyPair:
        """A certificate and its key as PEM text: the key unencrypted, PKCS #8."""
        return KeyPair(
            certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            private_key=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
        )


def client_certificate(common_name: str, *, now: datetime.datetime | None = None) -> KeyPair:
    """The certificate a stack's LXD client presents (`clientAuth`)."""
    return _self_signed(common_name, (), ExtendedKeyUsageOID.CLIENT_AUTH, now, named=False)


def server_certificate(
    common_name: str, addresses: Sequence[str] = (), *, now: datetime.datetime | None = None
) -> KeyPair:
    """A host's LXD server certificate (`serverAuth`), valid for its name and `addresses`.

    The stack's client pins its fingerprint rather than checking names (LXD's own client does
    the same); the names let other TLS clients check it the usual way.
    """
    return _self_signed(common_name, tuple(addresses), ExtendedKeyUsageOID.SERVER_AUTH, now)


def stand_in_certificate(common_name: str, addresses: Sequence[str] = ()) -> KeyPair:
    """A server certificate to measure, never to use: at least as long as any
    `server_certificate(common_name, addresses)`, and the same bytes at every call, so that a
    length the stack keeps (an `LxdHost`'s `userDataMaxBytes`) does not move from one run to the
    next. A fixed key, the longest serial and dates, and an RFC 6979 signature, which depends on
    the key and what is signed alone. Its length (at most 104 bytes in DER for P-384) may still
    be a byte or two short of a real one's: the caller gives the stand-in an address more than
    the real certificate carries, six bytes, which outweighs it (tests/lxdhost/test_trust.py)."""
    key = ec.derive_private_key(STAND_IN_PRIVATE_VALUE, ec.SECP384R1())
    return _self_signed(
        common_name,
        tuple(addresses),
        ExtendedKeyUsageOID.SERVER_AUTH,
        STAND_IN_NOW,
        key=key,
        serial_number=STAND_IN_SERIAL_NUMBER,
    )


def fingerprint(certificate_pem: str) -> str:
    """The certificate's SHA-256 fingerprint as LXD prints it: 64 lowercase hex digits."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return certificate.fingerprint(hashes.SHA256()).hex()


def _self_signed(
    common_name: str,
    addresses: tuple[str, ...],
    usage: x509.ObjectIdentifier,
    now: datetime.datetime | None,
    *,
    named: bool = True,
    key: ec.EllipticCurvePrivateKey | None = None,
    serial_number: int | None = None,
) -> KeyPair:
    """`named`: the common name is a DNS name too (a host's; a stack's need not be one). A key
    and serial number given make the certificate the same at every call (`stand_in_certificate`);
    else both are new."""
    deterministic = key is not None and serial_number is not None
    if key is None:
        key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            # X.509 allows 64 characters; a project and stack name may be longer.
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:COMMON_NAME_LIMIT]),
        ]
    )
    start = (now or datetime.datetime.now(datetime.UTC)) - CLOCK_SKEW
    names: list[x509.GeneralName] = [x509.DNSName(common_name)] if named else []
    names.extend(x509.IPAddress(ipaddress.ip_address(address)) for address in addresses)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number() if serial_number is None else serial_number)
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(key, hashes.SHA384(), ecdsa_deterministic=deterministic)
    )
    return KeyPair.of(certificate, key)

"""`lxdhost.lxdapi.connect`: the stack's certificate shown, the host's pinned, whatever the
environment says; against a TLS server on loopback that answers `GET /1.0` as LXD does."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lxdhost import lxdapi, trust

SERVER = trust.server_certificate("lxd-1", ["127.0.0.1"])
CLIENT = trust.client_certificate("lxdhost-test")
STRANGER = trust.client_certificate("stranger")


class _LxdRoot(BaseHTTPRequestHandler):
    """`GET /1.0`: `auth` is `trusted` for the stack's client certificate alone, as LXD's is."""

    def do_GET(self) -> None:
        peer = self.request.getpeercert(binary_form=True)
        trusted = peer is not None and trust.fingerprint(ssl.DER_cert_to_PEM_cert(peer)) == (
            trust.fingerprint(CLIENT.certificate)
        )
        body = json.dumps(
            {
                "type": "sync",
                "status": "Success",
                "status_code": 200,
                "metadata": {
                    "auth": "trusted" if trusted else "untrusted",
                    "api_extensions": [],
                    "environment": {
                        "certificate_fingerprint": trust.fingerprint(SERVER.certificate)
                    },
                },
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def lxd_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("lxd")
    (directory / "server.crt").write_text(SERVER.certificate)
    (directory / "server.key").write_text(SERVER.private_key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.crt", directory / "server.key")
    # LXD takes any client certificate and decides trust per request; Python's server checks
    # them against its CAs first, so both certificates the tests show are among them.
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=CLIENT.certificate + STRANGER.certificate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LxdRoot)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def endpoint(url: str, **changes: str) -> lxdapi.LxdEndpoint:
    values = {
        "host": "lxd-1",
        "url": url,
        "server_certificate": SERVER.certificate,
        "client_certificate": CLIENT.certificate,
        "client_key": CLIENT.private_key,
    }
    values.update(changes)
    return lxdapi.LxdEndpoint(**values)


def test_the_stack_reaches_the_host_it_pinned(lxd_url: str) -> None:
    with lxdapi.connect(endpoint(lxd_url)) as client:
        assert client.trusted


def test_a_ca_bundle_in_the_environment_does_not_replace_the_pin(
    lxd_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # requests lets these replace a session's `verify`: the host's pin would be lost.
    bundle = tmp_path / "ca.pem"
    bundle.write_text(trust.client_certificate("some CA").certificate)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    with lxdapi.connect(endpoint(lxd_url)) as client:
        assert client.trusted


def test_a_host_serving_another_certificate_is_refused(lxd_url: str) -> None:
    other = trust.server_certificate("lxd-1", ["127.0.0.1"])
    with (
        pytest.raises(lxdapi.LxdError, match=r"LXD on lxd-1 \(https://127\.0\.0\.1:\d+\) did not"),
        lxdapi.connect(endpoint(lxd_url, server_certificate=other.certificate)),
    ):
        pass


def test_a_client_the_host_does_not_trust_is_told_so(lxd_url: str) -> None:
    changes = {"client_certificate": STRANGER.certificate, "client_key": STRANGER.private_key}
    with (
        pytest.raises(lxdapi.LxdError, match="does not trust the stack's client certificate"),
        lxdapi.connect(endpoint(lxd_url, **changes)),
    ):
        pass


def test_waiting_for_a_host_that_never_answers_names_it_and_why() -> None:
    # Nothing listens on port 9 of loopback: refused at once.
    silent = endpoint("https://127.0.0.1:9")
    with pytest.raises(lxdapi.LxdError) as raised:
        lxdapi.wait_until_ready(silent, timeout=0)
    message = str(raised.value)
    assert message.startswith("LXD on lxd-1 (https://127.0.0.1:9) was not ready after 0 s: ")
    assert "did not answer" in message
    assert message.endswith("openstack console log show lxd-1")

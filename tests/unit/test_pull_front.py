"""The lab's pull-only front (lab/front.py) against a stand-in registry on
loopback: the account pulls (GET, HEAD, bodies streamed), nobody else gets
in, and nothing but GET and HEAD reaches the registry."""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.front import PullFront

BLOB = bytes(range(256)) * 8192  # 2 MiB, more than one chunk


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def _reply(self) -> None:
        Upstream.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        self.send_response(200)
        self.send_header("Docker-Content-Digest", "sha256:abc")
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(BLOB)

    do_GET = do_HEAD = do_POST = do_PUT = _reply  # noqa: N815


@pytest.fixture
def front() -> Iterator[PullFront]:
    Upstream.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    pull = PullFront(f"127.0.0.1:{server.server_address[1]}", "reader", "s3cret")
    pull.start()
    try:
        yield pull
    finally:
        pull.stop()
        server.shutdown()
        server.server_close()


def _call(front: PullFront, method: str, auth: tuple[str, str] | None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://{front.host}/v2/bakery/cache/blobs/sha256:abc", method=method)
    if method in ("POST", "PUT"):
        request.data = b"layer"
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize("auth", [None, ("reader", "wrong"), ("writer", "s3cret")])
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT"])
def test_no_account_no_entry(front: PullFront, method: str, auth: tuple[str, str] | None) -> None:
    status, headers, _ = _call(front, method, auth)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="bakery-lab-pull-only"'
    assert Upstream.seen == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_account_cannot_write(front: PullFront, method: str) -> None:
    status, _, body = _call(front, method, ("reader", "s3cret"))
    assert status == 403 and b'"DENIED"' in body
    assert front.refused == [(method, "/v2/bakery/cache/blobs/sha256:abc")]
    assert Upstream.seen == []


def test_the_account_pulls_and_the_registry_never_sees_its_password(front: PullFront) -> None:
    status, headers, body = _call(front, "GET", ("reader", "s3cret"))
    assert status == 200 and body == BLOB and headers["Docker-Content-Digest"] == "sha256:abc"
    status, headers, body = _call(front, "HEAD", ("reader", "s3cret"))
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(BLOB))
    assert [(m, auth) for m, _, auth in Upstream.seen] == [("GET", ""), ("HEAD", "")]
    assert front.forwarded == 2 and front.refused == []


def test_a_tls_client_gets_a_plain_http_answer_at_once(front: PullFront) -> None:
    """What makes BuildKit fall back to http for a loopback registry: the
    answer to its TLS ClientHello is plain HTTP, not a wait."""
    import socket
    import ssl

    host, port = front.host.split(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname=host)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x05hello")
        assert raw.recv(64).startswith(b"HTTP/1.0 400 ")
    assert Upstream.seen == []

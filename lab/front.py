"""A pull-only front for the lab's shared registry (docs/cache.md, "Pull
requests read the shared cache").

Debian's docker-registry 2.8 has one set of rights for everyone it lets in:
no per-repository or per-user scopes. A real registry gives pull requests a
token with pull scope (the distribution token scope `repository:<name>:pull`,
a GitHub token with `packages: read`, a Docker Hub read-only access token).
The lab's stand-in: a loopback HTTP proxy in front of the shared registry that
lets in one read-only account and forwards only GET and HEAD.

- no credentials, or wrong ones: 401 with a Basic challenge, as a registry
  with htpasswd auth answers, so clients (docker, BuildKit) log in;
- the account, GET or HEAD: forwarded to the registry, body streamed;
- the account, any other method (an upload, a manifest push, a delete):
  403 DENIED, and the request is counted in `refused`.

The writer's door is the registry's own port. It runs in a thread of the
process that starts it; `stop` ends it.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORWARDED = ("GET", "HEAD")
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate"}
_CHUNK = 1 << 20


class PullFront:
    def __init__(self, upstream: str, user: str, password: str) -> None:
        self.upstream = upstream  # host:port of the registry
        self._expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.refused: list[tuple[str, str]] = []
        self.forwarded = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        assert self._server is not None, "the front is not started"
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
                return

            def handle(self) -> None:
                # Clients try HTTPS first and fall back to HTTP for a loopback
                # registry only when the answer is plain HTTP (Go's TLS client
                # reports "server gave HTTP response to HTTPS client"). A TLS
                # ClientHello holds no line break, so http.server would wait
                # for one until the client timed out: answer it at once, as
                # the registry's own Go server does.
                try:
                    first = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return
                if first == b"\x16":  # a TLS handshake record
                    self.wfile.write(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    return
                super().handle()

            def _answer(self, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
                body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                # Drain a request body so that the connection stays usable.
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                given = self.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), front._expected.encode()):
                    self._answer(
                        401,
                        "UNAUTHORIZED",
                        "authentication required",
                        {"WWW-Authenticate": 'Basic realm="bakery-lab-pull-only"'},
                    )
                    return
                if self.command not in FORWARDED:
                    front.refused.append((self.command, self.path))
                    self._answer(403, "DENIED", "this account may pull only")
                    return
                self._forward()

            def _forward(self) -> None:
                connection = http.client.HTTPConnection(front.upstream, timeout=120)
                try:
                    dropped = _HOP | {"authorization", "host"}
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
                    connection.request(self.command, self.path, headers=headers)
                    response = connection.getresponse()
                    front.forwarded += 1
                    body = b"" if self.command == "HEAD" else None
                    length = response.getheader("Content-Length")
                    if length is None and body is None:
                        body = response.read()
                    self.send_response(response.status)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP | {"content-length"}:
                            self.send_header(key, value)
                    if body is not None and self.command != "HEAD":
                        self.send_header("Content-Length", str(len(body)))
                    elif length is not None:
                        self.send_header("Content-Length", length)
                    self.end_headers()
                    if body is not None:
                        if self.command != "HEAD":
                            self.wfile.write(body)
                    else:
                        while chunk := response.read(_CHUNK):
                            self.wfile.write(chunk)
                finally:
                    connection.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 (http.server's names)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="bakery-lab-pull-front", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

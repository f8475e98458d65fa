"""A real HTTPS server on loopback for the files the health check fetches (MTA-STS policies, BIMI
logos): http.server in a thread behind a TLS context the test makes (trustme), answering by Host
and path from a table of `Reply` values.

    server = HttpsServer(context, {("mta-sts.example.test", "/.well-known/mta-sts.txt"):
                                   Reply(b"version: STSv1\\n...")}).start()
    ... NetworkChecks(https_port=server.port, cafile=...) ...
    server.stop()

A `Reply` may redirect (status 301 and a Location), be large, or be `slow`: held until the server
stops (the client's time limit is what ends the wait; no sleep in the test). A request for a
name and path not in the table gets 404.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain"})
    slow: bool = False
    length: bool = True  # False: no Content-Length, the body ends when the connection does


class HttpsServer:
    def __init__(
        self,
        context: ssl.SSLContext,
        routes: Mapping[tuple[str, str], Reply],
        *,
        host: str = "127.0.0.1",
    ) -> None:
        self.routes = dict(routes)
        self.requests: list[tuple[str, str]] = []
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = (self.headers.get("Host") or "").split(":")[0].lower()
                server.requests.append((name, self.path))
                reply = server.routes.get((name, self.path), Reply(b"not found", 404))
                if reply.slow:
                    server._release.wait(10)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.length:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port: int = self._httpd.server_address[1]
        # A short poll: stop() waits for the loop to notice, which is a test's teardown time.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> HttpsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

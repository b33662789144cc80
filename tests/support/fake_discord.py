"""A local Discord webhook: a real HTTP server on 127.0.0.1 that records each POST's JSON and
answers with scripted replies (status, headers, body, delay).

Used by tests/unit/alerts/test_discord.py and by the light scripts' test (scripts/ml/alert.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_PATH = "/api/webhooks/123/SECRET-TOKEN"


@dataclass
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    delay_s: float = 0.0


class FakeDiscord(ThreadingHTTPServer):
    """Answers each POST with the next scripted Reply (204 once the script runs out)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Reply] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{SECRET_PATH}"

    def handle_error(self, request, client_address) -> None:  # a client that gave up is expected
        pass


class _Handler(BaseHTTPRequestHandler):
    server: FakeDiscord

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(raw),
                }
            )
            reply = self.server.script.pop(0) if self.server.script else Reply()
        time.sleep(reply.delay_s)
        body = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


@contextmanager
def running_fake_discord() -> Iterator[FakeDiscord]:
    server = FakeDiscord()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""A real HTTP webhook receiver on a free loopback port, for tests and benchmarks.

Each path behaves as its name says: `/ok` answers 204, `/fail` 500, `/gone` 410,
`/busy` 429 with `Retry-After`, `/moved` 307 to `/ok`, `/hang` sleeps past any
timeout before answering.
Every request is recorded with its headers, body and arrival time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival


class Receiver:
    def __init__(self, server: ThreadingHTTPServer):
        self._server = server
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self.hang_seconds = 5.0
        self.retry_after = "7"

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def record(self, received: Received) -> None:
        with self._lock:
            self._requests.append(received)

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def wait_for(
        self, done: Callable[[Receiver], bool], *, timeout: float = 30.0
    ) -> bool:
        """Poll until `done(self)` or the timeout; bounded in time and count."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if done(self):
                return True
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return done(self)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            path = self.path.split("?")[0]
            receiver.record(
                Received(
                    path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                )
            )
            if path.startswith("/hang"):
                time.sleep(receiver.hang_seconds)
            statuses = {"/fail": 500, "/gone": 410, "/busy": 429, "/moved": 307}
            status = statuses.get(path, 204)
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", receiver.retry_after)
            if status == 307:
                self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    receiver = Receiver(server)
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

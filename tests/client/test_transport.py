"""Retries, backoff and token handling against a scripted HTTP server on loopback.

The server answers from a script (status, body) per path, so the client's
transport is tested on real sockets without a platform behind it.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cmp.client import ConnectionFailed, ConsentClient, InvalidRequest, RateLimited
from tests.processes import free_port

TOKEN = {"access_token": "t-1", "expires_in": 900, "token_type": "Bearer"}
ALLOWED = {
    "allowed": True,
    "reason": None,
    "consent_id": "c-1",
    "expires_at": "2027-01-01T00:00:00Z",
    "missing_scopes": [],
    "decision_id": "d-1",
    "transfer_token": "x.y.z",
}


class Script:
    def __init__(self, answers: list[tuple[int, dict]]):
        self.answers = answers
        self.calls: list[str] = []


@contextmanager
def scripted(answers: list[tuple[int, dict]]) -> Iterator[tuple[str, Script]]:
    """/o/token/ always gives a token; /api/ paths answer `answers` in order."""
    script = Script(list(answers))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            script.calls.append(self.path)
            if self.path.startswith("/o/token/"):
                status, body = 200, TOKEN
            else:
                status, body = script.answers.pop(0)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status in (429, 503):
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


def _check(client: ConsentClient):
    return client.check(subject_ref="s", purpose="p", scopes=["bank"])


def test_a_503_is_retried_and_then_succeeds():
    busy = (503, {"error": {"code": "unavailable", "message": "busy"}})
    with scripted([busy, busy, (200, ALLOWED)]) as (url, script):
        result = _check(ConsentClient(url, "id", "secret", backoff=0.01))
    assert result.allowed
    assert script.calls.count("/api/v1/checks/") == 3


def test_a_400_is_raised_at_once_without_retrying():
    bad = (400, {"error": {"code": "invalid", "message": "no", "fields": {"a": ["b"]}}})
    with (
        scripted([bad, (200, ALLOWED)]) as (url, script),
        pytest.raises(InvalidRequest) as raised,
    ):
        _check(ConsentClient(url, "id", "secret", backoff=0.01))
    assert raised.value.fields == {"a": ["b"]}
    assert script.calls.count("/api/v1/checks/") == 1


def test_429_is_retried_up_to_the_limit_then_raised():
    limited = (429, {"error": {"code": "throttled", "message": "slow down"}})
    with scripted([limited] * 3) as (url, script):
        client = ConsentClient(url, "id", "secret", max_retries=2, backoff=0.01)
        with pytest.raises(RateLimited) as raised:
            _check(client)
    assert raised.value.retry_after == 0
    assert script.calls.count("/api/v1/checks/") == 3


def test_an_unreachable_platform_fails_after_the_retries():
    client = ConsentClient(
        f"http://127.0.0.1:{free_port()}", "id", "secret", max_retries=2, backoff=0.01
    )
    with pytest.raises(ConnectionFailed) as raised:
        _check(client)
    assert raised.value.code == "connection_failed"


def test_the_token_is_fetched_once_and_reused():
    with scripted([(200, ALLOWED)] * 3) as (url, script):
        client = ConsentClient(url, "id", "secret")
        for _ in range(3):
            _check(client)
    assert script.calls.count("/o/token/") == 1

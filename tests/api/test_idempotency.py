"""`Idempotency-Key` on POST: a retried request is answered once, a reused key
with another body is refused, keys belong to one client, and a failed request
leaves nothing behind. The SDK sends a key with every POST and retries a POST
whose connection dropped after it was sent."""

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from api.idempotency import purge_stored_responses
from api.models import StoredResponse
from audit.models import AuditEvent
from cmp.client import ConsentClient
from consents.models import Consent, Transfer
from consents.webhooks.models import Delivery
from tests.api.conftest import OrgClient
from tests.conftest import requires_postgres, run_in_threads
from tests.factories import Person, make_consent, ref
from tests.propagation.conftest import subscribe

EVIDENCE = {"channel": "mobile-app", "screen": "consent-v3"}


def _grant_body(**fields) -> dict:
    return {
        "subject_ref": "ml-1",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit"],
        "evidence": EVIDENCE,
        **fields,
    }


def _post(api, path: str, body: dict, key: str):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retried_grant_is_answered_once_and_supersedes_nothing(moneylog):
    subscribe(moneylog.organization, "https://moneylog.example/hooks")
    api = moneylog.api()

    first = _post(api, "/api/v1/consents/", _grant_body(), "grant-1")
    again = _post(api, "/api/v1/consents/", _grant_body(), "grant-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Consent.objects.count() == 1
    assert not Consent.objects.filter(status="superseded").exists()
    assert AuditEvent.objects.filter(action="consent.granted").count() == 1
    assert Delivery.objects.filter(event_type="consent.granted").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_and_changes_nothing(moneylog):
    api = moneylog.api()
    _post(api, "/api/v1/consents/", _grant_body(), "grant-1")

    other = _post(api, "/api/v1/consents/", _grant_body(subject_ref="ml-2"), "grant-1")

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Consent.objects.count() == 1


@pytest.mark.django_db
def test_a_key_belongs_to_its_client(moneylog, hanbit):
    first = _post(moneylog.api(), "/api/v1/consents/", _grant_body(), "k")
    second = _post(hanbit.api(), "/api/v1/consents/", _grant_body(), "k")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second


@pytest.mark.django_db
def test_a_refused_request_keeps_no_answer_so_its_retry_runs(moneylog):
    api = moneylog.api()
    bad = _post(api, "/api/v1/consents/", _grant_body(scopes=["nope"]), "k-1")
    assert bad.status_code == 400
    assert not StoredResponse.objects.exists()

    # The caller fixes the body and uses a new key, or the same one: both run.
    fixed = _post(api, "/api/v1/consents/", _grant_body(), "k-1")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "é", "x" * 256, "a\tb"])
def test_a_malformed_key_is_a_400(moneylog, key):
    answer = _post(moneylog.api(), "/api/v1/consents/", _grant_body(), key)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["error"]["fields"]
    assert not Consent.objects.exists()


@pytest.mark.django_db
def test_a_persons_revocation_replays_for_that_person_only(person_app):
    minji = Person("minji")
    shop = OrgClient("moneylog", "머니로그")
    consent = make_consent(subject=minji.subject, recipient=shop.organization)
    api = person_app.api(minji.browser)
    path = f"/api/v1/me/consents/{consent.id}/revoke/"

    first = _post(api, path, {"reason": "enough"}, "r-1")
    again = _post(api, path, {"reason": "enough"}, "r-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert AuditEvent.objects.filter(action="consent.revoked").count() == 1
    stored = StoredResponse.objects.get(key="r-1")
    assert stored.client.endswith(f"/user:{minji.user.pk}")


@pytest.mark.django_db
def test_a_post_where_none_is_allowed_is_still_a_405(moneylog):
    answer = _post(moneylog.api(), "/api/v1/purposes/", {}, "k")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_checks_are_never_replayed(moneylog):
    subject = Person("minji").subject
    make_consent(subject=subject, recipient=moneylog.organization)
    body = {
        "subject_ref": ref(moneylog.organization, subject),
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit"],
    }
    api = moneylog.api()
    first = _post(api, "/api/v1/checks/", body, "c-1").json()
    second = _post(api, "/api/v1/checks/", body, "c-1").json()
    assert first["decision_id"] != second["decision_id"]  # two decisions
    assert not StoredResponse.objects.exists()


@pytest.mark.django_db
def test_answers_are_kept_for_a_day(moneylog, settings):
    settings.CMP_IDEMPOTENCY_KEY_HOURS = 24
    _post(moneylog.api(), "/api/v1/consents/", _grant_body(), "k")
    assert purge_stored_responses(now=timezone.now() + timedelta(hours=23)) == 0
    assert purge_stored_responses(now=timezone.now() + timedelta(hours=25)) == 1


@requires_postgres
def test_concurrent_retries_make_one_grant(committed_catalog):
    shop = OrgClient("moneylog", "머니로그")
    token = shop.token()
    answers: list[tuple[int, str]] = []
    start = threading.Barrier(4)

    def send() -> None:
        from rest_framework.test import APIClient

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        start.wait(timeout=30)
        answer = _post(api, "/api/v1/consents/", _grant_body(), "same")
        answers.append((answer.status_code, answer.json()["id"]))

    run_in_threads(send, count=4)

    assert len(answers) == 4
    assert {status for status, _ in answers} == {201}
    assert len({consent_id for _, consent_id in answers}) == 1
    assert Consent.objects.count() == 1


@contextmanager
def dropping_proxy(upstream: str, *, drop: int) -> Iterator[str]:
    """A loopback TCP proxy that passes each request on, and for the first `drop`
    requests to /api/v1/transfers/ closes the client's connection instead of
    passing the answer back: the platform did the work, the client never heard."""
    host, port = upstream.removeprefix("http://").split(":")
    listener = socket.create_server(("127.0.0.1", 0))
    dropped = [0]
    stop = threading.Event()

    def relay(client: socket.socket) -> None:
        with client, socket.create_connection((host, int(port)), timeout=10) as up:
            client.settimeout(10)
            request = _read_message(client)
            up.sendall(request)
            answer = _read_message(up)
            transfer = b"/api/v1/transfers/" in request.split(b"\r\n", 1)[0]
            if transfer and dropped[0] < drop:
                dropped[0] += 1
                return  # the answer is lost with the connection
            client.sendall(answer)

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=relay, args=(client,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        server.join(timeout=5)
        listener.close()


def _read_message(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (what the tests send)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@requires_postgres
def test_the_sdk_retries_a_dropped_transfer_and_it_is_recorded_once(
    live_server, committed_catalog
):
    shop = OrgClient("moneylog", "머니로그")
    subject = Person("minji").subject
    make_consent(subject=subject, recipient=shop.organization)
    with dropping_proxy(live_server.url, drop=1) as url:
        client = ConsentClient(
            url, shop.issued.client_id, shop.issued.client_secret, backoff=0.01
        )
        # Connections are not reused: each request meets the proxy afresh.
        client.session.headers["Connection"] = "close"
        decision = client.check(
            subject_ref=ref(shop.organization, subject),
            purpose="spending-analysis",
            scopes=["bank.deposit"],
        )
        transfer = client.record_transfer(
            decision_id=decision.decision_id,
            scopes=["bank.deposit"],
            record_count=3,
            direction="received",
        )
        client.close()

    assert Transfer.objects.count() == 1
    assert str(Transfer.objects.get().id) == transfer.id
    stored = StoredResponse.objects.get()  # the transfer's; checks keep none
    assert uuid.UUID(stored.key) and stored.status == 201


@pytest.mark.django_db
def test_a_registration_is_replayed_with_its_secret_never_stored_in_clear(moneylog):
    api = moneylog.api()
    body = {"url": "https://moneylog.example/hooks"}
    first = _post(api, "/api/v1/webhook-endpoints/", body, "hook-1")
    again = _post(api, "/api/v1/webhook-endpoints/", body, "hook-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the secret too: the first answer was lost
    secret = first.json()["secret"]
    stored = StoredResponse.objects.get(key="hook-1")
    assert secret not in json.dumps(stored.body)
    assert moneylog.organization.webhook_endpoints.count() == 1

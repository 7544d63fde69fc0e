"""What an operator sees: `/metrics` with the platform's own figures, and
`/readyz`, which fails when the database, the broker, beat or sealing does."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from audit.checkpoints import create_checkpoint
from audit.services import seal_pending_events, verify_audit_log
from config.models import Heartbeat
from config.tasks import heartbeat_task
from consents import services
from consents.models import Delivery
from tests.api.conftest import OrgClient
from tests.factories import TESTER, make_consent, make_subject
from tests.processes import REDIS_SERVER, own_redis
from tests.propagation.conftest import subscribe
from tests.workers import use_broker

pytestmark = pytest.mark.django_db


def _metrics(client: Client | None = None, **headers: str) -> dict[str, float]:
    """The scrape, as {series: value} (series with their labels)."""
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    series = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            series[name] = float(value)
    return series


def test_metrics_show_checks_and_the_platform_figures(catalog, recipient, bank):
    org = OrgClient("hanbit-card", "카드")
    api = org.api()
    subscribe(bank, "https://bank.example/hooks")
    consent = make_consent(subject=make_subject(), recipient=recipient, holders=[bank])
    services.revoke_consent(consent_id=consent.pk, actor=TESTER)
    Delivery.objects.filter(consent=consent, event_type="consent.revoked").update(
        status="failed"
    )
    before = _metrics()
    body = {
        "subject_ref": "nobody",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit"],
    }
    for _ in range(3):
        assert api.post("/api/v1/checks/", body, format="json").status_code == 200

    after = _metrics()

    denied = 'cmp_checks_total{outcome="denied",reason="unknown_subject"}'
    assert after[denied] - before.get(denied, 0) == 3
    assert after["cmp_check_seconds_count"] - before["cmp_check_seconds_count"] == 3
    assert after["cmp_staged_events"] >= 3
    assert after["cmp_deliveries_failed"] == 1
    assert "cmp_seal_lag_seconds" in after
    assert "cmp_checkpoint_age_seconds" not in after  # none signed yet
    seal_pending_events()
    create_checkpoint()
    verify_audit_log(actor=TESTER)
    later = _metrics()
    assert later["cmp_staged_events"] == 0
    assert later["cmp_seal_lag_seconds"] == 0
    assert later["cmp_checkpoint_age_seconds"] < 60
    assert later["cmp_last_verification_ok"] == 1
    assert any(name.startswith("django_http_requests_total") for name in later)


def test_metrics_are_for_the_scraper_only():
    assert Client(REMOTE_ADDR="8.8.4.4").get("/metrics").status_code == 403
    with override_settings(CMP_METRICS_TOKEN="scrape-me"):
        assert Client().get("/metrics").status_code == 401
        wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
        assert wrong.status_code == 401
        _metrics(Client(REMOTE_ADDR="8.8.4.4"), HTTP_AUTHORIZATION="Bearer scrape-me")


def _ready() -> tuple[int, dict]:
    response = Client().get("/readyz")
    return response.status_code, response.json()["checks"]


def test_ready_needs_a_fresh_heartbeat_and_sealing_that_keeps_up(catalog, recipient):
    status, checks = _ready()
    assert status == 503 and checks["beat"] == {
        "ok": False,
        "detail": "no heartbeat yet",
    }

    heartbeat_task()
    status, checks = _ready()
    assert status == 200, checks
    assert all(check["ok"] for check in checks.values())

    Heartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=5))
    status, checks = _ready()
    assert status == 503 and not checks["beat"]["ok"]

    heartbeat_task()
    org = OrgClient("hanbit-card", "카드")
    body = {
        "subject_ref": "nobody",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit"],
    }
    org.api().post("/api/v1/checks/", body, format="json")
    with override_settings(CMP_READY_MAX_SEAL_LAG_SECONDS=-1):
        status, checks = _ready()
    assert status == 503 and not checks["sealing"]["ok"]
    seal_pending_events()
    assert _ready()[0] == 200


@pytest.mark.skipif(not REDIS_SERVER, reason="needs redis-server")
def test_ready_fails_while_the_broker_is_down():
    heartbeat_task()
    with own_redis() as broker, use_broker(broker.url):
        assert _ready()[0] == 200
        broker.stop()
        status, checks = _ready()
        assert status == 503
        assert checks["broker"]["ok"] is False
        assert checks["database"]["ok"] is True

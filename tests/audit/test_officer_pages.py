"""The officers' pages: staff only, searches and exports recorded, in ko and en."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from audit.db_guard import suspend_guards
from audit.export import COMPLETED
from audit.models import AuditEvent
from audit.services import record_event
from tests.conftest import verify_second_factor
from tests.factories import bulk_chain


@pytest.fixture
def officer(db) -> Client:
    client = Client()
    user = get_user_model().objects.create_user("officer", is_staff=True)
    client.force_login(user)
    verify_second_factor(client, user)
    return client


@pytest.fixture
def log(db):
    bulk_chain(130)


@pytest.mark.parametrize(
    "path", ["/audit/", "/audit/events/1/", "/audit/exports/", "/audit/figures/"]
)
def test_pages_are_for_staff_only(log, path):
    assert Client().get(path).status_code == 302
    person = Client()
    person.force_login(get_user_model().objects.create_user("minji"))
    response = person.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_search_pages_through_matches_and_is_recorded(officer, log):
    response = officer.get("/audit/", {"purpose": "credit-scoring"})
    page = response.context["page"]
    assert len(page.events) == 50
    assert all(e.purpose == "credit-scoring" for e in page.events)
    assert page.events[0].sequence > page.events[-1].sequence
    older = officer.get(
        "/audit/", {"purpose": "credit-scoring", "before": page.older}
    ).context["page"]
    assert older.events[0].sequence < page.events[-1].sequence
    newer = officer.get(
        "/audit/", {"purpose": "credit-scoring", "after": older.newer}
    ).context["page"]
    assert [e.sequence for e in newer.events] == [e.sequence for e in page.events]

    searches = AuditEvent.objects.filter(action="audit.searched").order_by("sequence")
    assert searches.count() == 3
    first = searches.first()
    assert first.actor == "staff:officer"
    assert first.payload["filters"]["purpose"] == "credit-scoring"


def test_a_search_by_subject_and_time(officer, log):
    since = (timezone.now() - timedelta(seconds=30)).isoformat()
    response = officer.get("/audit/", {"subject": "sub_0019", "since": since})
    assert [e.sequence for e in response.context["page"].events] == [121]
    assert "sub_0019" in response.content.decode()


def test_bad_filters_are_shown_not_searched(officer, log):
    response = officer.get("/audit/", {"since": "soon"})
    assert response.status_code == 200
    assert response.context["page"] is None
    assert not AuditEvent.objects.filter(action="audit.searched").exists()


def test_one_event_shows_its_hash_links(officer, log):
    response = officer.get("/audit/events/60/")
    html = response.content.decode()
    assert response.context["intact"] and response.context["links_back"]
    event = AuditEvent.objects.get(sequence=60)
    assert event.hash in html and event.prev_hash in html
    assert 'href="/audit/events/59/"' in html and 'href="/audit/events/61/"' in html
    assert AuditEvent.objects.filter(action="audit.viewed").exists()
    assert officer.get("/audit/events/9999/").status_code == 404


def test_a_tampered_event_shows_as_such(officer, log):
    suspend_guards(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = 'x' WHERE sequence = 60")
    assert officer.get("/audit/events/60/").context["intact"] is False


def test_an_export_downloads_and_its_manifest_follows(officer, log):
    response = officer.post(
        "/audit/exports/", {"format": "jsonl", "action": "consent.revoked"}
    )
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content)
    assert body.count(b"\n") == 32
    listing = officer.get("/audit/exports/").content.decode()
    export_id = response["X-Export-Id"]
    assert f"/audit/exports/{export_id}/manifest/" in listing
    manifest = json.loads(officer.get(f"/audit/exports/{export_id}/manifest/").content)
    assert manifest["kind"] == "filtered" and manifest["count"] == 32
    assert AuditEvent.objects.get(action=COMPLETED).actor == "staff:officer"


def test_the_export_form_is_prefilled_from_a_search(officer, log):
    response = officer.get("/audit/exports/", {"recipient": "org-2"})
    assert response.context["form"]["recipient"].value() == "org-2"


def test_verification_status_and_a_run_on_demand(officer, log):
    page = officer.get("/audit/verification/")
    assert page.context["result"] is None
    assert "아직 검증되지 않았습니다" in page.content.decode()  # Korean by default
    response = officer.post("/audit/verification/run/", follow=True)
    html = response.content.decode()
    assert "정상." in html and "감사 기록이 검증되었습니다." in html
    assert response.context["result"]["checked"] == 130
    assert officer.get("/audit/verification/run/").status_code == 405


def _revoke_and_acknowledge(consent: str, wait: timedelta | None) -> None:
    now = timezone.now()
    with transaction.atomic():
        record_event(
            action="consent.revoked",
            actor=Actor("subject", "s"),
            recipient="moneylog",
            purpose="spending-analysis",
            consent_id=consent,
            occurred_at=now - timedelta(hours=2),
        )
        if wait is not None:
            record_event(
                action="consent.acknowledged",
                actor=Actor("organization", "moneylog"),
                recipient="moneylog",
                consent_id=consent,
                occurred_at=now - timedelta(hours=2) + wait,
            )


def test_figures_draw_charts_in_both_languages(officer, log):
    _revoke_and_acknowledge(
        "00000000-0000-4000-8000-000000000001", timedelta(seconds=30)
    )
    _revoke_and_acknowledge(
        "00000000-0000-4000-8000-000000000002", timedelta(minutes=10)
    )
    _revoke_and_acknowledge("00000000-0000-4000-8000-000000000003", None)
    response = officer.get("/audit/figures/", {"days": 7}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert html.count("<svg") == 5
    assert "Checks denied" in html and "credit-scoring" in html and "org-3" in html
    acks = response.context["acks"]
    assert (acks.revoked, acks.pending, acks.buckets) == (35, 33, [1, 0, 1, 0, 0])
    totals = dict(response.context["totals"])
    assert totals["Checks allowed"] + totals["Checks denied"] == 33
    korean = officer.get("/audit/figures/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "철회" in korean and "<svg" in korean

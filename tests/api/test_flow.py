"""End to end over HTTP with real tokens: the contract organizations rely on."""

import pytest
from django.test import Client

from audit.signing import verify_jws

EVIDENCE = {"channel": "mobile-app", "screen": "consent-v3", "at": "2026-11-01T10:00Z"}


def _json(response):
    return response.json()


@pytest.mark.django_db
def test_recipient_and_holder_flow_until_revocation(moneylog, hanbit):
    recipient, holder = moneylog.api(), hanbit.api()

    created = recipient.post(
        "/api/v1/consents/",
        {
            "subject_ref": "ml-0001",
            "subject_identifier": "minji@example.kr",
            "purpose": "spending-analysis",
            "scopes": ["bank.deposit", "card.bills"],
            "holders": ["hanbit-bank"],
            "duration_days": 90,
            "evidence": EVIDENCE,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    consent = created.json()
    assert consent["status"] == "active" and consent["subject_ref"] == "ml-0001"
    receipt = verify_jws(consent["receipt"])
    assert receipt["consent_id"] == consent["id"]

    check = {
        "subject_ref": "ml-0001",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit.transactions"],
    }
    allowed = recipient.post("/api/v1/checks/", check, format="json").json()
    assert allowed["allowed"] is True and allowed["reason"] is None
    jwks = Client().get("/.well-known/jwks.json").json()
    claims = verify_jws(allowed["transfer_token"], jwks)
    assert claims["consent_id"] == consent["id"]
    assert claims["exp"] - claims["iat"] <= 300

    linked = holder.post(
        "/api/v1/subject-references/",
        {"subject_ref": "hb-9", "subject_identifier": "MINJI@example.kr"},
        format="json",
    )
    assert linked.status_code == 201, linked.content
    send = {**check, "subject_ref": "hb-9", "counterparty": "moneylog"}
    holder_check = holder.post("/api/v1/checks/", send, format="json").json()
    assert holder_check["allowed"] is True

    transfer = holder.post(
        "/api/v1/transfers/",
        {
            "transfer_token": holder_check["transfer_token"],
            "scopes": ["bank.deposit.transactions"],
            "record_count": 12,
            "direction": "sent",
        },
        format="json",
    )
    assert transfer.status_code == 201, transfer.content

    revoked = recipient.post(
        f"/api/v1/consents/{consent['id']}/revoke/",
        {"reason": "account closed"},
        format="json",
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    for client, body in ((recipient, check), (holder, send)):
        denied = client.post("/api/v1/checks/", body, format="json").json()
        assert (denied["allowed"], denied["reason"]) == (False, "revoked")
        assert denied["transfer_token"] is None

    late = holder.post(
        "/api/v1/transfers/",
        {
            "decision_id": holder_check["decision_id"],
            "scopes": ["bank.deposit.transactions"],
            "record_count": 1,
            "direction": "sent",
        },
        format="json",
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "revoked"


@pytest.mark.django_db
def test_consent_request_shows_its_outcome_once_approved(moneylog):
    from consents import services
    from tests.api.conftest import ask_consent
    from tests.factories import make_subject

    api = moneylog.api()
    asked = ask_consent(api, subject_ref="ml-77", scopes=["card.bills", "bank.deposit"])
    assert asked["status"] == "pending"
    assert asked["approve_url"].endswith(f"/consent-requests/{asked['id']}/")
    services.approve_consent_request(
        request_id=asked["id"], subject=make_subject(), scope_codes=["card.bills"]
    )
    shown = api.get(f"/api/v1/consent-requests/{asked['id']}/").json()
    assert shown["status"] == "approved"
    consent = api.get(f"/api/v1/consents/{shown['consent_id']}/").json()
    assert consent["scopes"] == ["card.bills"]
    assert consent["subject_ref"] == "ml-77"


@pytest.mark.django_db
def test_consent_list_filters_and_pages(moneylog):
    from tests.api.conftest import record_consent

    api = moneylog.api()
    for n in range(3):
        record_consent(api, subject_ref=f"ml-{n}")
    first = record_consent(
        api,
        subject_ref="ml-9",
        purpose="credit-scoring",
        scopes=["credit.score"],
        duration_days=30,
    )
    api.post(f"/api/v1/consents/{first['id']}/revoke/", {}, format="json")
    assert len(api.get("/api/v1/consents/").json()["results"]) == 4
    page = api.get("/api/v1/consents/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None
    revoked = api.get("/api/v1/consents/?status=revoked").json()["results"]
    assert [c["id"] for c in revoked] == [first["id"]]
    mine = api.get("/api/v1/consents/?subject_ref=ml-1").json()["results"]
    assert [c["subject_ref"] for c in mine] == ["ml-1"]
    scoring = api.get("/api/v1/consents/?purpose=credit-scoring").json()["results"]
    assert len(scoring) == 1


@pytest.mark.django_db
def test_reference_pages_are_served_without_a_cdn(client):
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.json()["info"]["title"] == "CMP Organization API"

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

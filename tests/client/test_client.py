"""The SDK against a live server of the platform on a free port (real database)."""

import uuid

import pytest
import requests
from oauth2_provider.models import AccessToken

from cmp.client import (
    Conflict,
    InvalidRequest,
    JWKSCache,
    NotFound,
    PermissionDenied,
    verify_transfer_token,
)
from tests.client.conftest import Registered, record


def test_every_recipient_and_holder_method_round_trips(platform, shop, bank):
    consent = record(
        shop.client,
        subject_identifier="minji@example.kr",
        holders=["hanbit-bank"],
    )
    assert consent.status == "active" and consent.receipt
    assert shop.client.get_consent(consent.id).subject_ref == "ml-1"
    assert [c.id for c in shop.client.list_consents(subject_ref="ml-1")] == [consent.id]

    bank.client.link_subject_reference(
        subject_ref="hb-7", subject_identifier="minji@example.kr"
    )
    allowed = bank.client.check(
        subject_ref="hb-7",
        purpose="spending-analysis",
        scopes=["bank.deposit"],
        counterparty="moneylog",
    )
    assert allowed and allowed.transfer_token
    token = verify_transfer_token(
        allowed.transfer_token,
        JWKSCache(f"{platform}/.well-known/jwks.json"),
        consent_id=consent.id,
        purpose="spending-analysis",
        scopes=["bank.deposit"],
    )
    assert token.holder == "hanbit-bank" and token.recipient == "moneylog"
    sent = bank.client.record_transfer(
        decision_id=allowed.decision_id,
        scopes=["bank.deposit"],
        record_count=12,
        direction="sent",
    )
    assert sent.consent_id == consent.id and sent.record_count == 12
    received = shop.client.record_transfer(
        transfer_token=allowed.transfer_token,
        scopes=["bank.deposit"],
        record_count=12,
        direction="received",
    )
    assert received.decision_id == allowed.decision_id

    assert shop.client.pause(consent.id, reason="travel").status == "paused"
    assert shop.client.resume(consent.id).status == "active"
    assert shop.client.revoke(consent.id, reason="closed").status == "revoked"
    denied = bank.client.check(
        subject_ref="hb-7",
        purpose="spending-analysis",
        scopes=["bank.deposit"],
        counterparty="moneylog",
    )
    assert not denied and denied.reason == "revoked"
    endpoint = shop.client.register_webhook_endpoint(
        "https://moneylog.example/hooks", event_types=["consent.revoked"]
    )
    assert endpoint["secret"].startswith("whsec_")
    ack = shop.client.acknowledge(consent.id, action="stopped")
    assert ack.action == "stopped" and ack.seconds_after_end >= 0

    asked = shop.client.request_consent(
        subject_ref="ml-2",
        purpose="spending-analysis",
        scopes=["bank.deposit"],
        redirect_uri="https://moneylog.example/back",
        state="s1",
    )
    assert asked.status == "pending" and asked.approve_url.endswith(f"{asked.id}/")
    assert shop.client.get_consent_request(asked.id).status == "pending"


def test_api_errors_arrive_typed_with_the_api_code(platform, shop):
    with pytest.raises(NotFound) as missing:
        shop.client.get_consent(str(uuid.uuid4()))
    assert missing.value.code == "not_found" and missing.value.status == 404

    with pytest.raises(InvalidRequest) as invalid:
        shop.client.check(subject_ref="x", purpose="spending-analysis", scopes=[])
    assert "scopes" in invalid.value.fields

    consent = record(shop.client)
    shop.client.revoke(consent.id)
    with pytest.raises(Conflict):
        shop.client.pause(consent.id)

    reader = Registered(platform, "reader-only", scopes="consents:read")
    with pytest.raises(PermissionDenied) as refused:
        reader.client.check(subject_ref="x", purpose="p", scopes=["bank"])
    assert refused.value.code == "permission_denied"


def test_a_token_that_expired_or_was_revoked_is_renewed_once(platform, shop):
    record(shop.client)
    first = shop.client.access_token()
    AccessToken.objects.filter(token_checksum__isnull=False).update(
        expires="2000-01-01T00:00:00Z"
    )

    assert list(shop.client.list_consents())  # a 401, a new token, the answer

    assert shop.client.access_token() != first
    shop.client._token_expires = 0  # due for renewal before the next call
    renewed = shop.client.access_token()
    assert renewed != first
    assert list(shop.client.list_consents())


def test_the_client_reuses_its_connection(platform, shop):
    opened = []
    adapter = shop.client.session.get_adapter(platform)
    original = adapter.get_connection_with_tls_context

    def counting(*args, **kwargs):
        connection_pool = original(*args, **kwargs)
        opened.append(id(connection_pool))
        return connection_pool

    adapter.get_connection_with_tls_context = counting
    for _ in range(5):
        shop.client.check(subject_ref="x", purpose="spending-analysis", scopes=["bank"])
    assert len(set(opened)) == 1  # one pool, kept alive across calls
    assert isinstance(shop.client.session, requests.Session)

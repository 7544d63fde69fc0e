"""The outbox: notices are written with the change, for every party, or not at all."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from consents import services
from consents.models import Consent
from consents.webhooks.models import Delivery
from tests.factories import TESTER, make_consent, ref, send_data
from tests.propagation.conftest import subscribe

pytestmark = pytest.mark.usefixtures("catalog")


def _bodies(event_type: str) -> dict[str, dict]:
    """Organization code → the data of its notice of `event_type`."""
    rows = Delivery.objects.filter(event_type=event_type).select_related("organization")
    return {d.organization.code: json.loads(d.body)["data"] for d in rows}


@pytest.fixture
def endpoints(recipient, bank, card, outsider):
    return {
        org.code: subscribe(org, f"https://{org.code}.example/hooks")[0]
        for org in (recipient, bank, card, outsider)
    }


def test_revoke_notifies_recipient_holders_and_transfer_parties_each_by_own_reference(
    endpoints, recipient, bank, card, subject
):
    consent = make_consent(subject=subject, recipient=recipient, holders=[bank, card])
    send_data(card, recipient, subject)
    services.revoke_consent(
        consent_id=consent.id, actor=Actor("subject", subject.pseudonym), reason="no"
    )

    bodies = _bodies("consent.revoked")
    assert set(bodies) == {recipient.code, bank.code, card.code}  # not the outsider
    for org in (recipient, bank, card):
        assert bodies[org.code]["subject_ref"] == ref(org, subject)
        assert bodies[org.code]["consent_id"] == str(consent.id)
        assert bodies[org.code]["status"] == "revoked"
    assert bodies[recipient.code]["role"] == "recipient"
    assert bodies[bank.code]["role"] == "holder"
    # Nobody's notice carries another party's reference for the person.
    for org in (recipient, bank, card):
        others = {ref(o, subject) for o in (recipient, bank, card) if o != org}
        assert not others & set(json.dumps(bodies[org.code]).split('"'))


def test_only_active_endpoints_subscribed_to_the_type_get_a_notice(
    recipient, bank, subject
):
    wanted, _ = subscribe(
        recipient, "https://a.example/h", event_types=["consent.revoked"]
    )
    subscribe(recipient, "https://b.example/h", event_types=["consent.granted"])
    gone, _ = subscribe(recipient, "https://c.example/h")
    services.disable_webhook_endpoint(
        organization=recipient, endpoint_id=gone.id, actor=TESTER
    )
    consent = make_consent(subject=subject, recipient=recipient)
    services.revoke_consent(consent_id=consent.id, actor=TESTER)

    revoked = Delivery.objects.filter(event_type="consent.revoked")
    assert [d.endpoint_id for d in revoked] == [wanted.id]


def test_an_error_before_commit_leaves_neither_the_revocation_nor_a_delivery(
    endpoints, recipient, subject
):
    consent = make_consent(subject=subject, recipient=recipient)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.revoke_consent(consent_id=consent.id, actor=TESTER)
        assert Delivery.objects.filter(event_type="consent.revoked").exists()
        raise RuntimeError("crash after the change, before the commit")

    assert Consent.objects.get(pk=consent.pk).status == "active"
    assert not Delivery.objects.filter(event_type="consent.revoked").exists()


def test_grant_expiry_and_request_answers_are_announced(
    endpoints, recipient, bank, subject
):
    consent = make_consent(
        subject=subject,
        recipient=recipient,
        holders=[bank],
        expires_at=timezone.now() + timedelta(seconds=1),
    )
    assert set(_bodies("consent.granted")) == {recipient.code, bank.code}

    services.expire_due_consents(now=consent.expires_at + timedelta(seconds=1))
    assert set(_bodies("consent.expired")) == {recipient.code, bank.code}

    request = services.create_consent_request(
        recipient=recipient,
        subject_ref=ref(recipient, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
        redirect_uri="https://moneylog.example/back",
        state="s-1",
    )
    services.approve_consent_request(request_id=request.id, subject=subject)
    approved = _bodies("consent_request.approved")
    assert set(approved) == {recipient.code}
    assert approved[recipient.code]["state"] == "s-1"
    assert approved[recipient.code]["consent_request_id"] == str(request.id)


def test_pause_resume_and_supersede_reach_every_party(
    endpoints, recipient, bank, card, subject
):
    consent = make_consent(subject=subject, recipient=recipient, holders=[bank, card])
    send_data(card, recipient, subject)
    parties = {recipient.code, bank.code, card.code}  # never the outsider
    person = Actor("subject", subject.pseudonym)

    services.pause_consent(consent_id=consent.id, actor=person, reason="holiday")
    paused = _bodies("consent.paused")
    assert set(paused) == parties
    assert paused[bank.code]["status"] == "paused"
    assert paused[bank.code]["subject_ref"] == ref(bank, subject)
    assert paused[bank.code]["reason"] == "holiday"

    services.resume_consent(consent_id=consent.id, actor=person)
    assert set(_bodies("consent.resumed")) == parties
    assert {b["status"] for b in _bodies("consent.resumed").values()} == {"active"}

    successor = make_consent(subject=subject, recipient=recipient, holders=[bank])
    superseded = _bodies("consent.superseded")
    assert set(superseded) == parties
    for body in superseded.values():
        assert body["consent_id"] == str(consent.id)
        assert body["status"] == "superseded"
        assert body["superseded_by"] == str(successor.id)


def test_endpoints_that_wanted_everything_also_get_the_new_types(recipient):
    from importlib import import_module

    from django.apps import apps

    migration = import_module(
        "consents.migrations.0007_subscribe_to_every_consent_change"
    )
    everything, _ = subscribe(
        recipient,
        "https://all.example/h",
        event_types=sorted(migration.EARLIER),
    )
    chosen, _ = subscribe(
        recipient, "https://some.example/h", event_types=["consent.revoked"]
    )

    migration.subscribe_to_new_types(apps, None)

    everything.refresh_from_db()
    chosen.refresh_from_db()
    assert set(migration.ADDED) <= set(everything.event_types)
    assert chosen.event_types == ["consent.revoked"]

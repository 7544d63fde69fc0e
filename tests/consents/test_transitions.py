from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actors import Actor
from consents import services
from consents.errors import (
    ConsentImmutableError,
    InvalidTransitionError,
    ValidationError,
)
from consents.models import Consent
from tests.factories import make_consent

pytestmark = pytest.mark.usefixtures("catalog")
ACTOR = Actor("subject", "tester")


def _reload(consent: Consent) -> Consent:
    return Consent.objects.get(pk=consent.pk)


def _move(consent: Consent, to: str) -> Consent:
    action = {
        "paused": services.pause_consent,
        "active": services.resume_consent,
        "revoked": services.revoke_consent,
    }[to]
    return action(consent_id=consent.id, actor=ACTOR, reason=f"to {to}")


def test_active_consent_pauses_and_resumes(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    assert _move(consent, "paused").status == "paused"
    assert _reload(consent).status_reason == "to paused"
    assert _move(consent, "active").status == "active"
    assert _reload(consent).status_changed_by == "subject:tester"


@pytest.mark.parametrize("first", [None, "paused"])
def test_live_consent_can_be_revoked(subject, recipient, first):
    consent = make_consent(subject=subject, recipient=recipient)
    if first:
        _move(consent, first)
    assert _move(consent, "revoked").status == "revoked"


@pytest.mark.parametrize("to", ["paused", "active", "revoked"])
def test_revoked_consent_never_reopens(subject, recipient, to):
    consent = make_consent(subject=subject, recipient=recipient)
    _move(consent, "revoked")
    with pytest.raises(InvalidTransitionError):
        _move(consent, to)
    assert _reload(consent).status == "revoked"


def test_active_consent_cannot_resume(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    with pytest.raises(InvalidTransitionError):
        _move(consent, "active")


def test_paused_consent_cannot_pause_again(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    _move(consent, "paused")
    with pytest.raises(InvalidTransitionError):
        _move(consent, "paused")


@pytest.mark.parametrize("to", ["paused", "active", "revoked"])
def test_expired_consent_never_reopens(subject, recipient, to):
    consent = make_consent(subject=subject, recipient=recipient, days=1)
    assert services.expire_due_consents(now=timezone.now() + timedelta(days=2)) == 1
    assert _reload(consent).status == "expired"
    with pytest.raises(InvalidTransitionError):
        _move(consent, to)


def test_expiry_takes_paused_consents_too_and_runs_twice_safely(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient, days=1)
    _move(consent, "paused")
    later = timezone.now() + timedelta(days=2)
    assert services.expire_due_consents(now=later) == 1
    assert services.expire_due_consents(now=later) == 0
    assert _reload(consent).status == "expired"


def test_paused_consent_past_its_end_cannot_resume(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient, days=1)
    _move(consent, "paused")
    with pytest.raises(InvalidTransitionError):
        services.resume_consent(
            consent_id=consent.id, actor=ACTOR, now=timezone.now() + timedelta(days=2)
        )


def test_new_grant_supersedes_the_live_consent(subject, recipient):
    old = make_consent(subject=subject, recipient=recipient, scopes=["bank.deposit"])
    new = make_consent(subject=subject, recipient=recipient, scopes=["card.approvals"])
    old = _reload(old)
    assert old.status == "superseded"
    assert old.superseded_by_id == new.id
    with pytest.raises(InvalidTransitionError):
        _move(old, "active")


@pytest.mark.parametrize("to", ["paused", "active", "revoked"])
def test_superseded_consent_never_reopens(subject, recipient, to):
    old = make_consent(subject=subject, recipient=recipient)
    make_consent(subject=subject, recipient=recipient)
    with pytest.raises(InvalidTransitionError):
        _move(_reload(old), to)


def test_consent_is_never_deleted(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    with pytest.raises(ConsentImmutableError):
        consent.delete()
    with pytest.raises(ConsentImmutableError):
        Consent.objects.filter(pk=consent.pk).delete()
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_consent_is_never_edited_outside_the_services(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    consent.status = "active"
    consent.expires_at = consent.expires_at + timedelta(days=999)
    with pytest.raises(ConsentImmutableError):
        consent.save()
    with pytest.raises(ConsentImmutableError):
        Consent.objects.filter(pk=consent.pk).update(status="revoked")


def test_grant_is_capped_by_the_purpose_duration(subject, recipient):
    with pytest.raises(ValidationError) as error:
        make_consent(
            subject=subject, recipient=recipient, purpose="credit-scoring", days=91
        )
    assert "expires_at" in error.value.fields


def test_grant_refuses_unknown_scopes_and_holders(subject, recipient):
    with pytest.raises(ValidationError) as error:
        make_consent(subject=subject, recipient=recipient, scopes=["bank.nope"])
    assert error.value.fields == {"scopes": ["unknown scope bank.nope"]}
    assert not Consent.objects.exists()


def test_grant_by_organization_needs_evidence(subject, recipient):
    with pytest.raises(ValidationError):
        services.grant_consent(
            subject=subject,
            recipient=recipient,
            purpose_code="spending-analysis",
            scope_codes=["bank.deposit"],
            actor=Actor("organization", recipient.code),
            collection_method="organization",
        )

from datetime import timedelta

import pytest
from django.utils import timezone

from consents import services
from consents.errors import InvalidTransitionError, ValidationError
from consents.models import ConsentRequest

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def request_(recipient, bank):
    return services.create_consent_request(
        recipient=recipient,
        subject_ref="ml-user-77",
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit", "card.bills"],
        holder_codes=[bank.code],
        duration_days=90,
        redirect_uri="https://moneylog.example/callback",
        state="xyz",
    )


def test_approving_all_scopes_grants_the_consent(request_, subject, recipient):
    consent = services.approve_consent_request(request_id=request_.id, subject=subject)
    request_.refresh_from_db()
    assert request_.status == "approved" and request_.consent == consent
    assert sorted(s.code for s in consent.scopes.all()) == [
        "bank.deposit",
        "card.bills",
    ]
    assert consent.collection_method == "consent_request"
    assert (consent.expires_at - consent.granted_at).days == 90
    decision = services.check_consent(
        caller=recipient,
        subject_ref="ml-user-77",
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
    )
    assert decision.allowed


def test_approving_some_scopes_grants_only_those(request_, subject):
    consent = services.approve_consent_request(
        request_id=request_.id, subject=subject, scope_codes=["card.bills"]
    )
    assert [s.code for s in consent.scopes.all()] == ["card.bills"]


def test_person_cannot_approve_scopes_not_asked_for(request_, subject):
    with pytest.raises(ValidationError):
        services.approve_consent_request(
            request_id=request_.id, subject=subject, scope_codes=["credit.score"]
        )
    request_.refresh_from_db()
    assert request_.status == "pending"


def test_denied_request_grants_nothing_and_cannot_be_approved(request_, subject):
    services.deny_consent_request(request_id=request_.id, subject=subject)
    with pytest.raises(InvalidTransitionError):
        services.approve_consent_request(request_id=request_.id, subject=subject)
    assert ConsentRequest.objects.get(pk=request_.pk).consent is None


def test_unanswered_request_expires(request_, subject):
    later = timezone.now() + timedelta(days=30)
    assert services.expire_stale_consent_requests(now=later) == 1
    with pytest.raises(InvalidTransitionError):
        services.approve_consent_request(request_id=request_.id, subject=subject)


def test_request_terms_are_validated_when_asked(recipient):
    with pytest.raises(ValidationError):
        services.create_consent_request(
            recipient=recipient,
            subject_ref="x",
            purpose_code="credit-scoring",
            scope_codes=["credit.score"],
            duration_days=365,
            redirect_uri="https://moneylog.example/cb",
        )

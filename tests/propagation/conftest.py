import pytest

from consents import services
from consents.services.endpoints import register_webhook_endpoint
from consents.webhooks.models import Delivery
from tests.factories import TESTER, make_consent
from tests.receiver import running_receiver


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


def subscribe(organization, url: str, **options):
    """An endpoint for the organization; returns (endpoint, secret)."""
    return register_webhook_endpoint(
        organization=organization, url=url, actor=TESTER, **options
    )


@pytest.fixture
def revoke(recipient, subject):
    """Revoke a fresh consent; the recipient's delivery of it."""

    def run() -> Delivery:
        consent = make_consent(subject=subject, recipient=recipient)
        services.revoke_consent(consent_id=consent.id, actor=TESTER, reason="closed")
        return Delivery.objects.get(consent=consent, event_type="consent.revoked")

    return run

import pytest

from consents.services.endpoints import register_webhook_endpoint
from tests.factories import TESTER
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

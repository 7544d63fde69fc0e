import pytest

from cmp.client import ConsentClient
from consents import services
from tests.factories import TESTER


class Registered:
    """An organization with real OAuth credentials, and an SDK client for it."""

    def __init__(self, base_url: str, code: str, **client_options):
        issued = services.register_organization(code=code, name=code, actor=TESTER)
        self.organization = issued.organization
        self.client_id = issued.client_id
        self.client_secret = issued.client_secret
        self.client = ConsentClient(
            base_url, issued.client_id, issued.client_secret, **client_options
        )


@pytest.fixture
def platform(live_server, committed_catalog):
    """The platform served on a free port, on the test database."""
    return live_server.url


@pytest.fixture
def shop(platform):
    registered = Registered(platform, "moneylog", backoff=0.01)
    yield registered
    registered.client.close()


@pytest.fixture
def bank(platform):
    registered = Registered(platform, "hanbit-bank", backoff=0.01)
    yield registered
    registered.client.close()


EVIDENCE = {"channel": "mobile-app", "screen": "consent-v3", "at": "2026-11-22"}


def record(client: ConsentClient, subject_ref: str = "ml-1", **terms):
    terms.setdefault("scopes", ["bank.deposit"])
    return client.record_consent(
        subject_ref=subject_ref,
        purpose="spending-analysis",
        evidence=EVIDENCE,
        duration_days=30,
        **terms,
    )

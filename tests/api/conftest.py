import base64

import pytest
from rest_framework.test import APIClient

from consents import services
from tests.factories import TESTER

ALL_SCOPES = (
    "consents:read consents:write consents:check consent-requests:write "
    "transfers:write webhooks:manage audit:read"
)


class OrgClient:
    """An organization with real OAuth client credentials and an API client."""

    def __init__(self, code: str, name: str):
        self.issued = services.register_organization(code=code, name=name, actor=TESTER)
        self.organization = self.issued.organization
        self.code = code

    def oauth(self, path: str, data: dict):
        """A call to the authorization server with the client's basic credentials."""
        basic = f"{self.issued.client_id}:{self.issued.client_secret}"
        return APIClient().post(
            path,
            data,
            format="multipart",
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(basic.encode()).decode(),
        )

    def token_response(self, scope: str = ALL_SCOPES) -> dict:
        response = self.oauth(
            "/o/token/", {"grant_type": "client_credentials", "scope": scope}
        )
        assert response.status_code == 200, response.content
        return response.json()

    def token(self, scope: str = ALL_SCOPES) -> str:
        return self.token_response(scope)["access_token"]

    def api(self, scope: str = ALL_SCOPES) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token(scope)}")
        return client


def post_ok(api: APIClient, path: str, body: dict) -> dict:
    """POST that must succeed with 201; returns the JSON body."""
    response = api.post(path, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def record_consent(api: APIClient, **fields) -> dict:
    """Record an organization-collected consent with sensible defaults."""
    body = {
        "subject_ref": "ml-0001",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit"],
        "evidence": {"channel": "mobile-app", "screen": "consent-v3"},
        **fields,
    }
    return post_ok(api, "/api/v1/consents/", body)


def ask_consent(api: APIClient, **fields) -> dict:
    body = {
        "subject_ref": "ml-0002",
        "purpose": "spending-analysis",
        "scopes": ["card.bills"],
        "redirect_uri": "https://moneylog.example/consents/done",
        "state": "xyz",
        **fields,
    }
    return post_ok(api, "/api/v1/consent-requests/", body)


@pytest.fixture
def moneylog(catalog):
    return OrgClient("moneylog", "머니로그")


@pytest.fixture
def hanbit(catalog):
    return OrgClient("hanbit-bank", "한빛은행")


@pytest.fixture
def intruder(catalog):
    return OrgClient("intruder", "Intruder Ltd")

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

    def token(self, scope: str = ALL_SCOPES) -> str:
        basic = f"{self.issued.client_id}:{self.issued.client_secret}"
        response = APIClient().post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": scope},
            format="multipart",
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(basic.encode()).decode(),
        )
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    def api(self, scope: str = ALL_SCOPES) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token(scope)}")
        return client


@pytest.fixture
def moneylog(catalog):
    return OrgClient("moneylog", "머니로그")


@pytest.fixture
def hanbit(catalog):
    return OrgClient("hanbit-bank", "한빛은행")


@pytest.fixture
def intruder(catalog):
    return OrgClient("intruder", "Intruder Ltd")

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import Application
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


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class PersonApp:
    """An app people sign in to: a public OAuth client using the code flow + PKCE."""

    REDIRECT_URI = "https://budget.example/oauth/callback"

    def __init__(self, name: str = "가계부 앱"):
        self.application = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=self.REDIRECT_URI,
        )
        self.client_id = self.application.client_id

    def authorize_params(self, scope: str, challenge: str, **extra) -> dict:
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.REDIRECT_URI,
            "scope": scope,
            "state": "st-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }

    def code(self, browser: Client, scope: str, challenge: str) -> str:
        """The person, signed in to `browser`, allows the app; returns the code."""
        params = self.authorize_params(scope, challenge)
        shown = browser.get("/o/authorize/", params)
        assert shown.status_code == 200, shown.content
        allowed = browser.post("/o/authorize/", {**params, "allow": "Authorize"})
        assert allowed.status_code == 302, allowed.content
        query = parse_qs(urlsplit(allowed["Location"]).query)
        assert query["state"] == ["st-1"]
        return query["code"][0]

    def exchange(self, code: str, verifier: str | None):
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.REDIRECT_URI,
            "client_id": self.client_id,
        }
        if verifier is not None:
            body["code_verifier"] = verifier
        return APIClient().post("/o/token/", body, format="multipart")

    def token(self, browser: Client, scope: str = "me:read me:write") -> str:
        verifier, challenge = pkce_pair()
        response = self.exchange(self.code(browser, scope, challenge), verifier)
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    def api(self, browser: Client, scope: str = "me:read me:write") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token(browser, scope)}")
        return client


@pytest.fixture
def person_app(catalog):
    return PersonApp()

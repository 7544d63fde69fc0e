"""`/api/v1/me/`: apps acting for one person, with tokens from the code flow + PKCE."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from audit.services import seal_pending_events
from consents.models import Consent
from tests.api.conftest import pkce_pair
from tests.factories import Person, make_consent, ref

pytestmark = pytest.mark.django_db


@pytest.fixture
def minji(catalog):
    person = Person("minji")
    return person.subject, person.browser


@pytest.fixture
def jihoon(catalog):
    person = Person("jihoon")
    return person.subject, person.browser


def _check(org_client, subject, scopes=("bank.deposit",)) -> dict:
    body = {
        "subject_ref": ref(org_client.organization, subject),
        "purpose": "spending-analysis",
        "scopes": list(scopes),
    }
    response = org_client.api().post("/api/v1/checks/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_code_becomes_a_token_only_with_its_pkce_verifier(person_app, minji):
    _, browser = minji
    verifier, challenge = pkce_pair()
    code = person_app.code(browser, "me:read", challenge)
    assert person_app.exchange(code, None).status_code == 400
    wrong, _ = pkce_pair()
    code = person_app.code(browser, "me:read", challenge)
    assert person_app.exchange(code, wrong).status_code == 400
    code = person_app.code(browser, "me:read", challenge)
    granted = person_app.exchange(code, verifier)
    assert granted.status_code == 200, granted.content
    assert granted.json()["scope"] == "me:read"


def test_no_code_without_a_signed_in_person_and_an_s256_challenge(person_app, minji):
    _, browser = minji
    _, challenge = pkce_pair()
    params = person_app.authorize_params("me:read", challenge)
    anonymous = Client().get("/o/authorize/", params)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/?next=")
    without = {key: value for key, value in params.items() if key != "code_challenge"}
    plain = {**params, "code_challenge_method": "plain"}
    for attempt in (without, plain):
        answer = browser.post("/o/authorize/", {**attempt, "allow": "Authorize"})
        query = parse_qs(urlsplit(answer["Location"]).query)
        assert query["error"] == ["invalid_request"]
        assert "code" not in query


def test_the_authorization_page_says_what_the_app_may_do(person_app, minji):
    _, browser = minji
    _, challenge = pkce_pair()
    params = person_app.authorize_params("me:read me:write", challenge)
    page = browser.get("/o/authorize/", params, HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Let 가계부 앱 act for you?" in text
    assert "Revoke your consents" in text
    korean = browser.get("/o/authorize/", params, HTTP_ACCEPT_LANGUAGE="ko")
    assert "동의를 철회" in korean.content.decode()


def test_each_kind_of_client_gets_only_its_own_scopes(person_app, minji, moneylog):
    _, browser = minji
    _, challenge = pkce_pair()
    params = person_app.authorize_params("me:read consents:check", challenge)
    refused = browser.get("/o/authorize/", params)
    assert refused.status_code == 302
    assert parse_qs(urlsplit(refused["Location"]).query)["error"] == ["invalid_scope"]
    org = moneylog.oauth(
        "/o/token/", {"grant_type": "client_credentials", "scope": "me:read"}
    )
    assert org.status_code == 400
    assert org.json()["error"] == "invalid_scope"


def test_tokens_of_the_other_kind_are_refused(person_app, minji, moneylog):
    _, browser = minji
    person = person_app.api(browser)
    assert person.get("/api/v1/consents/").status_code == 401
    assert person.post("/api/v1/checks/", {}, format="json").status_code == 401
    organization = moneylog.api()
    assert organization.get("/api/v1/me/consents/").status_code == 401
    assert organization.get("/api/v1/me/activity/").status_code == 401


def test_a_person_sees_and_revokes_only_their_own(person_app, minji, jihoon, moneylog):
    subject, browser = minji
    other, _ = jihoon
    mine = make_consent(subject=subject, recipient=moneylog.organization)
    theirs = make_consent(subject=other, recipient=moneylog.organization)
    api = person_app.api(browser)
    listed = api.get("/api/v1/me/consents/").json()
    assert [c["id"] for c in listed["results"]] == [str(mine.id)]
    shown = listed["results"][0]
    assert shown["recipient"] == {"code": "moneylog", "name": "머니로그"}
    assert shown["purpose"]["code"] == "spending-analysis"
    assert shown["purpose"]["notice_ko"].startswith("귀하의")
    assert shown["scopes"][0]["code"] == "bank.deposit"
    assert api.get(f"/api/v1/me/consents/{theirs.id}/").status_code == 404
    attempt = api.post(f"/api/v1/me/consents/{theirs.id}/revoke/", {}, format="json")
    assert attempt.status_code == 404
    assert attempt.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == Consent.Status.ACTIVE


def test_revoking_over_the_api_denies_the_recipients_next_check(
    person_app, minji, moneylog
):
    subject, browser = minji
    consent = make_consent(subject=subject, recipient=moneylog.organization)
    assert _check(moneylog, subject)["allowed"] is True
    reader = person_app.api(browser, scope="me:read")
    path = f"/api/v1/me/consents/{consent.id}/revoke/"
    assert reader.post(path, {}, format="json").status_code == 403
    revoked = person_app.api(browser).post(path, {"reason": "moved"}, format="json")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["status"] == "revoked"
    denied = _check(moneylog, subject)
    assert (denied["allowed"], denied["reason"]) == (False, "revoked")
    again = person_app.api(browser).post(path, {}, format="json")
    assert again.status_code == 409


def test_consents_filter_by_status_and_recipient_and_page(
    person_app, minji, moneylog, hanbit
):
    subject, browser = minji
    first = make_consent(subject=subject, recipient=moneylog.organization)
    make_consent(
        subject=subject, recipient=moneylog.organization, purpose="credit-scoring"
    )
    make_consent(subject=subject, recipient=hanbit.organization)
    api = person_app.api(browser)
    api.post(f"/api/v1/me/consents/{first.id}/revoke/", {}, format="json")
    revoked = api.get("/api/v1/me/consents/?status=revoked").json()["results"]
    assert [c["id"] for c in revoked] == [str(first.id)]
    at_bank = api.get("/api/v1/me/consents/?recipient=hanbit-bank").json()["results"]
    assert [c["recipient"]["code"] for c in at_bank] == ["hanbit-bank"]
    page = api.get("/api/v1/me/consents/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert len(api.get(page["next"]).json()["results"]) == 1
    assert api.get("/api/v1/me/consents/?colour=red").status_code == 400


def test_activity_shows_a_check_at_once_then_pages_through_the_chain(
    person_app, minji, moneylog, hanbit
):
    subject, browser = minji
    make_consent(
        subject=subject, recipient=moneylog.organization, holders=[hanbit.organization]
    )
    api = person_app.api(browser)
    check = _check(moneylog, subject)
    fresh = api.get("/api/v1/me/activity/").json()["results"]
    assert [(e["event_id"], e["sequence"]) for e in fresh] == [
        (check["decision_id"], None)
    ]
    assert fresh[0]["by"]["code"] == "moneylog" and fresh[0]["allowed"] is True
    seal_pending_events()
    sealed = api.get("/api/v1/me/activity/").json()["results"]
    assert [e["event_id"] for e in sealed] == [check["decision_id"]]
    assert sealed[0]["sequence"] is not None

    for _ in range(3):
        _check(hanbit, subject)  # a holder that names no recipient: refused
    seal_pending_events()
    denied = _check(moneylog, subject, scopes=["credit.score"])
    assert denied["allowed"] is False
    everything = api.get("/api/v1/me/activity/").json()["results"]
    assert len(everything) == 5
    assert everything[0]["reason"] == "scope_not_granted"
    only_bank = api.get("/api/v1/me/activity/?recipient=hanbit-bank").json()
    assert {e["recipient"]["code"] for e in only_bank["results"]} == {"hanbit-bank"}

    page = api.get("/api/v1/me/activity/", {"before": 10**9}).json()
    assert len(page["results"]) == 4  # sealed only: the newest check is staged
    assert page["next"] is None
    assert api.get("/api/v1/me/activity/?before=0").status_code == 400


def test_the_schema_documents_the_code_flow_for_people(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    person = schema["components"]["securitySchemes"]["personOAuth2"]
    flow = person["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "/o/authorize/"
    assert set(flow["scopes"]) == {"me:read", "me:write"}
    operation = schema["paths"]["/api/v1/me/consents/{consent_id}/revoke/"]["post"]
    assert operation["security"] == [{"personOAuth2": ["me:write"]}]

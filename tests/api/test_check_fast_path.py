"""The check's fast path (`api.organizations.checks.fast_answer`) answers exactly
as DRF's path does: the same status, body and headers, for answers and for
errors, and it stands aside for every request it does not fully understand."""

import uuid

import pytest
from rest_framework.test import APIClient

from api.organizations import checks as checking
from audit.models import PendingEvent
from audit.selectors import find_event
from consents import services
from consents.receipts import decision_from_transfer_token
from tests.api.conftest import OrgClient, record_consent
from tests.factories import TESTER

PATH = "/api/v1/checks/"
HEADERS = ("Content-Type", "Allow", "Vary", "Retry-After", "WWW-Authenticate")
ALLOWED = {"subject_ref": "ml-1", "purpose": "spending-analysis", "scopes": ["bank"]}


@pytest.fixture
def taken(monkeypatch) -> list[bool]:
    """Whether each check since took the fast path."""
    seen: list[bool] = []
    real = checking.fast_answer

    def spy(view, request):
        response = real(view, request)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(checking, "fast_answer", spy)
    return seen


@pytest.fixture
def drf_only(monkeypatch):
    """Every check takes DRF's path."""
    return lambda: monkeypatch.setattr(checking, "fast_answer", lambda view, r: None)


@pytest.fixture
def caller(moneylog, hanbit) -> APIClient:
    api = moneylog.api()
    record_consent(
        api, subject_ref="ml-1", scopes=["bank.deposit"], holders=["hanbit-bank"]
    )
    revoked = record_consent(api, subject_ref="ml-2", scopes=["bank.deposit"])
    api.post(f"/api/v1/consents/{revoked['id']}/revoke/", {}, format="json")
    assert api.post(PATH, ALLOWED, format="json").status_code == 200  # remembered
    return api


def _seen(response) -> tuple:
    """Status, headers and body, without what differs from one call to the next."""
    body = response.json()
    if "decision_id" in body:
        body["decision_id"] = uuid.UUID(body["decision_id"]).version
    if body.get("transfer_token"):
        decision_from_transfer_token(body["transfer_token"])  # verifies
        body["transfer_token"] = "<valid>"
    headers = {name: response.get(name) for name in HEADERS}
    return response.status_code, headers, body


def _both(api: APIClient, taken: list[bool], drf_only, body, **extra) -> tuple:
    """The same check sent on the fast path's terms, then on DRF's path only."""
    fast = _seen(api.post(PATH, body, format="json", **extra))
    assert taken[-1], "the fast path stood aside"
    drf_only()
    return fast, _seen(api.post(PATH, body, format="json", **extra))


CASES = {
    "allowed": ALLOWED,
    "allowed-to-holder": {**ALLOWED, "counterparty": "hanbit-bank"},
    "revoked": {**ALLOWED, "subject_ref": "ml-2"},
    "unknown-subject": {**ALLOWED, "subject_ref": "nobody"},
    "scope-not-granted": {**ALLOWED, "scopes": ["bank", "card.bills"]},
    "unknown-purpose": {**ALLOWED, "purpose": "no-such-purpose"},
    "unknown-scope": {**ALLOWED, "scopes": ["no.such.scope"]},
    "unknown-counterparty": {**ALLOWED, "counterparty": "nobody-corp"},
    "counterparty-is-caller": {**ALLOWED, "counterparty": "moneylog"},
}


@pytest.mark.parametrize("case", CASES)
def test_answers_and_errors_match_drf(caller, taken, drf_only, case):
    fast, drf = _both(caller, taken, drf_only, CASES[case])
    assert fast == drf
    assert fast[0] in (200, 400)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_ACCEPT": "application/json"},
        {"CONTENT_TYPE": "application/json; charset=utf-8"},
    ],
)
def test_json_clients_take_the_fast_path(caller, taken, drf_only, headers):
    fast, drf = _both(caller, taken, drf_only, ALLOWED, **headers)
    assert fast == drf and fast[0] == 200


@pytest.mark.parametrize(
    "body, extra",
    [
        ({**ALLOWED, "data_from": "2026-01-01"}, {}),
        ({**ALLOWED, "subject_ref": "고객-1"}, {}),
        ({**ALLOWED, "status": "active"}, {}),
        ({**ALLOWED, "scopes": []}, {}),
        (ALLOWED, {"HTTP_ACCEPT": "text/html"}),
        (ALLOWED, {"QUERY_STRING": "format=json"}),
    ],
)
def test_anything_else_takes_drfs_path(caller, taken, body, extra):
    caller.post(PATH, body, format="json", **extra)
    assert taken == [False]


def test_malformed_json_takes_drfs_path(caller, taken):
    response = caller.post(PATH, b'{"subject_ref": ', content_type="application/json")
    assert response.status_code == 400 and taken == [False]
    assert response.json()["error"]["code"] == "parse_error"


def test_a_tokens_first_call_and_a_token_without_the_scope_take_drfs_path(
    moneylog, taken
):
    assert moneylog.api().post(PATH, ALLOWED, format="json").status_code == 200
    narrow = moneylog.api(scope="consents:read")
    for _ in range(2):
        assert narrow.post(PATH, ALLOWED, format="json").status_code == 403
    assert taken == [False, False, False]


def test_throttled_check_matches_drf(catalog, settings, taken, drf_only):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"check": "2/min", "write": "100/min"},
    }
    refused = []
    for path in ("fast", "drf"):
        if path == "drf":
            drf_only()
        api = OrgClient(f"busy-{path}", "Busy Corp").api()
        answers = [api.post(PATH, ALLOWED, format="json") for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        refused.append(_seen(answers[2]))
    assert taken == [False, True, True]
    for _, headers, body in refused:  # the window's end moves with the clock
        wait = headers.pop("Retry-After")
        assert int(wait) > 0
        error = body["error"]
        assert f" {wait} " in error["message"]  # the message names the same wait
        error["message"] = error["message"].replace(f" {wait} ", " <wait> ")
    assert refused[0] == refused[1]


def test_revoked_token_and_suspended_organization_match_drf(moneylog, caller, taken):
    token = caller._credentials["HTTP_AUTHORIZATION"].split()[1]
    moneylog.oauth("/o/revoke_token/", {"token": token})
    revoked = _seen(caller.post(PATH, ALLOWED, format="json"))
    again = _seen(caller.post(PATH, ALLOWED, format="json"))  # forgotten: DRF's path
    assert taken == [True, False]
    assert revoked == again and revoked[0] == 401
    assert revoked[1]["WWW-Authenticate"] == 'Bearer realm="api"'

    api = moneylog.api()
    assert api.post(PATH, ALLOWED, format="json").status_code == 200
    services.set_organization_status(code="moneylog", status="suspended", actor=TESTER)
    suspended = _seen(api.post(PATH, ALLOWED, format="json"))
    again = _seen(api.post(PATH, ALLOWED, format="json"))
    assert taken[-3:] == [False, True, False]
    assert suspended == again and suspended[0] == 403
    assert suspended[2]["error"]["code"] == "organization_suspended"


def test_each_fast_answer_is_audited_once(caller, taken):
    before = PendingEvent.objects.filter(action="consent.checked").count()
    answers = [caller.post(PATH, body, format="json").json() for body in CASES.values()]
    assert all(taken) and len(taken) == len(CASES)
    decided = [answer for answer in answers if "decision_id" in answer]
    assert len(decided) == 6  # the other three are 400s: nothing was decided
    for answer in decided:
        event = find_event(uuid.UUID(answer["decision_id"]), action="consent.checked")
        assert event is not None and event.recipient == "moneylog"
        assert event.payload["allowed"] is answer["allowed"]
        assert event.payload["reason"] == answer["reason"]
    after = PendingEvent.objects.filter(action="consent.checked").count()
    assert after - before == len(decided)

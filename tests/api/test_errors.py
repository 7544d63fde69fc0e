"""Bad input gets a clear 4xx with one machine-readable body, and loses nothing."""

import uuid

import pytest

from audit.models import AuditEvent
from consents.models import Consent, DataSubject

VALID = {
    "subject_ref": "ml-1",
    "purpose": "spending-analysis",
    "scopes": ["bank.deposit"],
    "evidence": {"channel": "web"},
}


def _error(response, http_status: int) -> dict:
    assert response.status_code == http_status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.mark.django_db
def test_unknown_fields_are_rejected_not_ignored(moneylog):
    response = moneylog.api().post(
        "/api/v1/consents/", {**VALID, "color": "blue"}, format="json"
    )
    assert _error(response, 400)["fields"] == {"color": ["unknown field"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field", ["status", "recipient", "granted_at", "id", "subject_id"]
)
def test_mass_assignment_is_impossible(moneylog, field):
    response = moneylog.api().post(
        "/api/v1/consents/", {**VALID, field: "revoked"}, format="json"
    )
    assert field in _error(response, 400)["fields"]
    assert not Consent.objects.exists()


@pytest.mark.django_db
def test_refused_grant_leaves_no_person_or_reference_behind(moneylog):
    subjects, events = DataSubject.objects.count(), AuditEvent.objects.count()
    response = moneylog.api().post(
        "/api/v1/consents/",
        {**VALID, "subject_identifier": "new@example.kr", "scopes": ["bank.nope"]},
        format="json",
    )
    assert _error(response, 400)["fields"] == {"scopes": ["unknown scope bank.nope"]}
    assert DataSubject.objects.count() == subjects
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": "bank"}, "scopes"),
        ({"duration_days": 0}, "duration_days"),
        ({"duration_days": 400}, "expires_at"),
        ({"purpose": "nope"}, "purpose"),
        ({"holders": ["nobody"]}, "holders"),
        ({"evidence": {}}, "evidence"),
        ({"data_from": "2026-02-01", "data_to": "2026-01-01"}, "data_to"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2027-01-01T00:00:00Z", "duration_days": 3}, "expires_at"),
    ],
)
def test_invalid_consent_fields_are_named(moneylog, body, field):
    response = moneylog.api().post(
        "/api/v1/consents/", {**VALID, **body}, format="json"
    )
    assert field in _error(response, 400)["fields"]


@pytest.mark.django_db
def test_malformed_json_is_a_400(moneylog):
    response = moneylog.api().post(
        "/api/v1/checks/", "{not json", content_type="application/json"
    )
    assert _error(response, 400)["code"] == "parse_error"


@pytest.mark.django_db
def test_non_object_body_is_a_400(moneylog):
    response = moneylog.api().post("/api/v1/checks/", [1, 2], format="json")
    _error(response, 400)


@pytest.mark.django_db
def test_wrong_method_is_a_405(moneylog):
    _error(moneylog.api().delete("/api/v1/checks/"), 405)


@pytest.mark.django_db
def test_bad_uuid_in_the_path_is_a_404(moneylog):
    _error(moneylog.api().get("/api/v1/consents/not-a-uuid/"), 404)


@pytest.mark.django_db
def test_revoking_twice_is_a_conflict(moneylog):
    api = moneylog.api()
    consent = api.post("/api/v1/consents/", VALID, format="json").json()
    api.post(f"/api/v1/consents/{consent['id']}/revoke/", {}, format="json")
    again = api.post(f"/api/v1/consents/{consent['id']}/revoke/", {}, format="json")
    assert _error(again, 409)["code"] == "invalid_transition"


@pytest.mark.django_db
def test_throttled_client_gets_429_with_retry_after(catalog, settings):
    from tests.api.conftest import OrgClient

    rates = {"check": "2/min", "write": "100/min"}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }
    api = OrgClient(f"throttled-{uuid.uuid4().hex[:8]}", "Busy Corp").api()
    body = {"subject_ref": "x", "purpose": "spending-analysis", "scopes": ["bank"]}
    responses = [api.post("/api/v1/checks/", body, format="json") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert int(responses[2]["Retry-After"]) > 0
    assert _error(responses[2], 429)["code"] == "throttled"


def test_openapi_schema_is_valid_and_complete(db):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_djangos_own_permission_denied_is_a_403_in_the_error_format():
    from django.core.exceptions import PermissionDenied

    from api.errors import exception_handler

    response = exception_handler(PermissionDenied(), {})
    assert response.status_code == 403
    assert response.data["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_errors_are_in_english_unless_the_caller_asks_for_korean(moneylog):
    api = moneylog.api()
    body = {**VALID, "scopes": []}
    english = _error(api.post("/api/v1/consents/", body, format="json"), 400)
    assert english["fields"]["scopes"] == ["This list may not be empty."]
    korean = _error(
        api.post("/api/v1/consents/", body, format="json", HTTP_ACCEPT_LANGUAGE="ko"),
        400,
    )
    assert korean["fields"]["scopes"] == ["이 리스트는 비워 둘 수 없습니다."]
    missing = api.get(f"/api/v1/consents/{uuid.uuid4()}/")
    assert missing.status_code == 404
    assert missing.headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_the_schema_says_what_the_server_refuses(moneylog):
    """Empty code lists and numbers where text belongs are refused, and the
    schema says so."""
    api = moneylog.api()
    schema = api.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert schema["ConsentCreateInputRequest"]["properties"]["scopes"]["minItems"] == 1
    endpoint = schema["WebhookEndpointInputRequest"]["properties"]["event_types"]
    assert endpoint["minItems"] == 1
    number = _error(
        api.post("/api/v1/consents/", {**VALID, "scopes": [7]}, format="json"), 400
    )
    assert number["fields"] == {"scopes": {"0": ["Not a valid string."]}}
    record = api.post("/api/v1/consents/", VALID, format="json").json()
    reason = api.post(
        f"/api/v1/consents/{record['id']}/revoke/", {"reason": 0}, format="json"
    )
    assert _error(reason, 400)["fields"] == {"reason": ["Not a valid string."]}
    assert Consent.objects.get(pk=record["id"]).status == "active"

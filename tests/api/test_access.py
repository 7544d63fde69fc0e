"""Who may call what: scopes (403), isolation (404), token and organization state."""

import uuid

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent, PendingEvent
from consents import services
from consents.webhooks.models import Delivery
from tests.api.conftest import ask_consent, post_ok, record_consent
from tests.factories import TESTER


@pytest.fixture
def endpoint_id(moneylog):
    return post_ok(
        moneylog.api(),
        "/api/v1/webhook-endpoints/",
        {"url": "https://moneylog.example/hooks"},
    )["id"]


@pytest.fixture
def consent_id(moneylog, hanbit, endpoint_id):
    return record_consent(
        moneylog.api(),
        subject_ref="ml-1",
        subject_identifier="person@example.kr",
        holders=["hanbit-bank"],
    )["id"]


@pytest.fixture
def request_id(moneylog):
    return ask_consent(moneylog.api(), subject_ref="ml-2")["id"]


@pytest.fixture
def ids(consent_id, request_id, endpoint_id) -> dict[str, str]:
    delivery = Delivery.objects.get(consent_id=consent_id)  # the grant's notice
    return {
        "consent": consent_id,
        "request": request_id,
        "endpoint": endpoint_id,
        "delivery": str(delivery.id),
    }


def _routes(ids: dict[str, str]) -> list[tuple[str, str, str, dict]]:
    check = {"subject_ref": "x", "purpose": "spending-analysis", "scopes": ["bank"]}
    consent_id, request_id = ids["consent"], ids["request"]
    stop = {"action": "stopped"}
    endpoint = f"/api/v1/webhook-endpoints/{ids['endpoint']}/"
    return [
        ("get", "/api/v1/consents/", "consents:read", {}),
        ("get", f"/api/v1/consents/{consent_id}/", "consents:read", {}),
        ("post", "/api/v1/consents/", "consents:write", {}),
        ("post", f"/api/v1/consents/{consent_id}/revoke/", "consents:write", {}),
        ("post", f"/api/v1/consents/{consent_id}/pause/", "consents:write", {}),
        ("post", f"/api/v1/consents/{consent_id}/resume/", "consents:write", {}),
        ("post", "/api/v1/subject-references/", "consents:write", {}),
        ("post", "/api/v1/consent-requests/", "consent-requests:write", {}),
        (
            "get",
            f"/api/v1/consent-requests/{request_id}/",
            "consent-requests:write",
            {},
        ),
        ("post", "/api/v1/checks/", "consents:check", check),
        ("post", "/api/v1/transfers/", "transfers:write", {}),
        ("get", f"/api/v1/consents/{consent_id}/deliveries/", "consents:read", {}),
        ("post", f"/api/v1/consents/{consent_id}/acknowledge/", "consents:write", stop),
        ("get", "/api/v1/webhook-endpoints/", "webhooks:manage", {}),
        ("post", "/api/v1/webhook-endpoints/", "webhooks:manage", {}),
        ("get", endpoint, "webhooks:manage", {}),
        ("delete", endpoint, "webhooks:manage", {}),
        (
            "post",
            f"/api/v1/deliveries/{ids['delivery']}/replay/",
            "webhooks:manage",
            {},
        ),
    ]


SCOPES = [
    "consents:read",
    "consents:write",
    "consents:check",
    "consent-requests:write",
    "transfers:write",
    "webhooks:manage",
]


@pytest.mark.django_db
def test_every_route_refuses_a_token_without_its_scope(moneylog, ids):
    for method, path, scope, body in _routes(ids):
        others = " ".join(s for s in SCOPES if s != scope)
        response = getattr(moneylog.api(others), method)(path, body, format="json")
        assert response.status_code == 403, (path, response.status_code)
        assert response.json()["error"]["code"] == "permission_denied", path


@pytest.mark.django_db
def test_every_route_refuses_calls_without_a_token(ids):
    for method, path, _, body in _routes(ids):
        response = getattr(APIClient(), method)(path, body, format="json")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_other_organizations_objects_are_not_found(moneylog, intruder, ids):
    outsider = intruder.api()
    consent_id = ids["consent"]
    secret_bits = [*ids.values(), "ml-1", "moneylog", "person"]
    id_routes = [r for r in _routes(ids) if any(v in r[1] for v in ids.values())]
    assert len(id_routes) == 10
    for method, path, _, body in id_routes:
        response = getattr(outsider, method)(path, body, format="json")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        for bit in secret_bits:
            assert bit not in response.content.decode(), (path, bit)
    listing = outsider.get("/api/v1/consents/").json()
    assert listing["results"] == []
    assert moneylog.api().get(f"/api/v1/consents/{consent_id}/").status_code == 200


@pytest.mark.django_db
def test_unknown_ids_are_not_found_like_foreign_ones(moneylog):
    response = moneylog.api().get(f"/api/v1/consents/{uuid.uuid4()}/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_outsider_cannot_link_a_reference_to_a_stranger(intruder, consent_id):
    response = intruder.api().post(
        "/api/v1/subject-references/",
        {"subject_ref": "probe", "subject_identifier": "person@example.kr"},
        format="json",
    )
    assert response.status_code == 404
    unknown = intruder.api().post(
        "/api/v1/subject-references/",
        {"subject_ref": "probe", "subject_identifier": "nobody@example.kr"},
        format="json",
    )
    assert unknown.status_code == 404
    assert response.json() == unknown.json()  # no telling who exists


@pytest.mark.django_db
def test_outsider_cannot_use_a_leaked_decision(moneylog, intruder, consent_id):
    decision = (
        moneylog.api()
        .post(
            "/api/v1/checks/",
            {"subject_ref": "ml-1", "purpose": "spending-analysis", "scopes": ["bank"]},
            format="json",
        )
        .json()
    )
    response = intruder.api().post(
        "/api/v1/transfers/",
        {
            "decision_id": decision["decision_id"],
            "scopes": ["bank"],
            "record_count": 1,
            "direction": "received",
        },
        format="json",
    )
    assert response.status_code in (400, 404)


@pytest.mark.django_db
def test_holder_may_pause_but_not_revoke(moneylog, hanbit, consent_id):
    holder = hanbit.api()
    holder.post(
        "/api/v1/subject-references/",
        {"subject_ref": "hb-1", "subject_identifier": "person@example.kr"},
        format="json",
    )
    assert holder.get(f"/api/v1/consents/{consent_id}/").json()["subject_ref"] == "hb-1"
    revoke = holder.post(f"/api/v1/consents/{consent_id}/revoke/", {}, format="json")
    assert revoke.status_code == 403
    paused = holder.post(f"/api/v1/consents/{consent_id}/pause/", {}, format="json")
    assert paused.json()["status"] == "paused"
    resumed = holder.post(f"/api/v1/consents/{consent_id}/resume/", {}, format="json")
    assert resumed.json()["status"] == "active"


@pytest.mark.django_db
def test_suspended_organizations_token_is_refused_at_once(moneylog, consent_id):
    client = moneylog.api()
    assert client.get("/api/v1/consents/").status_code == 200
    services.set_organization_status(code="moneylog", status="suspended", actor=TESTER)
    response = client.get("/api/v1/consents/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "organization_suspended"


@pytest.mark.django_db
def test_revoked_token_is_refused_at_once(moneylog):
    token = moneylog.token()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/scopes/").status_code == 200
    assert moneylog.oauth("/o/revoke_token/", {"token": token}).status_code == 200
    assert client.get("/api/v1/scopes/").status_code == 401


CHECK = {"subject_ref": "ml-1", "purpose": "spending-analysis", "scopes": ["bank"]}


def _checks_audited(before: int) -> int:
    return PendingEvent.objects.count() + AuditEvent.objects.count() - before


@pytest.mark.django_db
def test_a_check_refuses_a_token_revoked_after_it_was_remembered(moneylog, catalog):
    """The check skips the token lookup for a token it has seen; its decision
    query confirms the token, so the revocation still counts from the next call."""
    token = moneylog.token()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.post("/api/v1/checks/", CHECK, format="json").status_code == 200
    assert client.post("/api/v1/checks/", CHECK, format="json").status_code == 200
    assert moneylog.oauth("/o/revoke_token/", {"token": token}).status_code == 200
    events = PendingEvent.objects.count() + AuditEvent.objects.count()
    response = client.post("/api/v1/checks/", CHECK, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert _checks_audited(events) == 0  # refused, so never a check
    # Forgotten, too: the next call looks the token up (and fails) again.
    assert client.post("/api/v1/checks/", CHECK, format="json").status_code == 401


@pytest.mark.django_db
def test_a_check_refuses_a_suspended_organization_at_once(moneylog, catalog):
    client = moneylog.api("consents:check")
    assert client.post("/api/v1/checks/", CHECK, format="json").status_code == 200
    services.set_organization_status(code="moneylog", status="suspended", actor=TESTER)
    response = client.post("/api/v1/checks/", CHECK, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "organization_suspended"


@pytest.mark.django_db
def test_access_tokens_live_fifteen_minutes_at_most(moneylog):
    assert 0 < moneylog.token_response("consents:check")["expires_in"] <= 900

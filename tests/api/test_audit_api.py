"""The audit API: staff members only, exports verify, each export is recorded."""

import base64

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from audit.export import EXPORTED
from audit.models import AuditEvent
from audit.signing import jwks
from audit.verify_export import verify_export
from consents import services
from consents.models import Consent
from consents.services import register_officer_client
from tests.api.conftest import OrgClient
from tests.conftest import verify_second_factor
from tests.factories import TESTER, bulk_chain, make_consent, make_subject


def _token(client_id: str, secret: str, scope: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def officer(db):
    return get_user_model().objects.create_user("officer", is_staff=True)


@pytest.fixture
def officer_api(officer):
    issued = register_officer_client(user=officer, actor=TESTER)
    client = APIClient()
    token = _token(issued.client_id, issued.client_secret, "audit:read")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def log(db):
    bulk_chain(120)


def test_an_officer_exports_and_the_export_verifies_offline(officer_api, log, tmp_path):
    response = officer_api.get("/api/v1/audit/export/", {"format": "jsonl"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jsonl"
    body = b"".join(response.streaming_content)
    manifest_url = response["Link"].split(";")[0].strip("<>")
    assert manifest_url == f"/api/v1/audit/exports/{response['X-Export-Id']}/manifest/"

    manifest = officer_api.get(manifest_url).json()
    # The log, and the event that registered the officer's client.
    assert (manifest["count"], manifest["exported_by"]) == (121, "staff:officer")
    file = tmp_path / "export.jsonl"
    file.write_bytes(body)
    report = verify_export(file, manifest, jwks())
    assert report.ok, report.lines
    started = AuditEvent.objects.get(action=EXPORTED)
    assert started.actor == "staff:officer"


def test_a_staff_session_may_export_but_not_a_person(officer, log):
    client = APIClient()
    client.force_login(officer)
    # A password alone is not enough, as on the officers' pages.
    assert client.get("/api/v1/audit/verifications/latest/").status_code == 403
    verify_second_factor(client, officer)
    response = client.get("/api/v1/audit/export/", {"format": "csv", "action": "x"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"v,sequence,")
    person = get_user_model().objects.create_user("minji")
    client.force_login(person)
    assert client.get("/api/v1/audit/export/").status_code == 403


def test_organizations_cannot_read_the_trail_even_with_the_scope(catalog, log):
    organization = OrgClient("moneylog", "머니로그")
    response = organization.api("audit:read").get("/api/v1/audit/export/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not AuditEvent.objects.filter(action=EXPORTED).exists()


def test_an_officer_token_needs_the_audit_scope(officer):
    issued = register_officer_client(user=officer, actor=TESTER)
    client = APIClient()
    token = _token(issued.client_id, issued.client_secret, "consents:read")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/audit/verifications/latest/").status_code == 403


def test_no_credentials_is_401(db):
    response = APIClient().get("/api/v1/audit/export/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_bad_filters_answer_400_in_the_error_format(officer_api):
    response = officer_api.get("/api/v1/audit/export/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()["error"]["fields"]
    response = officer_api.get("/api/v1/audit/export/", {"colour": "red"})
    assert response.json()["error"]["fields"] == {"colour": ["unknown field"]}
    response = officer_api.get(
        "/api/v1/audit/export/", {"since": "2026-02-01", "until": "2026-01-01"}
    )
    assert "until" in response.json()["error"]["fields"]


def test_verification_runs_on_demand_and_is_recorded(officer_api, log):
    assert officer_api.get("/api/v1/audit/verifications/latest/").status_code == 404
    response = officer_api.post("/api/v1/audit/verifications/")
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["checked"]) == (True, 121)
    latest = officer_api.get("/api/v1/audit/verifications/latest/").json()
    assert latest["checked"] == 121 and latest["verified_at"]
    assert AuditEvent.objects.get(action="audit.verified").actor == "staff:officer"


def test_the_latest_checkpoint_and_an_unknown_manifest(officer_api, log):
    assert officer_api.get("/api/v1/audit/checkpoints/latest/").status_code == 404
    officer_api.get("/api/v1/audit/export/")  # an open-ended export signs the head
    checkpoint = officer_api.get("/api/v1/audit/checkpoints/latest/").json()
    assert checkpoint["size"] == 121
    missing = "/api/v1/audit/exports/00000000-0000-4000-8000-000000000000/manifest/"
    assert officer_api.get(missing).status_code == 404


def test_officer_clients_are_only_for_staff(db):
    person = get_user_model().objects.create_user("sora")
    with pytest.raises(Exception, match="not a staff member"):
        register_officer_client(user=person, actor=TESTER)


def test_an_officer_suspends_and_reactivates_an_organization(officer, catalog):
    organization = OrgClient("moneylog", "머니로그")
    consent = make_consent(subject=make_subject(), recipient=organization.organization)
    issued = register_officer_client(user=officer, actor=TESTER)
    client = APIClient()
    token = _token(issued.client_id, issued.client_secret, "organizations:manage")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    suspended = client.post(
        "/api/v1/officers/organizations/moneylog/suspend/",
        {"reason": "inspection"},
        format="json",
    )
    assert suspended.status_code == 200, suspended.content
    body = suspended.json()
    assert (body["status"], body["consents_to_change"]) == ("suspended", 1)
    services.run_mass_change(body["mass_change_id"])
    assert Consent.objects.get(pk=consent.pk).status == "paused"
    event = AuditEvent.objects.get(action="organization.suspended")
    assert event.actor == "staff:officer"
    assert event.payload["reason"] == "inspection"

    back = client.post("/api/v1/officers/organizations/moneylog/reactivate/")
    assert back.json()["status"] == "active"
    services.run_mass_change(back.json()["mass_change_id"])
    assert Consent.objects.get(pk=consent.pk).status == "active"
    missing = client.post("/api/v1/officers/organizations/nobody/suspend/")
    assert missing.status_code == 404


def test_suspending_needs_the_scope_and_a_staff_member(officer, catalog):
    organization = OrgClient("moneylog", "머니로그")
    path = "/api/v1/officers/organizations/moneylog/suspend/"
    reader = APIClient()
    issued = register_officer_client(user=officer, actor=TESTER)
    token = _token(issued.client_id, issued.client_secret, "audit:read")
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert reader.post(path).status_code == 403
    assert organization.api("organizations:manage").post(path).status_code == 403
    organization.organization.refresh_from_db()
    assert organization.organization.status == "active"

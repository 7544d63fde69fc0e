"""Organizations confirm they stopped after a consent ended (the officers' figure)."""

from audit.models import AuditEvent
from tests.api.conftest import record_consent


def _revoked(api) -> str:
    consent = record_consent(api, subject_identifier="minji@example.kr")
    response = api.post(f"/api/v1/consents/{consent['id']}/revoke/", {}, format="json")
    assert response.status_code == 200, response.content
    return consent["id"]


def test_the_recipient_acknowledges_a_revocation_once(moneylog):
    api = moneylog.api()
    consent_id = _revoked(api)
    first = api.post(f"/api/v1/consents/{consent_id}/acknowledge/")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "revoked"
    again = api.post(f"/api/v1/consents/{consent_id}/acknowledge/")
    assert again.json() == first.json()
    event = AuditEvent.objects.get(action="consent.acknowledged")
    assert (event.actor, str(event.consent_id)) == ("organization:moneylog", consent_id)


def test_a_live_consent_cannot_be_acknowledged(moneylog):
    api = moneylog.api()
    consent = record_consent(api, subject_identifier="minji@example.kr")
    response = api.post(f"/api/v1/consents/{consent['id']}/acknowledge/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_an_outsider_gets_404(moneylog, intruder):
    consent_id = _revoked(moneylog.api())
    response = intruder.api().post(f"/api/v1/consents/{consent_id}/acknowledge/")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="consent.acknowledged").exists()

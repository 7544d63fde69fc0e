"""The admin shows the records to staff but never edits, deletes or unseals them."""

import pytest
from django.contrib import admin
from django.urls import reverse

from audit.models import AuditEvent
from consents import services
from consents.models import Consent, MassChange
from tests.factories import TESTER, make_consent, make_subject

NAME = "홍길동"
CONTACT = "010-0000-0000"

ADMIN_MODELS = [
    "audit.auditevent",
    "consents.acknowledgement",
    "consents.consent",
    "consents.consentrequest",
    "consents.datasubject",
    "consents.delivery",
    "consents.expiryreminder",
    "consents.masschange",
    "consents.organization",
    "consents.organizationclient",
    "consents.purpose",
    "consents.scope",
    "consents.subjectreference",
    "consents.transfer",
    "consents.webhookendpoint",
]


@pytest.fixture
def consent(catalog, recipient, bank) -> Consent:
    """A consent, with a pending consent request beside it, so lists have rows."""
    subject = make_subject(name=NAME)
    services.create_consent_request(
        recipient=recipient,
        subject_ref="moneylog-new-customer",
        purpose_code="credit-scoring",
        scope_codes=["credit.score"],
        redirect_uri="https://moneylog.example/return",
    )
    services.register_webhook_endpoint(
        organization=recipient, url="https://moneylog.example/hooks", actor=TESTER
    )
    return make_consent(subject=subject, recipient=recipient, holders=[bank])


def test_every_consents_and_audit_model_is_covered_here():
    registered = {
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.app_label in {"consents", "audit"}
    }
    assert registered == set(ADMIN_MODELS)


@pytest.mark.parametrize("label", ADMIN_MODELS)
def test_changelist_page_opens(admin_client, consent, label):
    app_label, model_name = label.split(".")

    response = admin_client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))

    assert response.status_code == 200


def test_consent_change_page_opens_without_a_delete_link(admin_client, consent):
    delete_url = reverse("admin:consents_consent_delete", args=[consent.pk])

    response = admin_client.get(
        reverse("admin:consents_consent_change", args=[consent.pk])
    )

    assert response.status_code == 200
    assert str(consent.pk).encode() in response.content
    assert b"deletelink" not in response.content
    assert delete_url.encode() not in response.content


def test_consent_cannot_be_deleted_through_the_admin(admin_client, consent):
    delete_url = reverse("admin:consents_consent_delete", args=[consent.pk])

    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Consent.objects.filter(pk=consent.pk, status="active").exists()


def test_consent_cannot_be_bulk_deleted_through_the_admin(admin_client, consent):
    response = admin_client.post(
        reverse("admin:consents_consent_changelist"),
        {"action": "delete_selected", "_selected_action": [str(consent.pk)]},
    )

    assert response.status_code in {200, 302, 403}
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_audit_event_cannot_be_deleted_through_the_admin(admin_client, consent):
    event = AuditEvent.objects.last()
    count = AuditEvent.objects.count()
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])

    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.count() == count


def test_audit_event_change_page_is_read_only(admin_client, consent):
    event = AuditEvent.objects.last()
    change_url = reverse("admin:audit_auditevent_change", args=[event.pk])

    response = admin_client.get(change_url)
    assert response.status_code == 200
    assert b"deletelink" not in response.content

    admin_client.post(change_url, {"action": "forged"})
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_data_subject_pages_never_show_personal_data(admin_client, consent):
    subject = consent.subject
    pages = [
        reverse("admin:consents_datasubject_changelist"),
        reverse("admin:consents_datasubject_change", args=[subject.pk]),
        reverse("admin:consents_consent_change", args=[consent.pk]),
    ]

    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200
        assert subject.pseudonym.encode() in response.content
        assert NAME.encode() not in response.content
        assert CONTACT.encode() not in response.content


def test_delivery_page_shows_its_attempts_and_failed_ones_can_be_replayed(
    admin_client, consent
):
    from consents.webhooks.models import Delivery, DeliveryAttempt

    delivery = Delivery.objects.get(consent=consent)
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=3)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=delivery.created_at,
        status_code=503,
        latency_ms=12,
        error="HTTP 503",
    )

    page = admin_client.get(
        reverse("admin:consents_delivery_change", args=[delivery.pk])
    )
    assert page.status_code == 200
    assert b"HTTP 503" in page.content

    admin_client.post(
        reverse("admin:consents_delivery_changelist"),
        {"action": "replay", "_selected_action": [str(delivery.pk)]},
    )
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.attempts == 0


def test_acknowledgement_list_shows_time_to_acknowledge_per_organization(
    admin_client, consent, recipient
):
    services.revoke_consent(consent_id=consent.id, actor=TESTER)
    services.acknowledge_consent_end(
        organization=recipient, consent_id=consent.id, action="stopped"
    )

    page = admin_client.get(reverse("admin:consents_acknowledgement_changelist"))

    assert page.status_code == 200
    assert b"per organization" in page.content
    assert recipient.code.encode() in page.content


def test_suspending_from_the_admin_pauses_the_consents_in_a_job(
    admin_client, consent, recipient
):
    url = reverse("admin:consents_organization_changelist")
    selected = {"_selected_action": [str(recipient.pk)]}
    admin_client.post(url, {"action": "suspend", **selected})
    job = MassChange.objects.get(organization=recipient, kind="pause_recipient")
    assert (job.total, job.actor) == (1, "staff:admin")
    services.run_mass_change(job.pk)
    assert Consent.objects.get(pk=consent.pk).status == Consent.Status.PAUSED
    page = admin_client.get(reverse("admin:consents_masschange_changelist"))
    assert b"pause_recipient" in page.content or b"Pause" in page.content

    admin_client.post(url, {"action": "reactivate", **selected})
    services.run_mass_change(
        MassChange.objects.get(organization=recipient, kind="resume_recipient").pk
    )
    assert Consent.objects.get(pk=consent.pk).status == Consent.Status.ACTIVE

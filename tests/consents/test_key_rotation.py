"""Retiring a key-encryption key: after `rewrap_keys` under a new first key, the
old key can go and every person's data and every webhook secret still opens."""

import base64
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from audit.models import AuditEvent
from consents import services
from consents.models import DataSubject, WebhookEndpoint
from consents.selectors import subject_personal_data
from consents.webhooks.delivery import endpoint_secret
from tests.factories import TESTER, OrganizationFactory

pytestmark = pytest.mark.django_db


def _key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW = _key("old"), _key("new")


def test_rewrapping_lets_the_old_key_go():
    with override_settings(CMP_DATA_KEYS=[OLD]):
        people = [
            services.register_subject(
                identifier=f"p{n}@example.kr", name=f"이름{n}", actor=TESTER
            )
            for n in range(5)
        ]
        endpoint, secret = services.register_webhook_endpoint(
            organization=OrganizationFactory(code="moneylog"),
            url="https://moneylog.example/hooks",
            actor=TESTER,
        )
    with override_settings(CMP_DATA_KEYS=[NEW, OLD]):
        out = StringIO()
        call_command("rewrap_keys", "--quiet", "--batch-size", "2", stdout=out)
        assert (
            "5 data keys and 1 webhook secrets now wrapped under new" in out.getvalue()
        )
        assert "left: 0" in out.getvalue()
        again = StringIO()
        call_command("rewrap_keys", "--quiet", stdout=again)
        assert again.getvalue().startswith("0 data keys and 0 webhook secrets")
    with override_settings(CMP_DATA_KEYS=[NEW]):  # the old key is gone
        for n, person in enumerate(people):
            stored = DataSubject.objects.get(pk=person.pk)
            assert stored.data_key_id == "new"
            data = subject_personal_data(stored)
            assert (data.identifier, data.name) == (f"p{n}@example.kr", f"이름{n}")
        assert endpoint_secret(WebhookEndpoint.objects.get(pk=endpoint.pk)) == secret
    event = AuditEvent.objects.filter(action="keys.rewrapped").first()
    assert event.payload == {"key_id": "new", "subjects": 5, "webhook_endpoints": 1}


def test_an_erased_person_has_nothing_to_rewrap():
    with override_settings(CMP_DATA_KEYS=[OLD]):
        person = services.register_subject(
            identifier="gone@example.kr", name="x", actor=TESTER
        )
        services.erase_subject(subject_id=person.pk, actor=TESTER)
    with override_settings(CMP_DATA_KEYS=[NEW, OLD]):
        call_command("rewrap_keys", "--quiet", stdout=StringIO())
    assert DataSubject.objects.get(pk=person.pk).wrapped_key is None

"""People are e-mailed once, a few days before a consent of theirs ends."""

import pytest
from django.core import mail

from consents import services
from consents.selectors import subject_personal_data
from consents.webhooks.models import ExpiryReminder
from tests.factories import TESTER, make_consent, make_subject

pytestmark = pytest.mark.usefixtures("catalog")


def test_a_consent_ending_within_the_window_is_reminded_once(recipient, settings):
    settings.CMP_EXPIRY_REMINDER_DAYS = 7
    subject = make_subject()
    soon = make_consent(subject=subject, recipient=recipient, days=3)
    make_consent(subject=make_subject(), recipient=recipient, days=30)  # not yet

    assert services.send_expiry_reminders() == 1
    assert services.send_expiry_reminders() == 0  # never twice

    [message] = mail.outbox
    assert message.to == [subject_personal_data(subject).identifier]
    assert recipient.name in message.subject
    assert ExpiryReminder.objects.filter(consent=soon).exists()


def test_an_erased_person_is_not_written_to(recipient, settings):
    settings.CMP_EXPIRY_REMINDER_DAYS = 7
    subject = make_subject()
    make_consent(subject=subject, recipient=recipient, days=3)
    services.erase_subject(subject_id=subject.id, actor=TESTER)

    services.send_expiry_reminders()

    assert mail.outbox == []


def test_reminders_can_be_switched_off(recipient, settings):
    settings.CMP_EXPIRY_REMINDER_DAYS = 0
    make_consent(subject=make_subject(), recipient=recipient, days=1)

    assert services.send_expiry_reminders() == 0
    assert mail.outbox == []

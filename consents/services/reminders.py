"""Tell people, a few days ahead, that a consent of theirs is about to end."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consents import pii
from consents.models import Consent, DataSubject
from consents.selectors import subject_personal_data
from consents.webhooks.models import ExpiryReminder

logger = logging.getLogger(__name__)


def subject_email(subject: DataSubject) -> str:
    """Where to write to the person: their account's e-mail, else a stored one."""
    # With user_id set, user is not None.
    if subject.user_id and subject.user.email:  # type: ignore[union-attr]
        return subject.user.email  # type: ignore[union-attr]
    try:
        data = subject_personal_data(subject)
    except pii.KeyErasedError:
        return ""
    for value in (data.contact, data.identifier):
        if "@" in value:
            return value
    return ""


def _message(consent: Consent, now: datetime) -> tuple[str, str]:
    days = max(0, (consent.expires_at - now).days)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Your consent to %(recipient)s ends soon") % {
            "recipient": consent.recipient.name
        }
        body = _(
            "Your consent to %(recipient)s for %(purpose)s ends on %(date)s "
            "(in %(days)s days). Nothing needs doing if you want it to end; "
            "to keep it, give a new consent when %(recipient)s asks."
        ) % {
            "recipient": consent.recipient.name,
            "purpose": consent.purpose.code,
            "date": timezone.localtime(consent.expires_at).date().isoformat(),
            "days": days,
        }
    return subject, body


def send_expiry_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """E-mail each person once about a live consent that ends within the window."""
    days = settings.CMP_EXPIRY_REMINDER_DAYS
    if days <= 0:
        return 0
    now = now or timezone.now()
    due = (
        Consent.objects.select_related("subject__user", "recipient", "purpose")
        .filter(
            status__in=Consent.LIVE_STATUSES,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
            expiry_reminder__isnull=True,
        )
        .order_by("expires_at")[:limit]
    )
    sent = 0
    for consent in due:
        try:
            # The row first: a crash after the mail may skip a reminder, but a
            # retry never writes the same person twice.
            with transaction.atomic():
                ExpiryReminder.objects.create(consent=consent, sent_at=now)
        except IntegrityError:
            continue  # another run took it
        address = subject_email(consent.subject)
        if not address:
            continue
        subject, body = _message(consent, now)
        try:
            send_mail(subject, body, None, [address])
            sent += 1
        except Exception:
            logger.warning("expiry reminder for %s not sent", consent.id, exc_info=True)
    return sent

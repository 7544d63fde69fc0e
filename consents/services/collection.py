"""Consents that organizations collected themselves and now record, with evidence."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from audit.actors import Actor
from consents.models import Consent, Organization
from consents.services.lifecycle import grant_consent
from consents.services.subjects import subject_for_reference


def record_collected_consent(
    *,
    recipient: Organization,
    subject_ref: str,
    subject_identifier: str | None,
    purpose_code: str,
    scope_codes: list[str],
    evidence: Mapping[str, Any],
    **terms: Any,
) -> Consent:
    """Find or register the person under the recipient's reference, then grant.

    One transaction: a refused grant leaves no new person or reference behind.
    """
    actor = Actor("organization", recipient.code)
    with transaction.atomic():
        subject = subject_for_reference(
            organization=recipient,
            reference=subject_ref,
            identifier=subject_identifier,
            actor=actor,
        )
        return grant_consent(
            subject=subject,
            recipient=recipient,
            purpose_code=purpose_code,
            scope_codes=scope_codes,
            actor=actor,
            collection_method=Consent.CollectionMethod.ORGANIZATION,
            evidence=evidence,
            **terms,
        )

"""Every write of the consent domain: one transaction each, audited inside it."""

from consents.services.catalog import load_catalog
from consents.services.checks import check_consent
from consents.services.collection import record_collected_consent
from consents.services.lifecycle import (
    acknowledge_consent_end,
    expire_due_consents,
    grant_consent,
    pause_consent,
    resume_consent,
    revoke_consent,
)
from consents.services.organizations import (
    register_organization,
    set_organization_status,
)
from consents.services.requests import (
    approve_consent_request,
    create_consent_request,
    deny_consent_request,
    expire_stale_consent_requests,
)
from consents.services.subjects import (
    erase_subject,
    link_holder_reference,
    link_subject_reference,
    register_subject,
    subject_for_reference,
)
from consents.services.transfers import record_transfer

__all__ = [
    "acknowledge_consent_end",
    "approve_consent_request",
    "check_consent",
    "create_consent_request",
    "deny_consent_request",
    "erase_subject",
    "expire_due_consents",
    "expire_stale_consent_requests",
    "grant_consent",
    "link_holder_reference",
    "link_subject_reference",
    "load_catalog",
    "pause_consent",
    "record_collected_consent",
    "record_transfer",
    "register_organization",
    "register_subject",
    "resume_consent",
    "revoke_consent",
    "set_organization_status",
    "subject_for_reference",
]

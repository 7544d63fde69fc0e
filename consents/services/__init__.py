"""Every write of the consent domain: one transaction each, audited inside it."""

from consents.services.acknowledgements import acknowledge_consent_end
from consents.services.catalog import load_catalog, retire_purpose
from consents.services.checks import check_consent
from consents.services.collection import record_collected_consent
from consents.services.endpoints import (
    disable_webhook_endpoint,
    register_webhook_endpoint,
    replay_delivery,
)
from consents.services.lifecycle import (
    grant_consent,
    pause_consent,
    resume_consent,
    revoke_consent,
    revoke_recipient_consents,
)
from consents.services.mass import (
    expire_due_consents,
    resume_mass_changes,
    revoke_all_recipient_consents,
    run_mass_change,
)
from consents.services.organizations import (
    register_officer_client,
    register_organization,
    set_organization_status,
)
from consents.services.reminders import send_expiry_reminders
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
    set_subject_time_zone,
    subject_for_reference,
)
from consents.services.transfers import record_transfer

__all__ = [
    "acknowledge_consent_end",
    "approve_consent_request",
    "check_consent",
    "create_consent_request",
    "deny_consent_request",
    "disable_webhook_endpoint",
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
    "register_officer_client",
    "register_organization",
    "register_subject",
    "register_webhook_endpoint",
    "replay_delivery",
    "resume_consent",
    "resume_mass_changes",
    "retire_purpose",
    "revoke_all_recipient_consents",
    "revoke_consent",
    "revoke_recipient_consents",
    "run_mass_change",
    "send_expiry_reminders",
    "set_organization_status",
    "set_subject_time_zone",
    "subject_for_reference",
]

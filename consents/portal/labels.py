"""Plain words for the codes stored on consents and checks, in the page's language."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from consents.decisions import Reason
from consents.models import Consent, PurposeVersion

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STATUS_LABELS = {
    Consent.Status.ACTIVE: _("Active"),
    Consent.Status.PAUSED: _("Paused"),
    Consent.Status.REVOKED: _("Revoked"),
    Consent.Status.EXPIRED: _("Expired"),
    Consent.Status.SUPERSEDED: _("Replaced by a newer consent"),
}

# Why a check was refused, said to the person whose data it was.
REASON_LABELS = {
    Reason.NO_CONSENT: _("you have not given this consent"),
    Reason.PAUSED: _("you had paused the consent"),
    Reason.REVOKED: _("the consent had been revoked"),
    Reason.EXPIRED: _("the consent had expired"),
    Reason.NOT_STARTED: _("the consent had not started yet"),
    Reason.SCOPE_NOT_GRANTED: _("it asked for data you did not agree to share"),
    Reason.HOLDER_NOT_ALLOWED: _("that organization may not send this data"),
    Reason.OUTSIDE_DATA_WINDOW: _("it asked for data outside the agreed period"),
    Reason.FREQUENCY_EXCEEDED: _("the daily limit of uses was reached"),
    Reason.UNKNOWN_SUBJECT: _("the organization does not know you"),
    Reason.UNKNOWN_PURPOSE: _("it named a purpose that does not exist"),
    Reason.ORGANIZATION_SUSPENDED: _("an organization involved is suspended"),
}

LEGAL_BASIS_LABELS = {
    PurposeVersion.LegalBasis.CONSENT: _("Your consent"),
    PurposeVersion.LegalBasis.CONTRACT: _("A contract with you"),
    PurposeVersion.LegalBasis.LEGAL_OBLIGATION: _("A legal obligation"),
    PurposeVersion.LegalBasis.VITAL_INTERESTS: _("Protecting someone's life"),
    PurposeVersion.LegalBasis.PUBLIC_TASK: _("A public task"),
    PurposeVersion.LegalBasis.LEGITIMATE_INTERESTS: _("Legitimate interests"),
}

COLLECTION_LABELS = {
    Consent.CollectionMethod.PORTAL: _("You gave it in this portal"),
    Consent.CollectionMethod.CONSENT_REQUEST: _(
        "You approved the recipient's request in this portal"
    ),
    Consent.CollectionMethod.ORGANIZATION: _(
        "The recipient collected it and recorded it here with its evidence"
    ),
}

LABELS: "dict[str, Mapping[Any, StrOrPromise]]" = {
    "status": STATUS_LABELS,
    "reason": REASON_LABELS,
    "legal_basis": LEGAL_BASIS_LABELS,
    "collection": COLLECTION_LABELS,
}

import secrets
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from oauth2_provider.settings import oauth2_settings

from consents.errors import ConsentImmutableError

# The notice models live with the webhooks; importing them here registers them
# with the consents app, and lets callers import every model from one place.
from consents.webhooks.models import (  # noqa: F401
    Acknowledgement,
    Delivery,
    DeliveryAttempt,
    ExpiryReminder,
    WebhookEndpoint,
)

SCOPE_CODE_RE = r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$"
ORG_CODE_RE = r"^[a-z0-9][a-z0-9_-]{1,31}$"


def new_pseudonym() -> str:
    return "sub_" + secrets.token_hex(12)


class DataSubject(models.Model):
    """A person. Personal fields are encrypted under the subject's own data key.

    Destroying `wrapped_key` (erasure) leaves the ciphertexts unreadable while the
    row, its consents and its audit events stay in place.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pseudonym = models.CharField(max_length=64, unique=True, default=new_pseudonym)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_subject",
    )
    # NULL, not "", once erased: unique must not collide between erased subjects.
    identifier_hash = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001
    identifier_enc = models.BinaryField(null=True)
    name_enc = models.BinaryField(null=True)
    contact_enc = models.BinaryField(null=True)
    data_key_id = models.CharField(max_length=32, blank=True, default="")
    wrapped_key = models.BinaryField(null=True)
    # The person's choice for displayed dates; empty means the service's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(erased_at__isnull=True) | Q(wrapped_key__isnull=True),
                name="subject_erased_has_no_key",
            ),
        ]

    def __str__(self) -> str:
        return self.pseudonym

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class Organization(models.Model):
    """A registered business: the recipient of some consents, a holder in others."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    code = models.CharField(
        max_length=32, unique=True, validators=[RegexValidator(ORG_CODE_RE)]
    )
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended"]),
                name="organization_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class OrganizationClient(models.Model):
    """Links an OAuth client (django-oauth-toolkit Application) to its organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="clients"
    )
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="organization_client",
    )

    def __str__(self) -> str:
        return f"{self.organization.code}: {self.application_id}"


class SubjectReference(models.Model):
    """The pairwise name by which one organization knows one subject."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="subject_references"
    )
    subject = models.ForeignKey(
        DataSubject, on_delete=models.PROTECT, related_name="references"
    )
    reference = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # On PostgreSQL, migration 0006 makes this constraint's index carry
        # `subject_id` (and adds one carrying the pseudonym on DataSubject), so a
        # check reads the person from indexes alone.
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="subjectref_unique_ref"
            ),
            models.UniqueConstraint(
                fields=["organization", "subject"], name="subjectref_unique_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.code}/{self.reference}"


class Purpose(models.Model):
    code = models.CharField(
        max_length=100, unique=True, validators=[RegexValidator(SCOPE_CODE_RE)]
    )
    name_ko = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    # A retired purpose takes no new consents; its live ones lapse (expire).
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.code


class PurposeVersion(models.Model):
    """The frozen terms of a purpose; a version a consent refers to is never edited."""

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", "Consent"
        CONTRACT = "contract", "Contract"
        LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
        VITAL_INTERESTS = "vital_interests", "Vital interests"
        PUBLIC_TASK = "public_task", "Public task"
        LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests"

    purpose = models.ForeignKey(
        Purpose, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField()
    notice_ko = models.TextField()
    notice_en = models.TextField()
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    retention_days = models.PositiveIntegerField()
    max_duration_days = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    requires_reconsent = models.BooleanField(default=False)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["purpose", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "version"], name="purposeversion_unique"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1) & Q(max_duration_days__gte=1),
                name="purposeversion_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose.code} v{self.version}"


class Scope(models.Model):
    """A data category by dotted code; a grant covers descendants, never ancestors."""

    code = models.CharField(
        max_length=100, unique=True, validators=[RegexValidator(SCOPE_CODE_RE)]
    )
    name_ko = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    sensitive = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ConsentQuerySet(models.QuerySet):
    def delete(self):
        raise ConsentImmutableError("consents are never deleted; revoke them instead")

    def update(self, *, _service: bool = False, **kwargs):
        # Only the batched transitions of consents.services.mass update in bulk:
        # they apply the transition rules and append each consent's audit event
        # in the same transaction. Anything else would bypass both.
        if not _service:
            raise ConsentImmutableError(
                "consents change only through consents.services"
            )
        return super().update(**kwargs)


class Consent(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded"

    class CollectionMethod(models.TextChoices):
        PORTAL = "portal", "Portal"
        CONSENT_REQUEST = "consent_request", "Consent request approved in the portal"
        ORGANIZATION = "organization", "Collected by the organization, with evidence"

    LIVE_STATUSES = (Status.ACTIVE, Status.PAUSED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(
        DataSubject, on_delete=models.PROTECT, related_name="consents"
    )
    recipient = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="consents_received"
    )
    purpose = models.ForeignKey(
        Purpose, on_delete=models.PROTECT, related_name="consents"
    )
    purpose_version = models.ForeignKey(
        PurposeVersion, on_delete=models.PROTECT, related_name="consents"
    )
    holders = models.ManyToManyField(
        Organization, through="ConsentHolder", related_name="consents_held"
    )
    scopes = models.ManyToManyField(
        Scope, through="ConsentScope", related_name="consents"
    )
    # Frozen copies of the two relations above, written once at grant: a consent's
    # terms never change, and the check reads them without extra queries.
    scope_codes = models.JSONField(default=list, editable=False)
    holder_codes = models.JSONField(default=list, editable=False)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    granted_at = models.DateTimeField()
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    data_from = models.DateField(null=True, blank=True)
    data_to = models.DateField(null=True, blank=True)
    max_uses_per_day = models.PositiveIntegerField(null=True, blank=True)
    retention_days = models.PositiveIntegerField()
    collection_method = models.CharField(
        max_length=32, choices=CollectionMethod.choices
    )
    evidence = models.JSONField(default=dict, blank=True)
    granted_by = models.CharField(max_length=100)
    status_changed_at = models.DateTimeField()
    status_changed_by = models.CharField(max_length=100)
    status_reason = models.CharField(max_length=500, blank=True, default="")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [
            models.Index(
                fields=["subject", "purpose", "status"], name="consent_lookup"
            ),
            models.Index(fields=["recipient", "status"], name="consent_recipient"),
            models.Index(fields=["status", "expires_at"], name="consent_expiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["active", "paused", "revoked", "expired", "superseded"]
                ),
                name="consent_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("starts_at")),
                name="consent_expires_after_start",
            ),
            models.CheckConstraint(
                condition=Q(data_from__isnull=True)
                | Q(data_to__isnull=True)
                | Q(data_to__gte=F("data_from")),
                name="consent_data_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_uses_per_day__isnull=True) | Q(max_uses_per_day__gte=1),
                name="consent_max_uses_positive",
            ),
            models.CheckConstraint(
                condition=~Q(status="superseded") | Q(superseded_by__isnull=False),
                name="consent_superseded_names_successor",
            ),
            # At most one live consent per person, recipient and purpose: a new
            # grant supersedes the old one.
            models.UniqueConstraint(
                fields=["subject", "recipient", "purpose"],
                condition=Q(status__in=["active", "paused"]),
                name="consent_one_live_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    def save(self, *args, **kwargs):
        if not kwargs.pop("_service", False):
            raise ConsentImmutableError(
                "consents change only through consents.services"
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ConsentImmutableError("consents are never deleted; revoke them instead")

    @property
    def is_terminal(self) -> bool:
        return self.status not in self.LIVE_STATUSES


class ConsentHolder(models.Model):
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consent", "organization"], name="consentholder_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consent_id} held by {self.organization_id}"


class ConsentScope(models.Model):
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT)
    scope = models.ForeignKey(Scope, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consent", "scope"], name="consentscope_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consent_id} covers {self.scope_id}"


class ConsentRequest(models.Model):
    """A recipient asks a person for consent; the person answers in the portal."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="consent_requests"
    )
    subject_reference = models.CharField(max_length=128)
    subject = models.ForeignKey(
        DataSubject,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_requests",
    )
    purpose_version = models.ForeignKey(PurposeVersion, on_delete=models.PROTECT)
    scope_codes = models.JSONField()
    holder_codes = models.JSONField(default=list, blank=True)
    duration_days = models.PositiveIntegerField()
    data_from = models.DateField(null=True, blank=True)
    data_to = models.DateField(null=True, blank=True)
    max_uses_per_day = models.PositiveIntegerField(null=True, blank=True)
    redirect_uri = models.URLField(max_length=2000)
    state = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    consent = models.OneToOneField(
        Consent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="request",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "denied", "expired"]),
                name="consentrequest_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(consent__isnull=False),
                name="consentrequest_approved_has_consent",
            ),
        ]

    def __str__(self) -> str:
        return f"request {self.id} ({self.status})"


class Transfer(models.Model):
    """A record that data moved under a consent after an allowed check."""

    class Direction(models.TextChoices):
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, related_name="transfers"
    )
    reported_by = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="transfers_reported"
    )
    holder = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers_sent",
    )
    recipient = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="transfers_received"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    scope_codes = models.JSONField()
    record_count = models.PositiveIntegerField()
    data_from = models.DateField(null=True, blank=True)
    data_to = models.DateField(null=True, blank=True)
    decision_id = models.UUIDField(null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(
                fields=["consent", "occurred_at"], name="transfer_consent_time"
            ),
        ]

    def __str__(self) -> str:
        return f"transfer {self.id}"


class MassChange(models.Model):
    """One change of many consents at once, run in batches until none is left.

    Each batch moves its consents, appends their audit events and queues their
    notices in one transaction, and adds its count to `changed` in that same
    transaction: `changed` is exact whatever dies when, and a job that stopped
    half-way is simply run again (`consents.services.mass`).
    """

    class Kind(models.TextChoices):
        REVOKE_RECIPIENT = "revoke_recipient", "Revoke every consent of a recipient"
        PAUSE_RECIPIENT = "pause_recipient", "Pause a suspended recipient's consents"
        RESUME_RECIPIENT = "resume_recipient", "Resume a reactivated recipient's"
        LAPSE_PURPOSE = "lapse_purpose", "Expire the consents of a retired purpose"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.ForeignKey(
        Purpose, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(max_length=100)
    reason = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    # Consents the change applied to when it was started, and so far.
    total = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="masschange_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | Q(purpose__isnull=False),
                name="masschange_has_target",
            ),
        ]

    def __str__(self) -> str:
        target = self.organization or self.purpose
        return f"{self.kind} {target}: {self.changed}/{self.total} ({self.status})"

"""Where organizations want notices, and each notice's way there.

A `Delivery` is one webhook message to one endpoint: written in the same
transaction as the change it announces (the transactional outbox), then sent by
Celery tasks until it is delivered, fails for good or is cancelled. Its id is
the `webhook-id` on every attempt, so receivers can de-duplicate.
"""

import uuid

from django.db import models
from django.db.models import Q

EVENT_TYPES = (
    "consent.granted",
    "consent.paused",
    "consent.resumed",
    "consent.revoked",
    "consent.expired",
    "consent.superseded",
    "consent_request.approved",
    "consent_request.denied",
)


class WebhookEndpoint(models.Model):
    """An organization's HTTPS endpoint and the event types it wants."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "consents.Organization",
        on_delete=models.PROTECT,
        related_name="webhook_endpoints",
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField()
    # Also sign with the platform's Ed25519 key (`v1a`), verifiable with the JWKS.
    sign_ed25519 = models.BooleanField(default=False)
    # The HMAC secret, encrypted under the key-encryption key (see pii.wrap_secret).
    secret_key_id = models.CharField(max_length=64)
    secret_enc = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Deleted by its organization: gone from its API, kept with its deliveries.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | Q(status="disabled"),
                name="webhookendpoint_deleted_is_disabled",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "disabled"]),
                name="webhookendpoint_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.url}"


class Delivery(models.Model):
    """One notice to one endpoint, retried on a schedule kept here."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    organization = models.ForeignKey(
        "consents.Organization", on_delete=models.PROTECT, related_name="deliveries"
    )
    event_type = models.CharField(max_length=64)
    consent = models.ForeignKey(
        "consents.Consent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    consent_request = models.ForeignKey(
        "consents.ConsentRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    # The exact bytes sent on every attempt (signatures cover them).
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    # Set while a task is on its way to this delivery; the relay leaves it alone
    # until then, and picks it up again if the task was lost with its broker.
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # How many times a task started on it: a poison message cannot loop forever.
    dispatches = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed", "cancelled"]),
                name="delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="delivery_delivered_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(fields=["consent", "created_at"], name="delivery_consent"),
            # Failed deliveries are few and watched (`/metrics`).
            models.Index(
                fields=["created_at"],
                condition=Q(status="failed"),
                name="delivery_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery: when, the answer, how long it took."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["attempted_at"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at}: {self.status_code}"


class Acknowledgement(models.Model):
    """An organization confirms it stopped processing (or erased) after a notice."""

    class Action(models.TextChoices):
        STOPPED = "stopped", "Stopped processing"
        ERASED = "erased", "Erased the data"

    consent = models.ForeignKey(
        "consents.Consent", on_delete=models.PROTECT, related_name="acknowledgements"
    )
    organization = models.ForeignKey(
        "consents.Organization",
        on_delete=models.PROTECT,
        related_name="acknowledgements",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    acknowledged_at = models.DateTimeField()
    # From the consent's end (revocation or expiry) to this acknowledgement.
    seconds_after_end = models.FloatField()

    class Meta:
        ordering = ["acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["consent", "organization", "action"],
                name="acknowledgement_once_per_action",
            ),
            models.CheckConstraint(
                condition=Q(action__in=["stopped", "erased"]),
                name="acknowledgement_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.action} {self.consent_id}"


class ExpiryReminder(models.Model):
    """The person was reminded that this consent ends soon (at most once)."""

    consent = models.OneToOneField(
        "consents.Consent", on_delete=models.PROTECT, related_name="expiry_reminder"
    )
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"reminder for {self.consent_id}"

import uuid

from django.db import models


class EventContent(models.Model):
    """What an audit event says, shared by chained and staged events."""

    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=100)
    action = models.CharField(max_length=64)
    subject = models.CharField(max_length=64, blank=True, default="")
    recipient = models.CharField(max_length=32, blank=True, default="")
    purpose = models.CharField(max_length=100, blank=True, default="")
    consent_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        abstract = True


class AuditEvent(EventContent):
    """One entry of the append-only, hash-chained audit trail.

    `sequence` is allocated under a lock by `audit.services.record_event`, so it is
    gapless and in commit order. The database rejects UPDATE, DELETE and TRUNCATE on
    this table (see `audit.db_guard`). Payloads never hold plain personal data:
    subjects appear only by their pseudonym.
    """

    sequence = models.PositiveBigIntegerField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    prev_hash = models.CharField(max_length=64)
    # Not indexed: nothing looks an event up by its hash, and the chain already
    # makes every hash distinct. Its two indexes (unique, and Django's pattern
    # index for text) on random keys cost more than any other when sealing.
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
            models.Index(fields=["occurred_at"], name="audit_time"),
            models.Index(fields=["subject", "sequence"], name="audit_subject"),
            models.Index(fields=["recipient", "sequence"], name="audit_recipient"),
            models.Index(fields=["consent_id", "sequence"], name="audit_consent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sequence__gte=1), name="audit_sequence_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} by {self.actor}"


class PendingEvent(EventContent):
    """A check's audit event, durable but not yet chained.

    Checks are the hot path: they write here without taking the chain's lock (and
    without waiting for the WAL flush), and `seal_pending_events` moves rows into
    `AuditEvent` in batches, in order. A row leaves this table only in the same
    transaction that appends it to the chain.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)

    def __str__(self) -> str:
        return f"pending {self.action} {self.event_id}"


class Checkpoint(models.Model):
    """A signed statement of the chain's head: origin, size and head hash.

    `jws` is what a verifier trusts; the other columns repeat its claims for
    queries. Sizes only grow, and the table is append-only like the events.
    """

    id = models.BigAutoField(primary_key=True)
    origin = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=100)
    jws = models.TextField()

    class Meta:
        ordering = ["size"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(size__gte=1), name="audit_checkpoint_size_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.size} {self.head_hash[:12]}"

from django.db import models
from django.utils import timezone


class StoredResponse(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed to the
    retries of that request (`api.idempotency`)."""

    client = models.CharField(max_length=100)  # whose key: OAuth client (and person)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path, body
    status = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"], name="stored_response_client_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.key}"

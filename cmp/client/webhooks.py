"""Verifying the platform's notices in a receiver: Standard Webhooks signatures.

The format itself lives in `cmp_common.wire.webhooks`, which the platform signs
with; this is the SDK's name for what a receiver needs.
"""

from cmp_common.wire.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    WebhookVerificationError,
    verify_webhook,
)

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "WebhookVerificationError", "verify_webhook"]

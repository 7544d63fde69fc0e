"""The Python SDK for organizations that integrate with the consent platform.

Needs only `requests` and `cryptography`; `cmp.client.django` adds a decorator,
a DRF permission and a webhook view for a recipient's own Django project.
"""

from cmp.client.client import ConsentClient
from cmp.client.errors import (
    APIError,
    AuthenticationFailed,
    CMPError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenVerificationError,
)
from cmp.client.models import (
    Acknowledgement,
    CheckResult,
    Consent,
    ConsentRequest,
    Transfer,
)
from cmp.client.tokens import JWKSCache, TransferToken, verify_transfer_token
from cmp.client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "APIError",
    "Acknowledgement",
    "AuthenticationFailed",
    "CMPError",
    "CheckResult",
    "Conflict",
    "ConnectionFailed",
    "Consent",
    "ConsentClient",
    "ConsentRequest",
    "InvalidRequest",
    "JWKSCache",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TokenVerificationError",
    "Transfer",
    "TransferToken",
    "WebhookVerificationError",
    "verify_transfer_token",
    "verify_webhook",
]

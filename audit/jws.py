"""Compact JWS for the audit trail: the SDK's verification, under audit's names.

`cmp.client` needs neither Django nor a database, so the offline export verifier
(`python -m audit.verify_export`) runs from a checkout with only `cryptography`.
"""

from cmp.client.errors import TokenVerificationError as SignatureError
from cmp.client.jws import b64url, b64url_decode, verify_compact

__all__ = ["SignatureError", "b64url", "b64url_decode", "verify_compact"]

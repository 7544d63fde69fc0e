"""The bottom layer: helpers that every part of the project may use.

It imports nothing of the project. `cmp_common.wire` holds the wire formats that
the platform and the SDK both speak (compact JWS, Standard Webhooks signatures)
and needs only the standard library and `cryptography`; it ships in the SDK's
distribution. `cmp_common.db` holds low-level database helpers for the platform.
"""

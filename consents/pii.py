"""Encryption of subjects' personal data at rest.

Each subject has a random 256-bit data key; personal fields are sealed with
AES-GCM under it, and the data key itself is wrapped with a key-encryption key
from settings (`CMP_DATA_KEYS`). Erasing a subject destroys the wrapped key, which
makes every ciphertext of theirs unreadable without touching other rows.
Identifiers are found by an HMAC under `CMP_LOOKUP_KEY`, never by plain value.
"""

import base64
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass
from functools import cache
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_NONCE_BYTES = 12


class KeyErasedError(Exception):
    """The subject's data key was destroyed: their personal data is gone."""


@dataclass(frozen=True)
class WrappedKey:
    key_id: str
    wrapped: bytes


def _key_encryption_keys() -> dict[str, bytes]:
    return _parse_keys(tuple(settings.CMP_DATA_KEYS))


@cache
def _parse_keys(entries: tuple[str, ...]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in entries:
        key_id, _, encoded = item.partition(":")
        key = base64.b64decode(encoded)
        if not key_id or len(key) != 32:
            raise ImproperlyConfigured("CMP_DATA_KEYS entries are kid:base64(32 bytes)")
        keys[key_id] = key
    if not keys:
        raise ImproperlyConfigured("CMP_DATA_KEYS is empty")
    return keys


def _active_kek() -> tuple[str, bytes]:
    return next(iter(_key_encryption_keys().items()))


def _wrap(plaintext: bytes, aad: bytes) -> WrappedKey:
    key_id, kek = _active_kek()
    nonce = os.urandom(_NONCE_BYTES)
    return WrappedKey(key_id, nonce + AESGCM(kek).encrypt(nonce, plaintext, aad))


def _unwrap(wrapped: WrappedKey, aad: bytes) -> bytes:
    kek = _key_encryption_keys().get(wrapped.key_id)
    if kek is None:
        raise ImproperlyConfigured(f"no key-encryption key {wrapped.key_id!r}")
    blob = bytes(wrapped.wrapped)
    return AESGCM(kek).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)


def current_key_id() -> str:
    """The key-encryption key that wraps from now on (the first listed)."""
    return _active_kek()[0]


def rewrap_data_key(subject_id: UUID, wrapped: WrappedKey) -> WrappedKey:
    """The same data key, wrapped under the current key-encryption key."""
    return _wrap(_unwrap(wrapped, subject_id.bytes), subject_id.bytes)


def rewrap_secret(owner_id: UUID, wrapped: WrappedKey) -> WrappedKey:
    """The same secret, wrapped under the current key-encryption key."""
    aad = owner_id.bytes + b"secret"
    return _wrap(_unwrap(wrapped, aad), aad)


def new_data_key(subject_id: UUID) -> tuple[bytes, WrappedKey]:
    """A fresh data key for one subject, and its wrapped form for storage."""
    data_key = AESGCM.generate_key(bit_length=256)
    return data_key, _wrap(data_key, subject_id.bytes)


def unwrap_data_key(subject_id: UUID, wrapped: WrappedKey | None) -> bytes:
    if wrapped is None:
        raise KeyErasedError(f"data key of subject {subject_id} was erased")
    return _unwrap(wrapped, subject_id.bytes)


def wrap_secret(owner_id: UUID, secret: str) -> WrappedKey:
    """A secret the platform must use again later (a webhook signing secret)."""
    return _wrap(secret.encode("utf-8"), owner_id.bytes + b"secret")


def unwrap_secret(owner_id: UUID, wrapped: WrappedKey) -> str:
    return _unwrap(wrapped, owner_id.bytes + b"secret").decode("utf-8")


def seal(data_key: bytes, subject_id: UUID, field: str, value: str) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    aad = subject_id.bytes + field.encode()
    return nonce + AESGCM(data_key).encrypt(nonce, value.encode("utf-8"), aad)


def unseal(
    data_key: bytes, subject_id: UUID, field: str, sealed: bytes | memoryview
) -> str:
    blob = bytes(sealed)
    aad = subject_id.bytes + field.encode()
    plain = AESGCM(data_key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
    return plain.decode("utf-8")


def normalize_identifier(identifier: str) -> str:
    """E-mail addresses and phone numbers compare case- and spacing-insensitively."""
    text = unicodedata.normalize("NFKC", identifier).strip().lower()
    if "@" not in text:
        text = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    return text


def identifier_lookup_hash(identifier: str) -> str:
    key = settings.CMP_LOOKUP_KEY.encode()
    message = normalize_identifier(identifier).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()

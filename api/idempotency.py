"""`Idempotency-Key` on POST: a retried request is answered once.

A client that lost the answer to a POST (a connection dropped after the request
was sent) sends it again with the same key. The first request to use a key, per
OAuth client (and per person, for `/me/`), runs in one transaction with a row
that stores its answer; the key's unique index makes a concurrent retry wait for
that transaction, and then:
- the same method, path and body replay the stored answer, with
  `Idempotent-Replayed: true`, and nothing is done again;
- another body (or path) under the same key is refused with 422
  `idempotency_key_reused`.
A request that fails (a 4xx raised as an error, or a 5xx) rolls back with its row,
so its retry runs afresh. Keys are kept `CMP_IDEMPOTENCY_KEY_HOURS` (24) after
their first use. An answer that carries a secret shown only once (a webhook
endpoint's signing secret) is stored encrypted under the platform's key
encryption keys, as the secret itself is, never in the clear.
"""

import base64
import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import StoredResponse
from consents import pii

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 422
    default_detail = "this Idempotency-Key was used for another request"
    default_code = "idempotency_key_reused"


def _key(request: Request) -> str:
    key = str(request.META[HEADER])
    if not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise exceptions.ValidationError(
            {"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} printable ASCII characters"]}
        )
    return key


def _client(request: Request) -> str:
    """Whose key space: the OAuth client, and the person for a person's token."""
    token = request.auth
    scope = f"app:{getattr(token, 'application_id', None)}"
    user_id = getattr(token, "user_id", None)
    return f"{scope}/user:{user_id}" if user_id is not None else scope


def _fingerprint(request: Request) -> str:
    body = orjson.dumps(request.data, option=orjson.OPT_SORT_KEYS, default=str)
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _owner(client: str, key: str) -> uuid.UUID:
    """What a sealed answer is bound to: it opens only for this client and key."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"idempotency:{client}:{key}")


def _seal(client: str, key: str, body: Any) -> dict[str, str]:
    wrapped = pii.wrap_secret(_owner(client, key), orjson.dumps(body).decode())
    return {
        "key_id": wrapped.key_id,
        "sealed": base64.b64encode(wrapped.wrapped).decode(),
    }


def _unseal(client: str, key: str, stored: Any) -> Any:
    wrapped = pii.WrappedKey(stored["key_id"], base64.b64decode(stored["sealed"]))
    return orjson.loads(pii.unwrap_secret(_owner(client, key), wrapped))


def _replay(client: str, key: str, fingerprint: str, *, sealed: bool) -> Response:
    stored = StoredResponse.objects.get(client=client, key=key)
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    body = _unseal(client, key, stored.body) if sealed else stored.body
    return Response(body, status=stored.status, headers={"Idempotent-Replayed": "true"})


def answer_once(
    request: Request, handler: Callable[[], Response], *, sealed: bool = False
) -> Response:
    """`handler()`'s answer, or the stored answer to this key's first request;
    `sealed`: the answer holds a secret, so it is stored encrypted."""
    if HEADER not in request.META:
        return handler()
    key, client = _key(request), _client(request)
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = StoredResponse.objects.create(
                    client=client, key=key, fingerprint=fingerprint, status=0
                )
        except IntegrityError:  # used before: that request has committed by now
            return _replay(client, key, fingerprint, sealed=sealed)
        response = handler()
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        stored.status = response.status_code
        stored.body = _seal(client, key, response.data) if sealed else response.data
        stored.save(update_fields=["status", "body"])
    return response


def purge_stored_responses(*, now: datetime | None = None) -> int:
    """Forget answers older than `CMP_IDEMPOTENCY_KEY_HOURS`; how many went."""
    cutoff = (now or timezone.now()) - timedelta(
        hours=settings.CMP_IDEMPOTENCY_KEY_HOURS
    )
    deleted, _ = StoredResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotent_handler(handler: Callable[..., Response], *, sealed: bool) -> Any:
    """`handler`, answering each `Idempotency-Key` once (see the module)."""

    def run(request: Request, *args: Any, **kwargs: Any) -> Response:
        return answer_once(
            request, lambda: handler(request, *args, **kwargs), sealed=sealed
        )

    return run


class IdempotentSchema(AutoSchema):
    """Documents the `Idempotency-Key` header on the POSTs that take it."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST" and getattr(self.view, "idempotent", False):
            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    description=(
                        "Send the same key again to retry this request: its first "
                        "answer is replayed and nothing is done twice."
                    ),
                )
            )
        return parameters

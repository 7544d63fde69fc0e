"""`ConsentClient`: the organization API from Python, with its OAuth token managed.

One `requests.Session` per client keeps connections alive. The client fetches a
client-credentials token itself, renews it shortly before it expires (or once
after a 401), and retries with exponential backoff only where that is safe: on
connection failures, and on 429 and 503 (honouring `Retry-After`). Every POST
carries an `Idempotency-Key`, the same on each of its retries, so a request whose
answer was lost with the connection is done once; a request without one is
retried after a connection failure only if its method is idempotent. A 400 or any
other answer is raised at once as a typed error carrying the API's code.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import requests

from cmp.client.errors import (
    AuthenticationFailed,
    CMPError,
    ConnectionFailed,
    error_for,
)
from cmp.client.models import (
    Acknowledgement,
    CheckResult,
    Consent,
    ConsentRequest,
    Transfer,
)

DEFAULT_SCOPES = (
    "consents:read consents:write consents:check consent-requests:write "
    "transfers:write webhooks:manage"
)
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "cmp-client/1"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _without_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class ConsentClient:
    """The platform's organization API for one OAuth client (recipient or holder)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: str = DEFAULT_SCOPES,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    # --- transport ---------------------------------------------------------------

    def _sleep_before_retry(self, attempt: int, retry_after: float | None) -> None:
        delay = min(self.max_backoff, self.backoff * 2**attempt)
        time.sleep(min(self.max_backoff, retry_after) if retry_after else delay)

    def _send(
        self, method: str, url: str, *, replayable: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One call with retries on connection failures, 429 and 503.

        A connection that failed may have carried the request to the platform
        before it broke: it is sent again only if doing it twice is harmless (an
        idempotent method, or `replayable`: an Idempotency-Key or a token).
        """
        retry_connections = replayable or method.upper() in IDEMPOTENT_METHODS
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.session.request(
                    method, url, timeout=self.timeout, **kwargs
                )
            except requests.ConnectionError as exc:
                if last or not retry_connections:
                    raise ConnectionFailed(str(exc), code="connection_failed") from exc
                self._sleep_before_retry(attempt, None)
                continue
            except requests.Timeout as exc:
                raise ConnectionFailed(str(exc), code="timeout") from exc
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep_before_retry(attempt, _retry_after(response))
                continue
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    def _fetch_token(self) -> None:
        response = self._send(
            "POST",
            f"{self.base_url}/o/token/",
            replayable=True,  # a second token is as good as the first
            data={"grant_type": "client_credentials", "scope": self.scopes},
            auth=(self.client_id, self.client_secret),
        )
        body = response.json() if response.content else {}
        if response.status_code != 200:
            message = body.get("error_description") or body.get("error") or "refused"
            raise AuthenticationFailed(
                str(message),
                code=str(body.get("error") or "invalid_client"),
                status=response.status_code,
            )
        self._token = body["access_token"]
        # On the session, so a call builds no extra headers to merge.
        self.session.headers["Authorization"] = f"Bearer {self._token}"
        # Renew a little early so a call never starts with a token about to expire.
        lifetime = float(body.get("expires_in", 300))
        self._token_expires = time.monotonic() + max(0.0, lifetime - 30)

    def access_token(self, *, renew: bool = False) -> str:
        with self._token_lock:
            if renew or self._token is None or time.monotonic() >= self._token_expires:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Call `/api/v1/{path}`; the JSON answer, or a typed `CMPError`.

        A POST is sent with `idempotency_key` (a new random one by default) and
        keeps it on every retry.
        """
        url = path if path.startswith("http") else f"{self.base_url}/api/v1/{path}"
        extra: dict[str, str] = {}
        if method.upper() == "POST":
            extra["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        renewed = False
        while True:
            headers = {
                "Authorization": f"Bearer {self.access_token(renew=renewed)}",
                **extra,
            }
            response = self._send(
                method,
                url,
                replayable=bool(extra),
                json=json,
                params=params,
                headers=headers,
            )
            if response.status_code == 401 and not renewed:
                renewed = True  # revoked or expired early: one fresh token, once
                continue
            break
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise error_for(response.status_code, body, _retry_after(response))
        return body

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ConsentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the API --------------------------------------------------------------------

    def check(
        self,
        *,
        subject_ref: str,
        purpose: str,
        scopes: Sequence[str],
        counterparty: str | None = None,
        data_from: date | None = None,
        data_to: date | None = None,
    ) -> CheckResult:
        """May we process this person's data? A denial is a result, not an error."""
        body = _without_none(
            {
                "subject_ref": subject_ref,
                "purpose": purpose,
                "scopes": list(scopes),
                "counterparty": counterparty,
                "data_from": _iso(data_from),
                "data_to": _iso(data_to),
            }
        )
        return CheckResult.from_api(self.request("POST", "checks/", json=body))

    def record_consent(
        self,
        *,
        subject_ref: str,
        purpose: str,
        scopes: Sequence[str],
        evidence: Mapping[str, Any],
        subject_identifier: str | None = None,
        holders: Sequence[str] | None = None,
        expires_at: datetime | None = None,
        duration_days: int | None = None,
        data_from: date | None = None,
        data_to: date | None = None,
        max_uses_per_day: int | None = None,
    ) -> Consent:
        """Record a consent we collected ourselves, with its evidence."""
        body = _without_none(
            {
                "subject_ref": subject_ref,
                "purpose": purpose,
                "scopes": list(scopes),
                "evidence": dict(evidence),
                "subject_identifier": subject_identifier,
                "holders": list(holders) if holders is not None else None,
                "expires_at": _iso(expires_at),
                "duration_days": duration_days,
                "data_from": _iso(data_from),
                "data_to": _iso(data_to),
                "max_uses_per_day": max_uses_per_day,
            }
        )
        return Consent.from_api(self.request("POST", "consents/", json=body))

    def get_consent(self, consent_id: str) -> Consent:
        return Consent.from_api(self.request("GET", f"consents/{consent_id}/"))

    def list_consents(
        self,
        *,
        subject_ref: str | None = None,
        status: str | None = None,
        purpose: str | None = None,
    ) -> Iterator[Consent]:
        """Every matching consent of ours, following the pages as it goes."""
        params = _without_none(
            {"subject_ref": subject_ref, "status": status, "purpose": purpose}
        )
        page: Any = self.request("GET", "consents/", params=params)
        while True:
            for item in page["results"]:
                yield Consent.from_api(item)
            if not page.get("next"):
                return
            page = self.request("GET", page["next"])

    def _status_change(self, consent_id: str, action: str, reason: str) -> Consent:
        path = f"consents/{consent_id}/{action}/"
        body = {"reason": reason} if reason else {}
        return Consent.from_api(self.request("POST", path, json=body))

    def revoke(self, consent_id: str, *, reason: str = "") -> Consent:
        """End a consent for good (e.g. the customer closed the account)."""
        return self._status_change(consent_id, "revoke", reason)

    def pause(self, consent_id: str, *, reason: str = "") -> Consent:
        return self._status_change(consent_id, "pause", reason)

    def resume(self, consent_id: str, *, reason: str = "") -> Consent:
        return self._status_change(consent_id, "resume", reason)

    def request_consent(
        self,
        *,
        subject_ref: str,
        purpose: str,
        scopes: Sequence[str],
        redirect_uri: str,
        state: str = "",
        holders: Sequence[str] | None = None,
        duration_days: int | None = None,
    ) -> ConsentRequest:
        """Ask the person; send them to the answer's `approve_url`."""
        body = _without_none(
            {
                "subject_ref": subject_ref,
                "purpose": purpose,
                "scopes": list(scopes),
                "redirect_uri": redirect_uri,
                "state": state,
                "holders": list(holders) if holders is not None else None,
                "duration_days": duration_days,
            }
        )
        return ConsentRequest.from_api(
            self.request("POST", "consent-requests/", json=body)
        )

    def get_consent_request(self, request_id: str) -> ConsentRequest:
        return ConsentRequest.from_api(
            self.request("GET", f"consent-requests/{request_id}/")
        )

    def record_transfer(
        self,
        *,
        scopes: Sequence[str],
        record_count: int,
        direction: str,
        decision_id: str | None = None,
        transfer_token: str | None = None,
        counterparty: str | None = None,
    ) -> Transfer:
        """Log a transfer made after an allowed check (by its decision or token)."""
        if (decision_id is None) == (transfer_token is None):
            raise CMPError("give decision_id or transfer_token", code="invalid")
        body = _without_none(
            {
                "decision_id": decision_id,
                "transfer_token": transfer_token,
                "scopes": list(scopes),
                "record_count": record_count,
                "direction": direction,
                "counterparty": counterparty,
            }
        )
        return Transfer.from_api(self.request("POST", "transfers/", json=body))

    def link_subject_reference(
        self, *, subject_ref: str, subject_identifier: str
    ) -> dict[str, Any]:
        """As a holder named in a consent: our own reference for the person."""
        body = {"subject_ref": subject_ref, "subject_identifier": subject_identifier}
        return self.request("POST", "subject-references/", json=body)

    def acknowledge(
        self, consent_id: str, *, action: str = "stopped"
    ) -> Acknowledgement:
        """Confirm we stopped processing (`stopped`) or erased the data (`erased`)."""
        path = f"consents/{consent_id}/acknowledge/"
        return Acknowledgement.from_api(
            self.request("POST", path, json={"action": action})
        )

    def register_webhook_endpoint(
        self,
        url: str,
        *,
        event_types: Sequence[str] | None = None,
        sign_ed25519: bool = False,
        description: str = "",
    ) -> dict[str, Any]:
        """Where to receive notices; the answer's `secret` is shown only this once."""
        body = _without_none(
            {
                "url": url,
                "event_types": list(event_types) if event_types else None,
                "sign_ed25519": sign_ed25519,
                "description": description,
            }
        )
        return self.request("POST", "webhook-endpoints/", json=body)

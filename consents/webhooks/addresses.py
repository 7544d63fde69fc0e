"""Which webhook URLs the platform will call.

An endpoint URL is registered by an organization, so without a check it would let
that organization make the platform call into its own network (SSRF). Loopback,
link-local, private and other non-public addresses are refused, both when the
endpoint is registered and again before every attempt (the name may since resolve
elsewhere), unless `CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS` is set.
"""

import ipaddress
import socket
from typing import cast
from urllib.parse import urlsplit

from django.conf import settings

from consents.errors import ValidationError


class UnsafeAddressError(ValidationError):
    """The URL is malformed or points somewhere the platform must not call."""


def _refuse(message: str) -> UnsafeAddressError:
    return UnsafeAddressError(message, fields={"url": [message]})


def _addresses(host: str, port: int) -> set[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _refuse(f"the host {host} does not resolve") from exc
    return {cast(str, info[4][0]) for info in infos}  # IPv4 or IPv6: a string


def check_webhook_url(url: str) -> None:
    """Raise `UnsafeAddressError` unless the platform may POST notices to `url`."""
    parts = urlsplit(url)
    schemes = {"https"} if settings.CMP_WEBHOOK_REQUIRE_HTTPS else {"https", "http"}
    if parts.scheme not in schemes:
        raise _refuse(f"the URL must use {' or '.join(sorted(schemes))}")
    if not parts.hostname or parts.username or parts.password:
        raise _refuse("the URL needs a host and no credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _refuse("the port is not valid") from exc
    if settings.CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    for address in _addresses(parts.hostname, port):
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise _refuse(f"{parts.hostname} resolves to a non-public address")

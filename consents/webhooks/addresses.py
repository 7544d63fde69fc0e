"""Which webhook URLs the platform will call, and at which addresses.

An endpoint URL is registered by an organization, so without a check it would let
that organization make the platform call into its own network (SSRF). Loopback,
link-local, private and other non-public addresses are refused, both when the
endpoint is registered and again before every attempt (the name may since resolve
elsewhere), unless `CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS` is set. IPv6 forms that
carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are
judged by the IPv4 address inside them too.

Before an attempt the name is resolved once, here, and the attempt connects to an
address this resolution vetted (`consents.webhooks.http`): a second lookup by the
HTTP client could answer differently (DNS rebinding).
"""

import ipaddress
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import cast
from urllib.parse import urlsplit

from django.conf import settings

from consents.errors import ValidationError

# Networks whose addresses carry an IPv4 address in their last 32 bits.
_EMBEDDING_LAST_32 = (
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052)
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated, RFC 4291)
)
# NAT64 for local use (RFC 8215): never a public destination.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


class UnsafeAddressError(ValidationError):
    """The URL is malformed or points somewhere the platform must not call."""


@dataclass(frozen=True)
class WebhookTarget:
    """Where one attempt goes: the URL's parts and the addresses vetted for it."""

    scheme: str
    host: str  # the name: for TLS (SNI and the certificate's check)
    netloc: str  # the Host header
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]


def _refuse(message: str) -> UnsafeAddressError:
    return UnsafeAddressError(message, fields={"url": [message]})


def _addresses(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _refuse(f"the host {host} does not resolve") from exc
    # IPv4 or IPv6: a string; the resolver's order, without repeats.
    return tuple(dict.fromkeys(cast(str, info[4][0]) for info in infos))


def _embedded_ipv4(ip: IPv6Address) -> list[IPv4Address]:
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if any(ip in network for network in _EMBEDDING_LAST_32):
        found.append(IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def is_public(address: str) -> bool:
    """Whether the platform may connect to this address: globally routable, and so
    is any IPv4 address an IPv6 form carries."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global:
        return False
    if isinstance(ip, IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        return all(inner.is_global for inner in _embedded_ipv4(ip))
    return True


def _parse(url: str) -> tuple[str, str, str, int, str]:
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
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, parts.netloc, port, path


def check_webhook_url(url: str) -> None:
    """Raise `UnsafeAddressError` unless the platform may POST notices to `url`."""
    if settings.CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        _parse(url)
    else:
        vet_webhook_url(url)


def vet_webhook_url(url: str) -> WebhookTarget:
    """The URL's target, resolved once; raises `UnsafeAddressError` if the URL is
    refused or any address its name resolves to is not public."""
    scheme, host, netloc, port, path = _parse(url)
    addresses = _addresses(host, port)
    if not settings.CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        for address in addresses:
            if not is_public(address):
                raise _refuse(f"{host} resolves to a non-public address")
    return WebhookTarget(scheme, host, netloc, port, path, addresses)

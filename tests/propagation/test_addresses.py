"""The address guard: what counts as public, and that an attempt connects only to
an address it vetted (no second resolution, no redirect followed)."""

import socket

import pytest
import urllib3.util.connection
from django.test import override_settings

from consents.models import WebhookEndpoint
from consents.webhooks.addresses import is_public, vet_webhook_url
from consents.webhooks.delivery import attempt_delivery
from tests.propagation.conftest import subscribe

pytestmark = pytest.mark.usefixtures("catalog")

# A global address the test pretends a name resolves to. Nothing connects to it:
# the test's connector refuses every address but loopback.
PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::7f00:1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_non_global_addresses_in_every_form_are_refused(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"]
)
def test_global_addresses_are_allowed(address):
    assert is_public(address)


@override_settings(CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    answers = [PUBLIC, "64:ff9b::7f00:1"]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(0, 0, 0, "", (ip, 443)) for ip in answers],
    )
    with pytest.raises(Exception, match="non-public"):
        vet_webhook_url("https://hooks.example.com/x")


@pytest.fixture
def rebinding_resolver(monkeypatch, receiver):
    """hooks.example.com answers a public address to the first lookup and the
    receiver's loopback address to every later one; connections go through to
    loopback only, and every address asked for is noted."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = urllib3.util.connection.create_connection
    lookups: list[str] = []
    connects: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "hooks.example.com":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def create_connection(address, *args, **kwargs):
        connects.append(address[0])
        if address[0] not in ("127.0.0.1", "hooks.example.com"):
            raise ConnectionRefusedError("the test connects to loopback only")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return lookups, connects


@override_settings(CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_dns_rebinding_never_reaches_loopback(
    receiver, recipient, revoke, rebinding_resolver
):
    lookups, connects = rebinding_resolver
    endpoint, _ = subscribe(recipient, "https://8.8.8.8/hooks")
    port = receiver.base_url.rsplit(":", 1)[1]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        url=f"http://hooks.example.com:{port}/ok"
    )
    delivery = revoke()

    with override_settings(CMP_WEBHOOK_REQUIRE_HTTPS=False):
        attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert lookups == ["hooks.example.com"]  # resolved once, by the guard
    assert connects == [PUBLIC]  # and connected to what it vetted
    assert receiver.requests() == []
    assert delivery.status == "pending" and delivery.last_error


def test_a_redirect_is_not_followed(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/moved"))
    delivery = revoke()

    attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert [r.path for r in receiver.requests()] == ["/moved"]
    assert delivery.last_status_code == 307
    assert delivery.status == "pending"  # a failed attempt, retried on schedule

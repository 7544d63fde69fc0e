"""Sign-in protection: who is signing in, as django-axes counts failures."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: behind N trusted proxies, the Nth from the right.

    Entries further left in X-Forwarded-For are whatever the client sent, so
    trusting them would let an attacker pick a fresh address for every guess.
    """
    proxies = settings.CMP_TRUSTED_PROXIES
    if proxies:
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        hops = [hop.strip() for hop in hops if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")

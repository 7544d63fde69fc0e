"""Sign-in protection: who is signing in, as django-axes counts failures."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from consents.models import DataSubject
from consents.portal.middleware import SESSION_TIME_ZONE


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


@receiver(user_logged_in, dispatch_uid="portal-time-zone-on-login")
def remember_time_zone(sender, request: HttpRequest, user, **kwargs) -> None:
    """Carry the person's time zone into the new session."""
    zone = (
        DataSubject.objects.filter(user=user)
        .values_list("time_zone", flat=True)
        .first()
    )
    if request is not None and zone:
        request.session[SESSION_TIME_ZONE] = zone

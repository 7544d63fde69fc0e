"""Receivers for events Django owns: a person signing in."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from consents.models import DataSubject
from consents.portal.middleware import SESSION_TIME_ZONE


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

"""Staff sign in with a second factor (django-otp): a TOTP device of their own,
and recovery codes for the day the phone is lost. The admin and the officers'
pages both require a verified session."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.decorators import otp_required
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actors import Actor
from audit.services import record_event

RECOVERY_CODES = 10


@dataclass(frozen=True)
class Enrolment:
    """Shown once: the URI an authenticator app takes, and the recovery codes."""

    otpauth_uri: str
    recovery_codes: list[str]


def enrol_staff_otp(
    user: AbstractBaseUser, *, actor: Actor, key: str | None = None
) -> Enrolment:
    """Give a staff member a new TOTP device and new recovery codes, replacing
    any they had (a lost phone), and record it. `key` (40 hex digits) fixes the
    secret, for the demo only."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        totp = TOTPDevice.objects.create(
            user=user,
            name="authenticator",
            confirmed=True,
            **({"key": key} if key else {}),
        )
        recovery = StaticDevice.objects.create(
            user=user, name="recovery codes", confirmed=True
        )
        codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(
            StaticToken(device=recovery, token=code) for code in codes
        )
        record_event(
            action="staff.second_factor_enrolled",
            actor=actor,
            payload={"username": user.get_username()},
        )
    return Enrolment(otpauth_uri=totp.config_url, recovery_codes=codes)


def officer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Staff, signed in with their second factor; anyone else goes to the admin's
    sign-in, which asks for it."""
    return staff_member_required(otp_required(view, login_url="admin:login"))

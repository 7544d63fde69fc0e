"""Staff sign in to the admin and the officers' pages with a second factor:
a password alone is not enough, a TOTP code or a recovery code (once) is."""

import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actors import Actor
from audit.models import AuditEvent
from audit.staff import enrol_staff_otp

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-staff-password"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user(
        "officer", password=PASSWORD, is_staff=True, is_superuser=True
    )


def _sign_in(client: Client, otp_token: str = "", device: str = "totp") -> None:
    """The admin's sign-in, with the code of the chosen device (django-otp asks
    which, rather than trying a code against every device)."""
    user = get_user_model().objects.get(username="officer")
    model = TOTPDevice if device == "totp" else StaticDevice
    chosen = model.objects.filter(user=user).first()
    client.post(
        "/admin/login/",
        {
            "username": "officer",
            "password": PASSWORD,
            "otp_device": chosen.persistent_id if chosen else "",
            "otp_token": otp_token,
        },
    )


def _code(user) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def test_a_password_alone_opens_neither_the_admin_nor_the_officer_pages(staff):
    enrol_staff_otp(staff, actor=Actor("staff", "tests"))
    client = Client()
    _sign_in(client)  # the right password, no code
    assert client.get("/admin/").status_code == 302
    page = client.get("/audit/")
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")

    _sign_in(client, otp_token="000000")
    assert client.get("/audit/").status_code == 302


def test_the_code_of_the_enrolled_app_opens_both(staff):
    enrolment = enrol_staff_otp(staff, actor=Actor("staff", "tests"))
    assert enrolment.otpauth_uri.startswith("otpauth://totp/")
    client = Client()
    _sign_in(client, otp_token=_code(staff))
    assert client.get("/admin/").status_code == 200
    assert client.get("/audit/").status_code == 200
    assert AuditEvent.objects.filter(action="staff.second_factor_enrolled").exists()


def test_a_recovery_code_works_once(staff):
    codes = enrol_staff_otp(staff, actor=Actor("staff", "tests")).recovery_codes
    assert len(set(codes)) == 10
    first = Client()
    _sign_in(first, otp_token=codes[0], device="static")
    assert first.get("/audit/").status_code == 200
    again = Client()
    _sign_in(again, otp_token=codes[0], device="static")
    assert again.get("/audit/").status_code == 302


def test_enrolling_again_replaces_the_lost_device(staff):
    old = enrol_staff_otp(staff, actor=Actor("staff", "tests"))
    new = enrol_staff_otp(staff, actor=Actor("staff", "tests"))
    assert old.otpauth_uri != new.otpauth_uri
    assert TOTPDevice.objects.filter(user=staff).count() == 1
    client = Client()
    _sign_in(client, otp_token=old.recovery_codes[0], device="static")
    assert client.get("/admin/").status_code == 302


def test_the_command_enrols_staff_only(staff):
    out = StringIO()
    call_command("enrol_staff_otp", "--username", "officer", stdout=out)
    printed = json.loads(out.getvalue())
    secret = re.search(r"secret=([A-Z2-7]+)", printed["otpauth_uri"])
    assert secret and len(printed["recovery_codes"]) == 10
    get_user_model().objects.create_user("minji")
    with pytest.raises(CommandError, match="no staff member called minji"):
        call_command("enrol_staff_otp", "--username", "minji")

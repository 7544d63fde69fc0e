"""Signing in: plain errors, a pause after repeated failures, careful cookies."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from tests.consents.portal.conftest import page_text
from tests.factories import make_subject

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-2026"


@pytest.fixture
def person(catalog):
    user = get_user_model().objects.create_user("sora", password=PASSWORD)
    make_subject(user=user)
    return user


def _sign_in(password: str, address: str = "203.0.113.7", **headers):
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en", **headers).post(
        "/login/", {"username": "sora", "password": password}
    )


def test_the_sign_in_page_is_labelled_and_korean_by_default(client):
    page = client.get("/login/")
    html = page.content.decode()
    assert '<html lang="ko">' in html and "로그인" in html
    assert '<label for="id_username">' in html and 'autocomplete="username"' in html
    assert '<label for="id_password">' in html


def test_signing_in_opens_my_consents_and_a_wrong_password_says_so(person):
    assert _sign_in(PASSWORD)["Location"] == "/consents/"
    wrong = _sign_in("guess")
    assert wrong.status_code == 200
    assert "The username or password is not correct." in page_text(wrong)


def test_five_wrong_passwords_pause_signing_in_even_with_the_right_one(person):
    for _ in range(4):
        assert _sign_in("guess").status_code == 200
    locked = _sign_in("guess")
    assert locked.status_code == 429
    assert "Signing in is paused" in page_text(locked)
    assert "Try again in 15 minutes." in page_text(locked)
    assert _sign_in(PASSWORD).status_code == 429
    # Another address is not locked out: one guesser cannot lock a person out.
    assert _sign_in(PASSWORD, address="198.51.100.20")["Location"] == "/consents/"


def test_a_success_clears_the_count(person):
    for _ in range(4):
        _sign_in("guess")
    assert _sign_in(PASSWORD).status_code == 302
    for _ in range(4):
        assert _sign_in("guess").status_code == 200
    assert AccessAttempt.objects.get().failures_since_start == 4


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(person, settings):
    # Without a trusted proxy, a forged header does not buy fresh guesses.
    for n in range(5):
        last = _sign_in("guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert last.status_code == 429
    addresses = AccessAttempt.objects.values_list("ip_address", flat=True)
    assert set(addresses) == {"203.0.113.7"}
    settings.CMP_TRUSTED_PROXIES = 1
    # Behind one proxy, the address it appended is the client's, not the locked one.
    behind = _sign_in(PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 192.0.2.99")
    assert behind["Location"] == "/consents/"


def test_the_session_cookie_is_secure_http_only_and_ends_with_the_browser(
    person, settings
):
    response = _sign_in(PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"]
    assert settings.SESSION_COOKIE_AGE == 3600


def test_signing_out_takes_a_post(person):
    browser = Client()
    browser.force_login(person)
    assert browser.get("/logout/").status_code == 405
    assert browser.post("/logout/")["Location"] == "/login/"
    assert browser.get("/consents/").status_code == 302

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import OrganizationFactory, make_subject


class Person:
    """A data subject with a portal login and a signed-in browser."""

    def __init__(self, username: str):
        self.user = get_user_model().objects.create_user(username, password="pw")
        self.subject = make_subject(user=self.user)
        self.browser = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.browser.force_login(self.user)


@pytest.fixture
def minji(catalog):
    return Person("minji")


@pytest.fixture
def jihoon(catalog):
    return Person("jihoon")


@pytest.fixture
def shop(db):
    return OrganizationFactory(code="hanul-shop", name="하늘쇼핑")

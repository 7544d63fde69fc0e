import json
import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.models.signals import post_migrate

from audit.db_guard import GUARDED_TABLES, install_guards, suspend_guards
from consents.catalog_cache import clear_catalog_cache
from consents.management.commands.load_catalog import DEMO_CATALOG
from consents.services import load_catalog
from tests.factories import TESTER, OrganizationFactory, make_subject


def run_in_threads(
    work: Callable[[], None], count: int = 1, timeout: float = 60
) -> None:
    """Run `work` in `count` threads at once, each on its own database
    connection, closed when it ends (an open one would keep the test database
    from being dropped); wait for all of them, at most `timeout` seconds each."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


requires_postgres = pytest.mark.skipif(
    not settings.USING_POSTGRES, reason="needs PostgreSQL (required under CI=true)"
)


def _reinstall_guards(sender, using="default", **kwargs) -> None:
    # A transactional test's flush runs with the guards suspended (see
    # `committed_db`); the flush's post_migrate puts them back.
    if sender.label == "audit":
        install_guards(connections[using], GUARDED_TABLES)


post_migrate.connect(_reinstall_guards, dispatch_uid="tests-reinstall-audit-guards")


@pytest.fixture(autouse=True)
def _fresh_catalog_cache():
    # Each test's database is rolled back; the process-wide snapshot must not
    # outlive it.
    clear_catalog_cache()
    yield
    clear_catalog_cache()


def verify_second_factor(client, user) -> None:
    """Sign `client`'s session in with a second factor, as a staff member who
    typed their code (the admin and the officers' pages require one)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's, with the second factor the admin requires."""
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    verify_second_factor(client, admin_user)
    return client


@pytest.fixture
def committed_db(transactional_db):
    """Real commits, for tests with threads or other processes.

    The audit table refuses TRUNCATE, so the guards are suspended just before
    the flush that ends the test and reinstalled right after it.
    """
    yield
    suspend_guards(connections["default"])


def _load_demo_catalog() -> dict:
    document = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    load_catalog(catalog=document, actor=TESTER)
    return document


@pytest.fixture
def catalog(db):
    return _load_demo_catalog()


@pytest.fixture
def committed_catalog(committed_db):
    return _load_demo_catalog()


@pytest.fixture
def recipient(db):
    return OrganizationFactory(code="moneylog", name="머니로그")


@pytest.fixture
def bank(db):
    return OrganizationFactory(code="hanbit-bank", name="한빛은행")


@pytest.fixture
def card(db):
    return OrganizationFactory(code="byeol-card", name="별카드")


@pytest.fixture
def outsider(db):
    return OrganizationFactory(code="outsider", name="Outsider Corp")


@pytest.fixture
def subject(db):
    return make_subject()

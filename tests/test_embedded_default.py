"""With no DATABASE_URL, REDIS_URL or broker, CMP runs on SQLite and a file broker.

Each test drives real `manage.py` and Celery processes against a fresh var folder.
"""

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from tests.processes import stop_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT = 180  # seconds for one manage.py run
EXPIRY_TIMEOUT = 60.0  # seconds for the worker to expire the consent
POLL_STEP = 0.5

# settings/test.py puts its own keys into this process's environment; a clean
# embedded run must use settings/dev.py's defaults instead.
NOT_INHERITED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "CMP_DATA_KEYS",
    "CMP_LOOKUP_KEY",
)

GRANT_EXPIRING_CONSENT = """
import json
from datetime import timedelta
from django.utils import timezone
from audit.actors import Actor
from consents import demo, selectors, services
from consents.models import Consent, Organization

_username, identifier, _name, _phone = demo.PEOPLE[2]
subject = selectors.subject_by_identifier(identifier)
consent = services.grant_consent(
    subject=subject,
    recipient=Organization.objects.get(code="hanul-shop"),
    purpose_code="marketing.personalised-offers",
    scope_codes=["card.approvals"],
    expires_at=timezone.now() + timedelta(seconds=2),
    actor=Actor("subject", subject.pseudonym),
    collection_method=Consent.CollectionMethod.PORTAL,
)
print(json.dumps({"id": str(consent.id), "expires": consent.expires_at.timestamp()}))
"""

# The assert keeps a task bound to the wrong Celery app (its default is
# amqp://localhost) from ever reaching some broker on this machine.
SEND_EXPIRY_TASK = """
from consents.tasks import expire_due_consents_task as task
assert task.app.conf.broker_url == "filesystem://", task.app.conf.broker_url
task.delay()
"""


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["DJANGO_SETTINGS_MODULE"] = "settings.dev"
    env["CMP_VAR_DIR"] = str(var_dir)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )


def _manage(env: dict[str, str], *args: str) -> str:
    """Run manage.py, require exit status 0, return its stdout."""
    result = _run(env, *args)
    assert result.returncode == 0, (
        f"manage.py {' '.join(args[:2])} exited {result.returncode}\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def _shell(env: dict[str, str], code: str) -> str:
    return _manage(env, "shell", "--verbosity", "0", "--command", code)


def _migrated_and_seeded(var_dir: Path) -> dict[str, str]:
    env = _embedded_env(var_dir)
    _manage(env, "migrate", "--no-input")
    seeded = json.loads(_manage(env, "seed_demo"))
    assert seeded["consents_created"] == 6
    return env


def _count_events(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT COUNT(*) FROM audit_auditevent").fetchone()[0]


def test_embedded_default_migrates_seeds_verifies_and_guards_the_audit_table(
    tmp_path,
):
    env = _migrated_and_seeded(tmp_path)
    assert "intact" in _manage(env, "verify_audit")

    database = tmp_path / "cmp.sqlite3"
    assert database.is_file()
    events = _count_events(database)
    assert events > 0

    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        for sql in (
            "UPDATE audit_auditevent SET action = 'x'",
            "DELETE FROM audit_auditevent",
        ):
            with pytest.raises(
                (sqlite3.IntegrityError, sqlite3.DatabaseError), match="append-only"
            ):
                connection.execute(sql)

    assert _count_events(database) == events
    assert "intact" in _manage(env, "verify_audit")


def _expiry_state(database: Path, consent_id: uuid.UUID) -> tuple[str, int]:
    """The consent's status and how many consent.expired events name it."""
    with closing(sqlite3.connect(database)) as connection:
        (status,) = connection.execute(
            "SELECT status FROM consents_consent WHERE id = ?", [consent_id.hex]
        ).fetchone()
        (events,) = connection.execute(
            "SELECT COUNT(*) FROM audit_auditevent"
            " WHERE action = 'consent.expired' AND consent_id = ?",
            [consent_id.hex],
        ).fetchone()
    return status, events


def test_celery_worker_expires_a_due_consent_on_the_embedded_broker(tmp_path):
    env = _migrated_and_seeded(tmp_path)
    database = tmp_path / "cmp.sqlite3"
    log_path = tmp_path / "worker.log"

    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                *("-m", "celery", "-A", "config", "worker", "--loglevel=INFO"),
                *("--pool=solo", "--without-gossip", "--without-mingle"),
                *("--without-heartbeat", "-Q", "celery"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            granted = json.loads(_shell(env, GRANT_EXPIRING_CONSENT).splitlines()[-1])
            consent_id = uuid.UUID(granted["id"])
            assert _expiry_state(database, consent_id) == ("active", 0)

            time.sleep(min(10.0, max(0.0, granted["expires"] - time.time()) + 0.5))
            _shell(env, SEND_EXPIRY_TASK)

            state = None
            deadline = time.monotonic() + EXPIRY_TIMEOUT
            for _ in range(int(EXPIRY_TIMEOUT / POLL_STEP)):
                assert worker.poll() is None, log_path.read_text()
                state = _expiry_state(database, consent_id)
                if state == ("expired", 1) or time.monotonic() > deadline:
                    break
                time.sleep(POLL_STEP)
            assert state == ("expired", 1), log_path.read_text()
        finally:
            stop_process(worker)

    assert "intact" in _manage(env, "verify_audit")


def test_tasks_can_be_queued_on_a_fresh_var_dir(tmp_path):
    env = _embedded_env(tmp_path)
    result = _run(env, "shell", "--verbosity", "0", "--command", SEND_EXPIRY_TASK)
    assert result.returncode == 0, result.stderr

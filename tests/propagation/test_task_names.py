"""The relay and the outbox queue tasks by name; every Django process knows them."""

import subprocess
import sys

from consents import tasks
from consents.webhooks import relay

CODE = """
import django
django.setup()
from celery import current_app
from consents.webhooks.relay import DELIVER_TASK, RELAY_TASK
print(current_app.tasks[DELIVER_TASK].name, current_app.tasks[RELAY_TASK].name)
"""


def test_the_names_are_the_tasks_names():
    assert tasks.deliver_webhook_task.name == relay.DELIVER_TASK
    assert tasks.relay_deliveries_task.name == relay.RELAY_TASK


def test_a_process_that_never_imported_the_tasks_finds_them_by_name():
    result = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [relay.DELIVER_TASK, relay.RELAY_TASK]

"""Long commands show progress on a terminal and stay quiet in scripts; a
refused command says why in one sentence, never a dictionary."""

import os
import pty
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from consents import services
from tests.conftest import requires_postgres
from tests.factories import TESTER
from tests.workers import ROOT, worker_env


def test_verify_is_quiet_when_not_on_a_terminal(db):
    services.register_organization(code="moneylog", name="m", actor=TESTER)
    out, err = StringIO(), StringIO()
    call_command("verify_audit", stdout=out, stderr=err)
    assert "audit chain intact" in out.getvalue()
    assert err.getvalue() == ""


@requires_postgres
def test_verify_shows_progress_on_a_terminal(committed_db):
    for n in range(3):
        services.register_organization(code=f"org-{n}", name="o", actor=TESTER)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=worker_env("memory://"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    stdout, _ = process.communicate(timeout=120)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.returncode == 0
    assert b"audit chain intact" in stdout
    assert b"verifying" in shown and b"100%" in shown


def test_refusals_are_one_sentence(db, tmp_path):
    services.register_organization(code="moneylog", name="m", actor=TESTER)
    with pytest.raises(CommandError) as taken:
        call_command("create_organization", "--code", "moneylog", "--name", "x")
    assert str(taken.value) == (
        "Invalid organization (code: Organization with this Code already exists)."
    )
    with pytest.raises(CommandError) as bad_date:
        call_command("export_audit", "-o", str(tmp_path / "x"), "--since", "soon")
    message = str(bad_date.value)
    assert message.startswith("Nothing exported: --since:")
    assert "{" not in message and "[" not in message
    with pytest.raises(CommandError, match=r"^There is no user called nobody\.$"):
        call_command("create_officer_client", "--username", "nobody")

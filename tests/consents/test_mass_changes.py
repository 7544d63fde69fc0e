"""Changing many consents at once: each consent still moves with its own audit
event and notices, in the transaction that moves it; a job that stops anywhere
goes on without losing or doubling a change; the person's own choices stand."""

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent
from audit.verification import verify_chain
from consents import services
from consents.errors import ValidationError
from consents.models import Consent, MassChange
from consents.services import mass
from consents.webhooks.models import Delivery
from tests.conftest import requires_postgres, run_in_threads
from tests.factories import TESTER, make_consent, make_subject
from tests.processes import wait_until
from tests.propagation.conftest import subscribe
from tests.workers import ROOT, worker_env

Status = Consent.Status


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def _grant_many(count, recipient, *, holders=(), days=30, **terms):
    return [
        make_consent(
            subject=make_subject(),
            recipient=recipient,
            holders=list(holders),
            days=days,
            **terms,
        )
        for _ in range(count)
    ]


def _statuses(consents) -> list[str]:
    return [Consent.objects.get(pk=c.pk).status for c in consents]


def test_expiry_in_batches_writes_what_one_at_a_time_would(
    catalog, recipient, bank, subject
):
    subscribe(recipient, "https://recipient.example/hooks")
    subscribe(bank, "https://bank.example/hooks")
    due = _grant_many(23, recipient, holders=[bank], days=1)
    later = _grant_many(2, recipient, holders=[bank], days=60)

    expired = services.expire_due_consents(
        now=timezone.now() + timedelta(days=2), batch_size=5
    )

    assert expired == 23
    assert _statuses(due) == [Status.EXPIRED] * 23
    assert _statuses(later) == [Status.ACTIVE] * 2
    events = _events("consent.expired")
    assert sorted(e.consent_id for e in events) == sorted(c.pk for c in due)
    assert {(e.actor, e.recipient, e.purpose) for e in events} == {
        ("system:cmp", "moneylog", "spending-analysis")
    }
    assert all(
        e.payload == {"from": "active", "to": "expired", "reason": "expires_at passed"}
        for e in events
    )
    by_consent = {e.consent_id: e.subject for e in events}
    assert by_consent == {c.pk: c.subject.pseudonym for c in due}
    notices = Delivery.objects.filter(event_type="consent.expired")
    assert notices.count() == 46  # the recipient and the holder, for each
    assert set(notices.values_list("organization__code", flat=True)) == {
        "moneylog",
        "hanbit-bank",
    }
    assert verify_chain().ok


def test_a_batch_notice_is_the_notice_one_at_a_time_writes(catalog, recipient, bank):
    subscribe(bank, "https://bank.example/hooks")
    one, many = _grant_many(2, recipient, holders=[bank], days=1)
    moment = timezone.now() + timedelta(days=2)
    services.revoke_consent(consent_id=one.pk, actor=TESTER, reason="r")
    mass.change_batch(
        mass.Selection(Q(pk=many.pk), Status.REVOKED, "r"),
        actor=TESTER,
        now=moment,
    )
    alone, batched = (
        Delivery.objects.get(consent=c, event_type="consent.revoked")
        for c in (one, many)
    )

    def shape(delivery: Delivery) -> dict:
        data = json.loads(delivery.body)["data"]
        varying = ("consent_id", "subject_ref", "changed_at", "starts_at", "expires_at")
        return {k: v for k, v in data.items() if k not in varying}

    assert shape(alone) == shape(batched)
    assert set(json.loads(alone.body)["data"]) == set(json.loads(batched.body)["data"])
    assert json.loads(batched.body)["data"]["subject_ref"] == (
        f"hanbit-bank:{many.subject.pseudonym}"
    )


def test_revoking_everything_for_a_recipient_leaves_others_alone(
    catalog, recipient, bank, outsider
):
    theirs = _grant_many(12, recipient, holders=[bank])
    paused = theirs[0]
    services.pause_consent(consent_id=paused.pk, actor=TESTER)
    others = _grant_many(3, outsider)

    job = services.revoke_all_recipient_consents(
        code="moneylog", actor=TESTER, reason="left the platform"
    )
    assert (job.total, job.changed, job.status) == (12, 0, "running")
    job = services.run_mass_change(job.pk, batch_size=5)

    assert (job.total, job.changed, job.status) == (12, 12, "finished")
    assert _statuses(theirs) == [Status.REVOKED] * 12
    assert _statuses(others) == [Status.ACTIVE] * 3
    revoked = _events("consent.revoked")
    assert len(revoked) == 12
    assert revoked[0].payload["reason"] == "left the platform"
    assert {e.payload["from"] for e in revoked} == {"active", "paused"}
    started, finished = _events("mass_change.started"), _events("mass_change.finished")
    assert started[0].payload["total"] == 12 and finished[0].payload["changed"] == 12
    assert started[0].sequence < revoked[0].sequence < finished[0].sequence
    # Running it again finds it finished and changes nothing.
    assert services.run_mass_change(job.pk).changed == 12
    assert len(_events("consent.revoked")) == 12


def test_suspension_pauses_and_reactivation_resumes_only_its_own_pauses(
    catalog, recipient, bank
):
    subscribe(bank, "https://bank.example/hooks")
    consents = _grant_many(5, recipient, holders=[bank], days=30)
    consents.insert(1, *_grant_many(1, recipient, holders=[bank], days=1))
    chosen = consents[0]  # the person paused this one themselves
    services.pause_consent(consent_id=chosen.pk, actor=TESTER, reason="mine")

    services.set_organization_status(
        code="moneylog", status="suspended", actor=TESTER, reason="inspection"
    )
    pause = MassChange.objects.get(kind="pause_recipient")
    services.run_mass_change(pause.pk)
    assert _statuses(consents) == [Status.PAUSED] * 6
    assert Delivery.objects.filter(event_type="consent.paused").count() == 6
    # While suspended, a consent runs out; it must not come back.
    ran_out = consents[1]
    assert services.expire_due_consents(now=ran_out.expires_at) == 1
    assert Consent.objects.get(pk=ran_out.pk).status == Status.EXPIRED

    services.set_organization_status(code="moneylog", status="active", actor=TESTER)
    resume = MassChange.objects.get(kind="resume_recipient")
    assert resume.total == 4
    services.run_mass_change(resume.pk)

    statuses = _statuses(consents)
    assert statuses[0] == Status.PAUSED  # the person's own pause stands
    assert statuses[2:] == [Status.ACTIVE] * 4
    assert Delivery.objects.filter(event_type="consent.resumed").count() == 4
    assert verify_chain().ok


def test_reactivation_cancels_a_suspension_still_pausing(catalog, recipient):
    consents = _grant_many(5, recipient)
    services.set_organization_status(code="moneylog", status="suspended", actor=TESTER)
    pause = MassChange.objects.get(kind="pause_recipient")
    mass.run_in_batches(
        lambda now: mass._job_selection(pause, now),
        actor=TESTER,
        batch_size=2,
        job_id=pause.pk,
        max_seconds=0.0001,
    )
    services.set_organization_status(code="moneylog", status="active", actor=TESTER)
    pause.refresh_from_db()
    assert pause.status == "cancelled"
    services.run_mass_change(MassChange.objects.get(kind="resume_recipient").pk)
    services.run_mass_change(pause.pk)  # a late runner of the cancelled job
    assert _statuses(consents) == [Status.ACTIVE] * 5


def test_retiring_a_purpose_lapses_its_consents_and_refuses_new_ones(
    catalog, recipient
):
    lapsing = _grant_many(4, recipient)
    other = _grant_many(1, recipient, purpose="credit-scoring", scopes=["card.bills"])

    job = services.retire_purpose(code="spending-analysis", actor=TESTER, reason="gone")
    services.run_mass_change(job.pk)

    assert _statuses(lapsing) == [Status.EXPIRED] * 4
    assert _statuses(other) == [Status.ACTIVE]
    assert {e.payload["reason"] for e in _events("consent.expired")} == {"gone"}
    with pytest.raises(ValidationError) as refused:
        make_consent(subject=make_subject(), recipient=recipient)
    assert refused.value.fields == {"purpose": ["retired"]}
    with pytest.raises(ValidationError):
        services.retire_purpose(code="spending-analysis", actor=TESTER)


def test_a_batch_that_fails_leaves_nothing_half_done_and_the_job_goes_on(
    catalog, recipient, bank, monkeypatch
):
    subscribe(recipient, "https://recipient.example/hooks")
    consents = _grant_many(10, recipient, holders=[bank])
    job = services.revoke_all_recipient_consents(code="moneylog", actor=TESTER)
    real = mass.queue_notices_of_consents
    calls = []

    def fail_on_the_third_batch(batch, **kwargs):
        calls.append(len(batch))
        if len(calls) == 3:
            raise ConnectionError("the database went away mid-batch")
        return real(batch, **kwargs)

    monkeypatch.setattr(mass, "queue_notices_of_consents", fail_on_the_third_batch)
    with pytest.raises(ConnectionError):
        services.run_mass_change(job.pk, batch_size=3)
    job.refresh_from_db()
    moved = [s for s in _statuses(consents) if s == Status.REVOKED]
    assert job.changed == len(moved) == 6
    assert len(_events("consent.revoked")) == 6
    assert Delivery.objects.filter(event_type="consent.revoked").count() == 6

    monkeypatch.setattr(mass, "queue_notices_of_consents", real)
    job = services.run_mass_change(job.pk, batch_size=3)
    assert (job.changed, job.status) == (10, "finished")
    assert len({e.consent_id for e in _events("consent.revoked")}) == 10
    assert len(_events("consent.revoked")) == 10
    assert Delivery.objects.filter(event_type="consent.revoked").count() == 10
    assert verify_chain().ok


def test_the_command_runs_and_resumes_jobs(catalog, recipient, capsys):
    consents = _grant_many(4, recipient)
    call_command("mass_change", "--quiet", "--batch-size", "3", "suspend", "moneylog")
    assert _statuses(consents) == [Status.PAUSED] * 4
    call_command("mass_change", "list")
    assert "pause_recipient moneylog 4/4 finished" in capsys.readouterr().out
    call_command("mass_change", "--quiet", "resume")
    call_command("mass_change", "--quiet", "reactivate", "moneylog")
    assert _statuses(consents) == [Status.ACTIVE] * 4
    call_command(
        "mass_change", "--quiet", "--reason", "test", "revoke-recipient", "moneylog"
    )
    assert _statuses(consents) == [Status.REVOKED] * 4


@requires_postgres
def test_two_runners_share_a_job_and_never_change_a_consent_twice(
    committed_catalog, recipient, bank
):
    subscribe(bank, "https://bank.example/hooks")
    consents = _grant_many(60, recipient, holders=[bank])
    job = services.revoke_all_recipient_consents(code="moneylog", actor=TESTER)

    run_in_threads(lambda: services.run_mass_change(job.pk, batch_size=7), count=3)

    job.refresh_from_db()
    assert (job.changed, job.status) == (60, "finished")
    assert _statuses(consents) == [Status.REVOKED] * 60
    revoked = _events("consent.revoked")
    assert sorted(e.consent_id for e in revoked) == sorted(c.pk for c in consents)
    assert Delivery.objects.filter(event_type="consent.revoked").count() == 60
    assert len(_events("mass_change.finished")) == 1
    assert verify_chain().ok


@requires_postgres
def test_a_runner_killed_mid_job_loses_and_doubles_nothing(
    committed_catalog, recipient
):
    """SIGKILL the command mid-way: the batch it was in rolls back whole, the
    count matches what changed, and running the job again finishes it."""
    subscribe(recipient, "https://recipient.example/hooks")
    consents = _grant_many(300, recipient)
    job = services.revoke_all_recipient_consents(code="moneylog", actor=TESTER)
    command = [sys.executable, "manage.py", "mass_change", "--quiet"]
    runner = subprocess.Popen(
        [*command, "--batch-size", "5", "run", str(job.pk)],
        cwd=ROOT,
        env=worker_env("memory://"),
        stdout=subprocess.DEVNULL,
    )
    try:
        assert wait_until(
            lambda: MassChange.objects.get(pk=job.pk).changed >= 20,
            timeout=60,
            interval=0.02,
        )
    finally:
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)

    job.refresh_from_db()
    revoked = Consent.objects.filter(recipient=recipient, status=Status.REVOKED)
    assert 20 <= job.changed < 300, "the kill should land mid-job"
    assert revoked.count() == job.changed
    assert len(_events("consent.revoked")) == job.changed
    assert Delivery.objects.filter(event_type="consent.revoked").count() == job.changed

    job = services.run_mass_change(job.pk)
    assert (job.changed, job.status) == (300, "finished")
    assert _statuses(consents) == [Status.REVOKED] * 300
    assert len(_events("consent.revoked")) == 300
    assert Delivery.objects.filter(event_type="consent.revoked").count() == 300
    assert verify_chain().ok

"""Erasing a person keeps every event about them verifiable, checkpoints and all."""

import pytest

from audit.actors import Actor
from audit.checkpoints import create_checkpoint
from audit.export import start_export, stream_export
from audit.models import AuditEvent
from audit.selectors import EventFilters
from audit.services import seal_pending_events
from audit.signing import jwks
from audit.verification import verify_chain
from audit.verify_export import verify_export
from consents import pii, selectors, services
from consents.models import DataSubject
from tests.factories import TESTER, make_check, make_consent, make_subject


def test_an_erased_subjects_events_stay_verifiable_but_their_data_is_gone(
    catalog, recipient, tmp_path
):
    person = make_subject(name="지울사람")
    make_consent(subject=person, recipient=recipient)
    make_check(recipient, person)
    seal_pending_events()
    before = create_checkpoint()
    services.erase_subject(subject_id=person.id, actor=TESTER, reason="request")
    after = create_checkpoint()

    about = AuditEvent.objects.filter(subject=person.pseudonym).order_by("sequence")
    assert [e.action for e in about][-2:] == ["consent.revoked", "subject.erased"]
    assert {"subject.registered", "consent.granted", "consent.checked"} <= {
        e.action for e in about
    }
    result = verify_chain()
    assert result.ok, result.problem
    assert (result.checkpoints_checked, result.covered_sequence) == (2, after.size)
    assert before.size < after.size

    with pytest.raises(pii.KeyErasedError):
        selectors.subject_personal_data(DataSubject.objects.get(pk=person.pk))

    export = start_export(
        filters=EventFilters(subject=person.pseudonym),
        fmt="jsonl",
        actor=Actor("staff", "officer"),
    )
    file = tmp_path / "person.jsonl"
    file.write_bytes(b"".join(stream_export(export)))
    assert b"\xec\xa7\x80\xec\x9a\xb8" not in file.read_bytes()  # no "지울" anywhere
    report = verify_export(file, export.manifest, jwks())
    assert report.ok, report.lines
    assert export.manifest["count"] == about.count()

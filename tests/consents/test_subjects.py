"""Personal data is sealed per subject; erasing the key makes it unreadable."""

import pytest

from audit.models import AuditEvent
from audit.verification import verify_chain
from consents import pii, selectors, services
from consents.errors import SubjectErasedError, ValidationError
from consents.models import Consent, DataSubject
from tests.factories import TESTER, make_consent, make_subject, ref

pytestmark = pytest.mark.usefixtures("catalog")


def test_personal_fields_are_encrypted_at_rest(db):
    person = services.register_subject(
        identifier="Minji.Kim@Example.kr",
        name="김민지",
        contact="010-1234-5678",
        actor=TESTER,
    )
    stored = DataSubject.objects.get(pk=person.pk)
    raw = b"".join(
        bytes(value)
        for value in (stored.identifier_enc, stored.name_enc, stored.contact_enc)
    )
    for plain in ("minji.kim@example.kr", "김민지", "010-1234-5678"):
        assert plain.encode() not in raw
    assert "minji" not in stored.identifier_hash
    data = selectors.subject_personal_data(stored)
    assert (data.identifier, data.name, data.contact) == (
        "minji.kim@example.kr",
        "김민지",
        "010-1234-5678",
    )


def test_lookup_by_identifier_ignores_case_and_spacing(db):
    person = services.register_subject(identifier="minji@example.kr", actor=TESTER)
    assert selectors.subject_by_identifier("  MINJI@example.KR ") == person
    phone = services.register_subject(identifier="+82 10-1234-5678", actor=TESTER)
    assert selectors.subject_by_identifier("+8210 1234 5678") == phone


def test_one_identifier_registers_once(db):
    services.register_subject(identifier="a@example.kr", actor=TESTER)
    with pytest.raises(ValidationError):
        services.register_subject(identifier="A@example.kr", actor=TESTER)


def test_ciphertext_of_one_subject_does_not_open_under_another_key(db):
    first, second = make_subject(name="하나"), make_subject(name="둘")
    key_of_second = pii.unwrap_data_key(
        second.id, pii.WrappedKey(second.data_key_id, bytes(second.wrapped_key))
    )
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        pii.unseal(key_of_second, first.id, "name", bytes(first.name_enc))


def test_rotated_key_encryption_key_still_opens_old_subjects(db, settings):
    old = make_subject(name="예전")
    settings.CMP_DATA_KEYS = [
        "next:" + "bmV4dC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
        *settings.CMP_DATA_KEYS,
    ]
    new = make_subject(name="새로")
    assert new.data_key_id == "next"
    assert old.data_key_id != "next"
    assert selectors.subject_personal_data(old).name == "예전"
    assert selectors.subject_personal_data(new).name == "새로"


def test_erasure_makes_personal_data_unreadable_and_keeps_the_chain(recipient):
    person = make_subject(name="지울사람")
    consent = make_consent(subject=person, recipient=recipient)
    reference = ref(recipient, person)
    services.erase_subject(subject_id=person.id, actor=TESTER, reason="request")

    stored = DataSubject.objects.get(pk=person.pk)
    assert stored.is_erased and stored.wrapped_key is None
    assert stored.name_enc is not None  # ciphertext stays, but nothing opens it
    with pytest.raises(pii.KeyErasedError):
        selectors.subject_personal_data(stored)
    assert selectors.subject_by_identifier("anything") is None
    assert Consent.objects.get(pk=consent.pk).status == "revoked"
    decision = services.check_consent(
        caller=recipient,
        subject_ref=reference,
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
    )
    assert decision.reason == "revoked"
    assert AuditEvent.objects.filter(
        action="subject.erased", subject=person.pseudonym
    ).exists()
    assert verify_chain().ok
    with pytest.raises(SubjectErasedError):
        services.erase_subject(subject_id=person.id, actor=TESTER)
    with pytest.raises(ValidationError):
        make_consent(subject=stored, recipient=recipient)

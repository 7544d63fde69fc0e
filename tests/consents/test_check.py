"""check_consent: the rule in DESIGN.md, one reason code at a time."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import seal_pending_events
from consents import services
from consents.decisions import Reason
from consents.errors import ValidationError
from tests.factories import TESTER, OrganizationFactory, make_consent, make_subject, ref

pytestmark = pytest.mark.usefixtures("catalog")


def check(
    caller, reference, scopes=("bank.deposit",), purpose="spending-analysis", **kw
):
    return services.check_consent(
        caller=caller,
        subject_ref=reference,
        purpose_code=purpose,
        scope_codes=list(scopes),
        **kw,
    )


def test_recipient_is_allowed_under_an_active_consent(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    decision = check(recipient, ref(recipient, subject))
    assert decision.allowed
    assert decision.reason is None
    assert decision.consent_id == consent.id
    assert decision.expires_at == consent.expires_at
    assert decision.missing_scopes == []
    assert seal_pending_events() == 1
    event = AuditEvent.objects.get(event_id=decision.decision_id)
    assert event.action == "consent.checked"
    assert event.payload["allowed"] is True


def test_no_consent_for_the_purpose(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    decision = check(recipient, ref(recipient, subject), purpose="credit-scoring")
    assert (decision.allowed, decision.reason) == (False, Reason.NO_CONSENT)


def test_unknown_purpose(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    decision = check(recipient, ref(recipient, subject), purpose="no.such-purpose")
    assert decision.reason == Reason.UNKNOWN_PURPOSE


def test_unknown_subject_reference(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    assert check(recipient, "nobody-by-this-name").reason == Reason.UNKNOWN_SUBJECT


def test_organization_cannot_resolve_another_organizations_reference(
    subject, recipient, outsider
):
    make_consent(subject=subject, recipient=recipient)
    other_ref = ref(recipient, subject)
    decision = check(outsider, other_ref)
    assert decision.reason == Reason.UNKNOWN_SUBJECT
    assert decision.consent_id is None


def test_outsider_with_its_own_reference_has_no_consent(subject, recipient, outsider):
    make_consent(subject=subject, recipient=recipient)
    services.link_subject_reference(
        organization=outsider, subject=subject, reference="out-1", actor=TESTER
    )
    decision = check(outsider, "out-1")
    assert decision.reason == Reason.NO_CONSENT
    assert decision.consent_id is None


def test_paused_consent_denies_and_allows_again_after_resume(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    services.pause_consent(consent_id=consent.id, actor=TESTER)
    assert check(recipient, ref(recipient, subject)).reason == Reason.PAUSED
    services.resume_consent(consent_id=consent.id, actor=TESTER)
    assert check(recipient, ref(recipient, subject)).allowed


def test_revoked_consent_denies(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    services.revoke_consent(consent_id=consent.id, actor=TESTER)
    decision = check(recipient, ref(recipient, subject))
    assert (decision.allowed, decision.reason) == (False, Reason.REVOKED)
    assert decision.consent_id == consent.id


def test_expiry_boundary_is_exclusive(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    reference = ref(recipient, subject)
    just_before = consent.expires_at - timedelta(microseconds=1)
    assert check(recipient, reference, now=just_before).allowed
    assert check(recipient, reference, now=consent.expires_at).reason == Reason.EXPIRED


def test_expired_consent_denies_before_the_expiry_job_runs(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient, days=1)
    later = timezone.now() + timedelta(days=2)
    assert check(recipient, ref(recipient, subject), now=later).reason == Reason.EXPIRED
    services.expire_due_consents(now=later)
    assert check(recipient, ref(recipient, subject)).reason == Reason.EXPIRED
    assert consent.id == check(recipient, ref(recipient, subject)).consent_id


def test_start_boundary_is_inclusive(subject, recipient):
    starts = timezone.now() + timedelta(days=1)
    make_consent(
        subject=subject,
        recipient=recipient,
        starts_at=starts,
        expires_at=starts + timedelta(days=10),
    )
    reference = ref(recipient, subject)
    before = starts - timedelta(microseconds=1)
    assert check(recipient, reference, now=before).reason == Reason.NOT_STARTED
    assert check(recipient, reference, now=starts).allowed


def test_grant_covers_descendants_but_not_ancestors(subject, recipient):
    make_consent(subject=subject, recipient=recipient, scopes=["bank.deposit"])
    reference = ref(recipient, subject)
    assert check(recipient, reference, scopes=["bank.deposit.transactions"]).allowed
    decision = check(recipient, reference, scopes=["bank", "bank.deposit.basic"])
    assert decision.reason == Reason.SCOPE_NOT_GRANTED
    assert decision.missing_scopes == ["bank"]


def test_sibling_scope_with_common_prefix_is_not_covered(subject, recipient):
    make_consent(subject=subject, recipient=recipient, scopes=["card.bills"])
    decision = check(recipient, ref(recipient, subject), scopes=["card.approvals"])
    assert decision.missing_scopes == ["card.approvals"]


def test_sensitive_scope_needs_its_own_grant(subject, recipient):
    make_consent(
        subject=subject,
        recipient=recipient,
        purpose="insurance-comparison",
        scopes=["insurance"],
    )
    reference = ref(recipient, subject)
    decision = check(
        recipient,
        reference,
        purpose="insurance-comparison",
        scopes=["insurance.contracts", "insurance.health"],
    )
    assert decision.missing_scopes == ["insurance.health"]
    make_consent(
        subject=subject,
        recipient=recipient,
        purpose="insurance-comparison",
        scopes=["insurance", "insurance.health"],
    )
    assert check(
        recipient,
        reference,
        purpose="insurance-comparison",
        scopes=["insurance.contracts", "insurance.health"],
    ).allowed


def test_unknown_scope_is_a_bad_request(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    with pytest.raises(ValidationError) as error:
        check(recipient, ref(recipient, subject), scopes=["bank.nope"])
    assert "scopes" in error.value.fields


def test_suspended_caller_is_denied(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    services.set_organization_status(
        code=recipient.code, status="suspended", actor=TESTER
    )
    recipient.refresh_from_db()
    decision = check(recipient, ref(recipient, subject))
    assert decision.reason == Reason.ORGANIZATION_SUSPENDED


def test_suspended_counterparty_is_denied(subject, recipient, bank):
    make_consent(subject=subject, recipient=recipient, holders=[bank])
    services.set_organization_status(
        code=recipient.code, status="suspended", actor=TESTER
    )
    decision = check(bank, ref(bank, subject), counterparty=recipient.code)
    assert decision.reason == Reason.ORGANIZATION_SUSPENDED


def test_named_holder_may_send_to_the_recipient(subject, recipient, bank):
    consent = make_consent(subject=subject, recipient=recipient, holders=[bank])
    decision = check(bank, ref(bank, subject), counterparty=recipient.code)
    assert decision.allowed
    assert decision.consent_id == consent.id
    assert (decision.recipient, decision.holder) == (recipient.code, bank.code)


def test_holder_asking_about_another_recipient_has_no_consent(subject, recipient, bank):
    make_consent(subject=subject, recipient=recipient, holders=[bank])
    shop = OrganizationFactory(code="hanul-shop")
    decision = check(bank, ref(bank, subject), counterparty=shop.code)
    assert decision.reason == Reason.NO_CONSENT


def test_holder_must_name_the_recipient(subject, recipient, bank):
    make_consent(subject=subject, recipient=recipient, holders=[bank])
    assert check(bank, ref(bank, subject)).reason == Reason.NO_CONSENT


def test_holder_not_named_in_the_consent_is_denied(subject, recipient, bank, card):
    make_consent(subject=subject, recipient=recipient, holders=[bank])
    services.link_subject_reference(
        organization=card, subject=subject, reference="card-1", actor=TESTER
    )
    # The holder itself asking: it has no role in the consent.
    assert (
        check(card, "card-1", counterparty=recipient.code).reason == Reason.NO_CONSENT
    )
    # The recipient asking whether it may receive from that holder.
    decision = check(recipient, ref(recipient, subject), counterparty=card.code)
    assert decision.reason == Reason.HOLDER_NOT_ALLOWED


def test_consent_without_holders_allows_any_holder_for_the_recipient(
    subject, recipient, card
):
    make_consent(subject=subject, recipient=recipient)
    assert check(recipient, ref(recipient, subject), counterparty=card.code).allowed


def test_data_window_is_enforced(subject, recipient):
    make_consent(
        subject=subject,
        recipient=recipient,
        data_from=date(2025, 1, 1),
        data_to=date(2025, 12, 31),
    )
    reference = ref(recipient, subject)
    inside = check(
        recipient, reference, data_from=date(2025, 3, 1), data_to=date(2025, 4, 1)
    )
    assert inside.allowed
    outside = check(recipient, reference, data_from=date(2024, 12, 1))
    assert outside.reason == Reason.OUTSIDE_DATA_WINDOW
    after = check(recipient, reference, data_to=date(2026, 1, 31))
    assert after.reason == Reason.OUTSIDE_DATA_WINDOW


def test_frequency_limit_denies_once_used_up(subject, recipient, bank):
    make_consent(
        subject=subject, recipient=recipient, holders=[bank], max_uses_per_day=2
    )
    for _ in range(2):
        decision = check(bank, ref(bank, subject), counterparty=recipient.code)
        assert decision.allowed
        services.record_transfer(
            reporter=bank,
            decision_id=decision.decision_id,
            scope_codes=["bank.deposit"],
            record_count=10,
            direction="sent",
        )
    decision = check(bank, ref(bank, subject), counterparty=recipient.code)
    assert decision.reason == Reason.FREQUENCY_EXCEEDED


def test_denial_names_the_consent_that_came_closest(subject, recipient):
    old = make_consent(subject=subject, recipient=recipient, scopes=["card.bills"])
    services.revoke_consent(consent_id=old.id, actor=TESTER)
    newer = make_consent(subject=subject, recipient=recipient, scopes=["bank.deposit"])
    services.pause_consent(consent_id=newer.id, actor=TESTER)
    decision = check(recipient, ref(recipient, subject))
    assert (decision.reason, decision.consent_id) == (Reason.PAUSED, newer.id)


def test_every_check_is_audited_allowed_or_not(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    before = AuditEvent.objects.count()
    check(recipient, ref(recipient, subject))
    check(recipient, "unknown")
    check(recipient, ref(recipient, subject), purpose="credit-scoring")
    assert seal_pending_events() == 3
    events = AuditEvent.objects.filter(sequence__gt=before).order_by("sequence")
    assert [e.payload["allowed"] for e in events] == [True, False, False]
    assert [e.payload["reason"] for e in events] == [
        None,
        "unknown_subject",
        "no_consent",
    ]
    assert events[1].subject == ""  # an unresolved reference names nobody


def test_check_payload_holds_no_personal_data(recipient):
    person = make_subject(name="김비밀")
    make_consent(subject=person, recipient=recipient)
    decision = check(recipient, ref(recipient, person))
    seal_pending_events()
    event = AuditEvent.objects.get(event_id=decision.decision_id)
    assert "김비밀" not in str(event.payload)
    assert event.subject == person.pseudonym


def test_the_same_check_by_a_subject_actor_kind_is_recorded(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    services.revoke_consent(
        consent_id=consent.id, actor=Actor("subject", subject.pseudonym), reason="done"
    )
    event = AuditEvent.objects.filter(action="consent.revoked").get()
    assert event.actor == f"subject:{subject.pseudonym}"
    assert event.payload == {"from": "active", "to": "revoked", "reason": "done"}


def test_a_scope_added_after_the_snapshot_is_known_at_once(subject, recipient):
    from consents.models import Scope

    make_consent(subject=subject, recipient=recipient, scopes=["bank.deposit"])
    assert check(recipient, ref(recipient, subject)).allowed  # snapshot loaded
    Scope.objects.bulk_create(
        [Scope(code="bank.deposit.fx", name_ko="외화", name_en="FX")]
    )
    decision = check(recipient, ref(recipient, subject), scopes=["bank.deposit.fx"])
    assert decision.allowed


def test_marking_a_scope_sensitive_applies_to_the_next_check(
    subject, recipient, catalog
):
    import copy

    make_consent(subject=subject, recipient=recipient, scopes=["card"])
    reference = ref(recipient, subject)
    assert check(recipient, reference, scopes=["card.points"]).allowed
    changed = copy.deepcopy(catalog)
    for scope in changed["scopes"]:
        if scope["code"] == "card.points":
            scope["sensitive"] = True
    services.load_catalog(catalog=changed, actor=TESTER)
    decision = check(recipient, reference, scopes=["card.points"])
    assert decision.missing_scopes == ["card.points"]

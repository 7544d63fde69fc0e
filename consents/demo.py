"""Demo data for `make run`: people with portal logins, organizations, consents.

Idempotent: running it again creates only what is missing.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actors import Actor
from audit.staff import enrol_staff_otp
from consents import selectors, services
from consents.models import Consent, DataSubject, Organization, SubjectReference

DEMO_PASSWORD = "consent-demo-2026"
# The demo officer's TOTP secret (hex), for an authenticator app; demo only.
DEMO_OTP_KEY = "3132333435363738393031323334353637383930"
STAFF = Actor("staff", "seed_demo")

ORGANIZATIONS = [
    ("moneylog", "머니로그 (MyData app)"),
    ("hanul-shop", "하늘쇼핑 (online shop)"),
    ("hanbit-bank", "한빛은행 (bank)"),
    ("byeol-card", "별카드 (card company)"),
    ("dasom-insurance", "다솜생명 (insurer)"),
]

PEOPLE = [
    ("minji", "minji@example.kr", "김민지", "010-1234-5678"),
    ("jihoon", "jihoon@example.kr", "이지훈", "010-2345-6789"),
    ("sora", "sora@example.kr", "박소라", "010-3456-7890"),
]

CONSENTS = [
    # person, recipient, purpose, scopes, holders, days, then revoked?
    (
        "minji",
        "moneylog",
        "spending-analysis",
        ["bank.deposit", "card.approvals", "card.bills"],
        ["hanbit-bank", "byeol-card"],
        365,
        False,
    ),
    (
        "minji",
        "hanul-shop",
        "marketing.personalised-offers",
        ["card.approvals"],
        ["byeol-card"],
        20,
        False,
    ),
    (
        "minji",
        "dasom-insurance",
        "insurance-comparison",
        ["insurance.contracts", "insurance.health"],
        [],
        180,
        False,
    ),
    (
        "jihoon",
        "moneylog",
        "spending-analysis",
        ["bank.deposit.transactions"],
        ["hanbit-bank"],
        365,
        True,
    ),
    (
        "jihoon",
        "moneylog",
        "credit-scoring",
        ["bank.loan", "credit.score"],
        ["hanbit-bank"],
        90,
        False,
    ),
    (
        "sora",
        "moneylog",
        "order-history-import",
        ["commerce.orders", "commerce.payments"],
        ["hanul-shop"],
        365,
        False,
    ),
]

# Checks and transfers for the activity timeline, made once with the consents:
# person, caller, purpose, scopes, counterparty, records sent when allowed.
ACTIVITY = [
    ("minji", "hanbit-bank", "spending-analysis", ["bank.deposit"], "moneylog", 42),
    ("minji", "byeol-card", "spending-analysis", ["card.approvals"], "moneylog", 17),
    ("minji", "moneylog", "spending-analysis", ["card.bills"], None, None),
    # Refused: the person shared card approvals with the shop, not card bills.
    (
        "minji",
        "hanul-shop",
        "marketing.personalised-offers",
        ["card.bills"],
        None,
        None,
    ),
]


@dataclass
class DemoResult:
    logins: list[dict[str, str]] = field(default_factory=list)
    officer_otp: dict[str, object] = field(default_factory=dict)
    clients: dict[str, dict[str, str]] = field(default_factory=dict)
    consents_created: int = 0


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-clients.json"


def _organizations(result: DemoResult) -> dict[str, Organization]:
    path = _credentials_file()
    known = json.loads(path.read_text()) if path.exists() else {}
    for code, name in ORGANIZATIONS:
        if not Organization.objects.filter(code=code).exists():
            issued = services.register_organization(code=code, name=name, actor=STAFF)
            known[code] = {
                "client_id": issued.client_id,
                "client_secret": issued.client_secret,
            }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=2))
    result.clients = known
    return {
        org.code: org
        for org in Organization.objects.filter(code__in=dict(ORGANIZATIONS))
    }


def _person(username: str, identifier: str, name: str, phone: str) -> DataSubject:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    subject = selectors.subject_by_identifier(identifier)
    if subject is None:
        subject = services.register_subject(
            identifier=identifier, name=name, contact=phone, user=user, actor=STAFF
        )
    return subject


def _reference(organization: Organization, subject: DataSubject, username: str) -> None:
    if not SubjectReference.objects.filter(
        organization=organization, subject=subject
    ).exists():
        services.link_subject_reference(
            organization=organization,
            subject=subject,
            reference=f"{organization.code}-{username}",
            actor=STAFF,
        )


def _activity(organizations: dict[str, Organization]) -> None:
    for username, caller, purpose, scopes, counterparty, records in ACTIVITY:
        organization = organizations[caller]
        decision = services.check_consent(
            caller=organization,
            subject_ref=f"{caller}-{username}",
            purpose_code=purpose,
            scope_codes=scopes,
            counterparty=counterparty,
        )
        if decision.allowed and records is not None:
            services.record_transfer(
                reporter=organization,
                decision_id=decision.decision_id,  # type: ignore[arg-type]  # recorded
                scope_codes=scopes,
                record_count=records,
                direction="sent",
            )


def seed_demo() -> DemoResult:
    """Create the demo world once; later runs only fill gaps."""
    result = DemoResult()
    with transaction.atomic():
        organizations = _organizations(result)
        people = {}
        for username, identifier, name, phone in PEOPLE:
            people[username] = _person(username, identifier, name, phone)
            result.logins.append({"username": username, "password": DEMO_PASSWORD})
        for username, recipient, purpose, scopes, holders, days, revoked in CONSENTS:
            subject = people[username]
            for code in [recipient, *holders]:
                _reference(organizations[code], subject, username)
            if Consent.objects.filter(
                subject=subject, recipient__code=recipient, purpose__code=purpose
            ).exists():
                continue
            consent = services.grant_consent(
                subject=subject,
                recipient=organizations[recipient],
                purpose_code=purpose,
                scope_codes=scopes,
                holder_codes=holders,
                expires_at=timezone.now() + timedelta(days=days),
                actor=Actor("subject", subject.pseudonym),
                collection_method=Consent.CollectionMethod.PORTAL,
            )
            result.consents_created += 1
            if revoked:
                services.revoke_consent(
                    consent_id=consent.id,
                    actor=Actor("subject", subject.pseudonym),
                    reason="no longer using the app",
                )
        if result.consents_created:
            _activity(organizations)
        admin_model = get_user_model()
        officer = admin_model.objects.filter(username="officer").first()
        if officer is None:
            officer = admin_model.objects.create_superuser(
                "officer", password=DEMO_PASSWORD
            )
        result.logins.append(
            {"username": "officer", "password": DEMO_PASSWORD, "role": "staff"}
        )
        # Staff sign in with a second factor; the demo officer's is a known key
        # that any authenticator app takes (`manage.py enrol_staff_otp` gives a
        # real one), with recovery codes shown on its first run.
        device = TOTPDevice.objects.filter(user=officer).first()
        if device is None:
            enrolment = enrol_staff_otp(
                officer, actor=Actor("staff", "seed_demo"), key=DEMO_OTP_KEY
            )
            result.officer_otp = {
                "otpauth_uri": enrolment.otpauth_uri,
                "recovery_codes": enrolment.recovery_codes,
            }
        else:
            result.officer_otp = {"otpauth_uri": device.config_url}
    return result

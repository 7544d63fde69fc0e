"""The page behind `approve_url`: approve all, approve some, or deny, then go back."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from consents import services
from consents.models import Consent, ConsentRequest
from tests.consents.portal.conftest import page_text
from tests.factories import TESTER, OrganizationFactory

pytestmark = pytest.mark.django_db

REDIRECT = "https://insure.example/consents/done?from=cmp"


@pytest.fixture
def insurer(db):
    return OrganizationFactory(code="dasom-insurance", name="다솜생명")


def _ask(insurer, scopes: list[str], **terms) -> ConsentRequest:
    """The insurer asks the person it calls ds-0042 to compare their insurance."""
    return services.create_consent_request(
        recipient=insurer,
        subject_ref="ds-0042",
        purpose_code="insurance-comparison",
        scope_codes=scopes,
        redirect_uri=REDIRECT,
        **terms,
    )


@pytest.fixture
def asked(catalog, insurer):
    """Contracts, claims and health data (sensitive), for 90 days."""
    return _ask(
        insurer,
        ["insurance.contracts", "insurance.claims", "insurance.health"],
        duration_days=90,
        state="abc 123",
    )


def _path(request: ConsentRequest) -> str:
    return f"/consent-requests/{request.id}/"


def _back(response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://insure.example/consents/done?")
    return parse_qs(urlsplit(location).query)


def test_the_page_needs_a_signed_in_person_then_comes_back(asked, minji):
    anonymous = Client().get(_path(asked))
    assert anonymous["Location"] == f"/login/?next=/consent-requests/{asked.id}/"
    minji.user.set_password("pw-2026-portal")
    minji.user.save()
    browser = Client()
    signed_in = browser.post(
        f"/login/?next={_path(asked)}",
        {"username": "minji", "password": "pw-2026-portal", "next": _path(asked)},
    )
    assert signed_in["Location"] == _path(asked)


def test_the_page_shows_what_is_asked_with_sensitive_data_apart(asked, minji):
    response = minji.browser.get(_path(asked))
    page = page_text(response)
    assert "다솜생명 asks for your consent" in page
    assert "Insurance comparison and coverage analysis" in page
    assert "We analyse your insurance contracts to compare your coverage." in page
    assert "90 days from your approval" in page
    plain, sensitive = page.split("Sensitive data: each needs its own consent")
    assert "Insurance contracts" in plain and "Insurance claims" in plain
    assert "Health-related insurance data" not in plain
    assert "I agree that 다솜생명 may use my sensitive data" in sensitive
    html = response.content.decode()
    assert html.count('type="checkbox"') == 3 and " checked" not in html
    korean = page_text(minji.browser.get(_path(asked), HTTP_ACCEPT_LANGUAGE="ko"))
    assert "다솜생명에서 동의를 요청합니다" in korean
    assert "민감정보: 항목마다 별도 동의가 필요합니다" in korean


def test_approve_all_needs_each_sensitive_tick(asked, minji):
    refused = minji.browser.post(_path(asked), {"decision": "approve_all"})
    assert refused.status_code == 400
    assert "Sensitive data needs its own tick." in page_text(refused)
    asked.refresh_from_db()
    assert asked.status == ConsentRequest.Status.PENDING

    back = _back(
        minji.browser.post(
            _path(asked), {"decision": "approve_all", "scopes": ["insurance.health"]}
        )
    )
    assert back["outcome"] == ["approved"] and back["state"] == ["abc 123"]
    assert back["from"] == ["cmp"] and back["request_id"] == [str(asked.id)]
    consent = Consent.objects.get(pk=back["consent_id"][0])
    assert consent.subject == minji.subject
    assert sorted(consent.scope_codes) == sorted(back["scopes"][0].split())
    assert sorted(consent.scope_codes) == [
        "insurance.claims",
        "insurance.contracts",
        "insurance.health",
    ]
    assert consent.collection_method == Consent.CollectionMethod.CONSENT_REQUEST


def test_approve_only_the_ticked_scopes(asked, minji):
    nothing = minji.browser.post(_path(asked), {"decision": "approve_some"})
    assert nothing.status_code == 400
    assert "Tick at least one item" in page_text(nothing)
    back = _back(
        minji.browser.post(
            _path(asked),
            {"decision": "approve_some", "scopes": ["insurance.contracts"]},
        )
    )
    assert back["outcome"] == ["approved"]
    assert back["scopes"] == ["insurance.contracts"]
    unknown = _ask(asked.recipient, ["insurance.contracts"])
    smuggled = minji.browser.post(
        _path(unknown), {"decision": "approve_some", "scopes": ["insurance.health"]}
    )
    assert smuggled.status_code == 400  # not a choice of this request
    assert ConsentRequest.objects.get(pk=unknown.pk).status == "pending"


def test_deny_sends_the_person_back_with_nothing_granted(asked, minji):
    back = _back(minji.browser.post(_path(asked), {"decision": "deny"}))
    assert back["outcome"] == ["denied"] and back["state"] == ["abc 123"]
    assert "consent_id" not in back
    assert not Consent.objects.filter(subject=minji.subject).exists()
    answered = page_text(minji.browser.get(_path(asked)))
    assert "You already denied this request." in answered
    again = minji.browser.post(_path(asked), {"decision": "approve_all"})
    assert again.status_code == 200  # the closed page; nothing changes
    assert ConsentRequest.objects.get(pk=asked.pk).status == "denied"


def test_an_expired_request_offers_only_the_way_back(asked, minji, insurer):
    stale = _ask(
        insurer,
        ["insurance.contracts"],
        state="s2",
        now=timezone.now() - timedelta(days=10),
    )
    page = minji.browser.get(_path(stale))
    assert "This request has expired." in page_text(page)
    assert "outcome=expired" in page.content.decode()
    assert "Approve all" not in page_text(page)


def test_a_request_for_someone_else_is_not_found(asked, minji, jihoon, insurer):
    services.link_subject_reference(
        organization=insurer, subject=jihoon.subject, reference="ds-0042", actor=TESTER
    )
    assert minji.browser.get(_path(asked)).status_code == 404
    assert minji.browser.post(_path(asked), {"decision": "deny"}).status_code == 404
    assert jihoon.browser.get(_path(asked)).status_code == 200


def test_a_request_answered_by_someone_else_is_not_found(asked, minji, jihoon):
    services.approve_consent_request(request_id=asked.id, subject=jihoon.subject)
    assert minji.browser.get(_path(asked)).status_code == 404
    assert "You already approved this request." in page_text(
        jihoon.browser.get(_path(asked))
    )


def test_a_recipient_that_knows_me_by_another_name_cannot_use_this_request(
    asked, minji, insurer
):
    services.link_subject_reference(
        organization=insurer, subject=minji.subject, reference="ds-9", actor=TESTER
    )
    assert minji.browser.get(_path(asked)).status_code == 404
    assert ConsentRequest.objects.get(pk=asked.pk).status == "pending"


def test_a_request_from_a_suspended_recipient_grants_nothing(asked, minji):
    services.set_organization_status(
        code="dasom-insurance", status="suspended", actor=TESTER
    )
    refused = minji.browser.post(
        _path(asked), {"decision": "approve_some", "scopes": ["insurance.contracts"]}
    )
    assert refused.status_code == 400
    assert "This request cannot be answered any more." in page_text(refused)
    assert not Consent.objects.filter(subject=minji.subject).exists()

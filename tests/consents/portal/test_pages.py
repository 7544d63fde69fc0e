"""The person's pages, as a signed-in person uses them."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.services import seal_pending_events
from audit.signing import verify_jws
from consents import services
from consents.models import Consent
from tests.consents.portal.conftest import check, page_text
from tests.factories import TESTER, make_consent

pytestmark = pytest.mark.django_db

PAGES = [
    "/consents/",
    "/activity/",
    "/preferences/",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_asks_to_sign_in_first(path, catalog):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_a_staff_account_without_consents_is_told_so(admin_client):
    response = admin_client.get("/consents/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "not linked to a person's consents" in page_text(response)


def test_my_consents_are_grouped_by_recipient_with_their_terms(
    minji, recipient, bank, shop
):
    make_consent(
        subject=minji.subject,
        recipient=recipient,
        holders=[bank],
        scopes=["bank.deposit", "card.approvals"],
        days=10,
    )
    make_consent(
        subject=minji.subject,
        recipient=shop,
        purpose="marketing.personalised-offers",
        scopes=["card.approvals"],
    )
    page = page_text(minji.browser.get("/consents/"))
    assert page.index("머니로그") < page.index("Spending analysis and money management")
    assert page.index("하늘쇼핑") < page.index("Personalised offers")
    assert "We collect your account and card transactions" in page
    assert "Deposit and savings accounts" in page and "Card approvals" in page
    assert "Sent by 한빛은행" in page
    assert "(10 days left)" in page
    assert page.count("Active") >= 2
    assert "Revoke all for 머니로그" in page
    korean = page_text(minji.browser.get("/consents/", HTTP_ACCEPT_LANGUAGE="ko"))
    assert "소비 분석 및 자산관리" in korean and "예금·적금 계좌" in korean
    assert "귀하의 계좌·카드 거래내역을" in korean and "10일 남음" in korean


def test_filters_show_one_status(minji, recipient):
    active = make_consent(subject=minji.subject, recipient=recipient)
    ended = make_consent(
        subject=minji.subject, recipient=recipient, purpose="credit-scoring"
    )
    services.revoke_consent(consent_id=ended.id, actor=TESTER)
    expiring = make_consent(
        subject=minji.subject,
        recipient=recipient,
        purpose="order-history-import",
        starts_at=timezone.now() - timedelta(days=3),
        expires_at=timezone.now() - timedelta(days=1),
    )
    services.expire_due_consents()

    def shown(query: str) -> set[str]:
        html = minji.browser.get(f"/consents/{query}").content.decode()
        return set(re.findall(r'href="/consents/([0-9a-f-]{36})/"', html))

    assert shown("") == {str(active.id), str(ended.id), str(expiring.id)}
    assert shown("?status=active") == {str(active.id)}
    assert shown("?status=revoked") == {str(ended.id)}
    assert shown("?status=expired") == {str(expiring.id)}
    assert shown("?status=paused") == set()
    assert "No consents with this status." in page_text(
        minji.browser.get("/consents/?status=paused")
    )


def test_the_list_costs_the_same_queries_for_many_consents(
    minji, recipient, bank, shop, django_assert_max_num_queries
):
    for purpose in ("spending-analysis", "credit-scoring", "order-history-import"):
        for organization in (recipient, shop):
            make_consent(
                subject=minji.subject,
                recipient=organization,
                holders=[bank],
                purpose=purpose,
                scopes=["bank.deposit", "card.bills"],
            )
    # Session, user, subject, consents, holders, scopes; then the idle-timeout
    # session save (a savepoint, an update, its release). Six consents or sixty.
    with django_assert_max_num_queries(9):
        response = minji.browser.get("/consents/")
    assert response.content.decode().count('class="card"') == 6


def test_one_consent_shows_its_terms_and_history(minji, recipient, bank):
    consent = make_consent(
        subject=minji.subject,
        recipient=recipient,
        holders=[bank],
        max_uses_per_day=4,
    )
    check(recipient, minji.subject)
    seal_pending_events()
    decision = check(recipient, minji.subject, scopes=["credit.score"])
    assert not decision.allowed
    page = page_text(minji.browser.get(f"/consents/{consent.id}/"))
    assert "Consent given to 머니로그" in page
    assert "At most 4 times a day" in page and "At most 365 days" in page
    assert "Your consent" in page and "You gave it in this portal" in page
    history = page[page.index("History") :]
    assert history.index("asked whether it may use your data Refused") < (
        history.index("asked whether it may use your data Allowed")
    )
    assert "it asked for data you did not agree to share" in history
    assert history.index("Allowed") < history.index("You gave this consent")


def test_the_receipt_downloads_as_signed_json(minji, recipient):
    consent = make_consent(subject=minji.subject, recipient=recipient)
    response = minji.browser.get(f"/consents/{consent.id}/receipt/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{consent.id}.json"'
    )
    body = json.loads(response.content)
    jwks = Client().get("/.well-known/jwks.json").json()
    claims = verify_jws(body["receipt"], jwks)
    assert claims == body["claims"]
    assert claims["consent_id"] == str(consent.id)
    assert claims["recipient"] == "moneylog"
    assert body["verify_with"] == "http://testserver/.well-known/jwks.json"


def test_revoking_asks_first_then_the_next_check_is_denied(minji, recipient, bank):
    consent = make_consent(subject=minji.subject, recipient=recipient, holders=[bank])
    path = f"/consents/{consent.id}/revoke/"
    confirm = minji.browser.get(path)
    text = page_text(confirm)
    assert "Revoke this consent?" in text
    assert "From this moment 머니로그 may no longer receive or use this data" in text
    assert "You cannot undo a revocation" in text
    assert 'action="' + path + '"' in confirm.content.decode()
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE  # nothing happened yet

    done = minji.browser.post(path, follow=True)
    assert done.redirect_chain == [(f"/consents/{consent.id}/", 302)]
    page = page_text(done)
    assert "Consent revoked. 머니로그 can no longer use this data." in page
    assert "Revoked" in page and "You revoked this consent" in page
    assert "Revoke the consent" not in page
    consent.refresh_from_db()
    assert consent.status == Consent.Status.REVOKED
    assert consent.status_changed_by == f"subject:{minji.subject.pseudonym}"
    denied = check(recipient, minji.subject)
    assert (denied.allowed, denied.reason) == (False, "revoked")
    # A second confirmation changes nothing and says nothing went wrong.
    assert minji.browser.post(path).status_code == 302


def test_pausing_and_resuming(minji, recipient):
    consent = make_consent(subject=minji.subject, recipient=recipient)
    paused = minji.browser.post(f"/consents/{consent.id}/pause/", follow=True)
    assert "Consent paused." in page_text(paused)
    assert check(recipient, minji.subject).reason == "paused"
    assert minji.browser.get(f"/consents/{consent.id}/pause/").status_code == 405
    resumed = minji.browser.post(f"/consents/{consent.id}/resume/", follow=True)
    assert "Consent resumed." in page_text(resumed)
    assert check(recipient, minji.subject).allowed
    again = minji.browser.post(f"/consents/{consent.id}/resume/", follow=True)
    assert "Nothing changed: the consent's status does not allow it." in page_text(
        again
    )


def test_everything_for_one_recipient_is_revoked_in_one_step(minji, recipient, shop):
    first = make_consent(subject=minji.subject, recipient=recipient)
    second = make_consent(
        subject=minji.subject, recipient=recipient, purpose="credit-scoring"
    )
    services.pause_consent(consent_id=second.id, actor=TESTER)
    other = make_consent(
        subject=minji.subject, recipient=shop, purpose="marketing.personalised-offers"
    )
    confirm = page_text(minji.browser.get("/recipients/moneylog/revoke/"))
    assert "Revoke everything for 머니로그?" in confirm
    assert "This revokes 2 consents at once" in confirm
    done = minji.browser.post("/recipients/moneylog/revoke/", follow=True)
    assert "Every consent to 머니로그 is revoked." in page_text(done)
    statuses = dict(
        Consent.objects.filter(pk__in=[first.pk, second.pk, other.pk]).values_list(
            "pk", "status"
        )
    )
    assert statuses == {first.pk: "revoked", second.pk: "revoked", other.pk: "active"}
    assert "Revoke all for 머니로그" not in page_text(minji.browser.get("/consents/"))
    # Nothing live is left: the confirmation page sends the person back.
    assert minji.browser.get("/recipients/moneylog/revoke/").status_code == 302


def test_activity_shows_checks_and_transfers_at_once_and_filters(
    minji, recipient, bank, shop
):
    make_consent(subject=minji.subject, recipient=recipient, holders=[bank])
    make_consent(
        subject=minji.subject,
        recipient=shop,
        purpose="marketing.personalised-offers",
        scopes=["card.approvals"],
    )
    decision = check(bank, minji.subject, counterparty="moneylog")
    services.record_transfer(
        reporter=bank,
        decision_id=decision.decision_id,
        scope_codes=["bank.deposit"],
        record_count=12,
        direction="sent",
    )
    check(shop, minji.subject, ["card.bills"], "marketing.personalised-offers")
    # Nothing is sealed yet: the staged checks show all the same.
    page = page_text(minji.browser.get("/activity/"))
    assert "한빛은행 sent 12 records of your data to 머니로그" in page
    assert "한빛은행 asked whether it may send your data to 머니로그 Allowed" in page
    assert "하늘쇼핑 asked whether it may use your data Refused" in page
    assert "Data: Deposit and savings accounts" in page
    only_shop = page_text(minji.browser.get("/activity/?recipient=hanul-shop"))
    assert "하늘쇼핑 asked" in only_shop and "한빛은행" not in only_shop
    korean = page_text(minji.browser.get("/activity/", HTTP_ACCEPT_LANGUAGE="ko"))
    assert "한빛은행에서 내 정보 12건을 머니로그에 보냈습니다" in korean
    assert "거절 사유: 제공에 동의하지 않은 정보를 요청함" in korean


def test_activity_pages_through_older_events(minji, recipient, settings):
    make_consent(subject=minji.subject, recipient=recipient)
    for _ in range(53):
        check(recipient, minji.subject)
    seal_pending_events()
    first = minji.browser.get("/activity/").content.decode()
    assert first.count('class="when"') == 50
    older = re.search(r'href="\?before=(\d+)"', first).group(1)
    second = minji.browser.get(f"/activity/?before={older}").content.decode()
    assert second.count('class="when"') == 3
    assert 'href="?before=' not in second
    assert minji.browser.get("/activity/?before=abc").status_code == 200


def test_dates_follow_the_persons_time_zone(minji, recipient):
    noon_utc = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    consent = make_consent(
        subject=minji.subject,
        recipient=recipient,
        starts_at=noon_utc,
        expires_at=noon_utc + timedelta(days=30),
        now=noon_utc,
    )
    seoul = page_text(minji.browser.get(f"/consents/{consent.id}/"))
    assert "9 p.m." in seoul and "Asia/Seoul time zone" in seoul
    saved = minji.browser.post(
        "/preferences/", {"time_zone": "Europe/London"}, follow=True
    )
    assert "Preferences saved." in page_text(saved)
    minji.subject.refresh_from_db()
    assert minji.subject.time_zone == "Europe/London"
    london = page_text(minji.browser.get(f"/consents/{consent.id}/"))
    assert "Europe/London time zone" in london
    assert ("noon" in london) or ("1 p.m." in london)  # GMT or BST
    refused = minji.browser.post("/preferences/", {"time_zone": "Mars/Olympus"})
    assert refused.status_code == 200
    minji.subject.refresh_from_db()
    assert minji.subject.time_zone == "Europe/London"


def test_the_time_zone_comes_back_at_the_next_sign_in(minji, recipient):
    services.set_subject_time_zone(subject=minji.subject, time_zone="America/New_York")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    minji.user.set_password("pw-2026-portal")
    minji.user.save()
    browser.post("/login/", {"username": "minji", "password": "pw-2026-portal"})
    assert "America/New_York time zone" in page_text(browser.get("/consents/"))


def test_korean_by_default_english_on_request_and_by_the_switch(minji):
    browser = Client()
    browser.force_login(minji.user)
    assert "내 동의 내역" in page_text(browser.get("/consents/"))
    assert "My consents" in page_text(
        browser.get("/consents/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    )
    switched = browser.post(
        "/i18n/setlang/", {"language": "en", "next": "/activity/"}, follow=True
    )
    assert switched.redirect_chain[-1][0] == "/activity/"
    assert '<html lang="en">' in switched.content.decode()
    back = browser.post("/i18n/setlang/", {"language": "ko", "next": "/consents/"})
    assert back["Location"] == "/consents/"
    assert '<html lang="ko">' in browser.get("/consents/").content.decode()

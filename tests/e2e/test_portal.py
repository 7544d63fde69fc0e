"""The portal in a real browser, with the demo world and real organization tokens."""

from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    Demo,
    Organization,
    chromium,
    new_page,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.slow

SHOP_CHECK = {
    "subject_ref": "hanul-shop-minji",
    "purpose": "marketing.personalised-offers",
    "scopes": ["card.approvals"],
}
RETURN = "https://moneylog.example/consents/done"


def _ask_for_credit_scoring(moneylog: Organization, person: str, state: str) -> dict:
    return moneylog.post(
        "/api/v1/consent-requests/",
        {
            "subject_ref": f"moneylog-{person}",
            "purpose": "credit-scoring",
            "scopes": ["bank.loan", "credit.score"],
            "holders": ["hanbit-bank"],
            "duration_days": 30,
            "redirect_uri": RETURN,
            "state": state,
        },
    )


def _no_accessibility_violations(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_snapshot()


def test_sign_in_find_a_consent_revoke_it_and_the_next_check_is_denied(demo: Demo):
    with chromium() as (browser, playwright):
        shop = Organization(playwright, demo, "hanul-shop", "consents:check")
        assert shop.post("/api/v1/checks/", SHOP_CHECK)["allowed"] is True

        page = new_page(browser)
        page.goto(f"{demo.url}/consents/")
        expect(page).to_have_url(f"{demo.url}/login/?next=/consents/")
        sign_in(page, demo, "minji")
        expect(
            page.get_by_role("heading", name="내 동의 내역", level=1)
        ).to_be_visible()
        screenshot(page, "flow-1-my-consents")

        group = page.locator("section.group", has_text="하늘쇼핑")
        group.get_by_role("link", name="자세히 보기").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("맞춤형 상품 추천")
        expect(page.locator("h1 .badge")).to_have_text("유효")

        page.get_by_role("link", name="철회하기").click()
        expect(
            page.get_by_role("heading", name="이 동의를 철회할까요?")
        ).to_be_visible()
        expect(page.get_by_text("다음 확인 요청부터 거절됩니다")).to_be_visible()
        screenshot(page, "flow-2-confirm-revoke")
        page.get_by_role("button", name="동의 철회").click()

        expect(page.get_by_role("status")).to_contain_text("동의를 철회했습니다")
        expect(page.locator("h1 .badge")).to_have_text("철회됨")
        expect(page.get_by_role("link", name="철회하기")).to_have_count(0)
        expect(page.get_by_text("내가 이 동의를 철회했습니다")).to_be_visible()
        screenshot(page, "flow-3-revoked")

        denied = shop.post("/api/v1/checks/", SHOP_CHECK)
        assert (denied["allowed"], denied["reason"]) == (False, "revoked")
        assert denied["transfer_token"] is None

        # The refused check is on the person's timeline at once, before sealing.
        page.get_by_role("link", name="이용 기록").click()
        first = page.locator("ol.timeline li").first
        expect(first).to_contain_text("하늘쇼핑")
        expect(first).to_contain_text("거절 사유: 동의가 철회됨")


def test_approve_a_consent_request_end_to_end_with_the_redirect(demo: Demo):
    with chromium() as (browser, playwright):
        moneylog = Organization(
            playwright, demo, "moneylog", "consent-requests:write consents:check"
        )
        asked = _ask_for_credit_scoring(moneylog, "sora", state="xyz-42")
        page = new_page(browser)
        page.route(
            "https://moneylog.example/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<h1>moneylog</h1>"
            ),
        )
        page.goto(asked["approve_url"])
        sign_in(page, demo, "sora")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "머니로그 (MyData app)에서 동의를 요청합니다"
        )
        sensitive = page.get_by_role("checkbox", name="신용평점")
        expect(sensitive).not_to_be_checked()
        page.get_by_role("button", name="모두 동의").click()
        expect(page.get_by_role("alert")).to_contain_text("민감정보는 항목마다")
        expect(page).to_have_url(asked["approve_url"])

        page.get_by_role("checkbox", name="신용평점").check()
        page.get_by_role("button", name="모두 동의").click()
        page.wait_for_url(f"{RETURN}?**")
        back = parse_qs(urlsplit(page.url).query)
        assert back["outcome"] == ["approved"] and back["state"] == ["xyz-42"]
        assert back["request_id"] == [asked["id"]]
        assert back["scopes"] == ["bank.loan credit.score"]

        answered = moneylog.get(f"/api/v1/consent-requests/{asked['id']}/")
        assert answered["status"] == "approved"
        assert answered["consent_id"] == back["consent_id"][0]
        check = moneylog.post(
            "/api/v1/checks/",
            {
                "subject_ref": "moneylog-sora",
                "purpose": "credit-scoring",
                "scopes": ["credit.score"],
            },
        )
        assert check["allowed"] is True

        denied = _ask_for_credit_scoring(moneylog, "sora", state="again")
        page.goto(denied["approve_url"])
        page.get_by_role("button", name="동의하지 않음").click()
        page.wait_for_url(f"{RETURN}?**")
        back = parse_qs(urlsplit(page.url).query)
        assert back["outcome"] == ["denied"] and back["state"] == ["again"]


def test_switch_language_and_keep_it(demo: Demo):
    with chromium() as (browser, _):
        page = new_page(browser)
        page.goto(f"{demo.url}/login/")
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(page.get_by_role("heading", name="로그인")).to_be_visible()
        # By keyboard, as someone without a mouse would.
        english = page.get_by_role("button", name="English")
        english.focus()
        page.keyboard.press("Enter")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(english).to_have_attribute("aria-pressed", "true")
        sign_in(page, demo, "jihoon")
        expect(page.get_by_role("heading", name="My consents", level=1)).to_be_visible()
        expect(page.get_by_text("Revoked", exact=True).first).to_be_visible()
        page.get_by_role("button", name="한국어").click()
        expect(
            page.get_by_role("heading", name="내 동의 내역", level=1)
        ).to_be_visible()
        expect(page).to_have_url(f"{demo.url}/consents/")


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_main_pages_are_accessible_and_fit_a_phone_with_screenshots(
    demo: Demo, locale: str
):
    with chromium() as (browser, playwright):
        moneylog = Organization(playwright, demo, "moneylog", "consent-requests:write")
        asked = _ask_for_credit_scoring(moneylog, "minji", state="screens")
        browser_locale = "ko-KR" if locale == "ko" else "en-US"
        page = new_page(browser, locale=browser_locale)
        page.goto(f"{demo.url}/login/")
        _no_accessibility_violations(page)
        sign_in(page, demo, "minji")
        screenshot(page, f"consent-list-{locale}")
        _no_accessibility_violations(page)

        page.locator("section.group", has_text="머니로그").locator(".actions a").click()
        expect(page.locator("ol.timeline li").first).to_be_visible()
        screenshot(page, f"consent-{locale}")
        _no_accessibility_violations(page)

        page.goto(f"{demo.url}/activity/")
        expect(page.locator("ol.timeline li")).to_have_count(6)
        screenshot(page, f"activity-{locale}")
        _no_accessibility_violations(page)

        page.goto(asked["approve_url"])
        expect(page.locator("fieldset.sensitive")).to_be_visible()
        screenshot(page, f"approval-{locale}")
        _no_accessibility_violations(page)

        phone = new_page(browser, locale=browser_locale, width=390, height=844)
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{demo.url}/consents/")
        fits = phone.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        )
        assert fits, "the consent list scrolls sideways on a phone"
        screenshot(phone, f"consent-list-phone-{locale}")

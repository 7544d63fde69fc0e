"""Browser tests: Debian's Chromium driven by Playwright against a live server.

Playwright runs its own event loop, inside which Django refuses database calls;
so each test prepares its data first and then drives the browser, and checks
what happened over HTTP, as the person and the organizations would.

Outside CI these tests skip, loudly, when Chromium is missing; with CI=true
they are required.
"""

import base64
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import APIRequestContext, Browser, Page, sync_playwright

from consents.demo import DEMO_PASSWORD, seed_demo

CHROMIUM = os.environ.get("CMP_CHROMIUM", "/usr/bin/chromium")
# Headless, sandboxless (CI runs as root), and quiet: this machine has no network
# for Chromium's background services.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "e2e"


def pytest_collection_modifyitems(config, items) -> None:
    """Without Chromium, skip the browser tests before anything is set up for them.

    Under CI=true they are required, so the run stops at once instead.
    """
    if Path(CHROMIUM).exists():
        return
    message = (
        f"BROWSER TESTS NOT RUN: no Chromium at {CHROMIUM}. `make test` installs "
        "Debian's chromium where it can (apt-get as root); set CMP_CHROMIUM to use "
        "another. Under CI=true these tests are required."
    )
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(message)
    warnings.warn(message, stacklevel=1)
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=message))


@dataclass
class Demo:
    """The demo world of `seed_demo`, served by a live server."""

    url: str
    clients: dict[str, dict[str, str]]
    password: str = DEMO_PASSWORD


@pytest.fixture
def demo(committed_catalog, live_server, settings, tmp_path) -> Demo:
    settings.VAR_DIR = tmp_path  # seed_demo writes the clients' credentials there
    return Demo(url=live_server.url, clients=seed_demo().clients)


@contextmanager
def chromium() -> Iterator[tuple[Browser, object]]:
    """A headless Chromium and the Playwright handle (for API requests)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser, playwright
        finally:
            browser.close()


def new_page(
    browser: Browser, *, locale: str = "ko-KR", width: int = 1000, height: int = 900
) -> Page:
    """A page in a fresh context: its own cookies, language and screen size."""
    context = browser.new_context(
        locale=locale, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page: Page, demo: Demo, username: str) -> None:
    page.get_by_label("아이디").or_(page.get_by_label("Username")).fill(username)
    page.get_by_label("비밀번호").or_(page.get_by_label("Password")).fill(demo.password)
    page.locator("form button.primary").click()


def screenshot(page: Page, name: str) -> Path:
    """Save a test artifact; also into CMP_SCREENSHOT_DIR when that is set."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("CMP_SCREENSHOT_DIR"):
        extra = Path(os.environ["CMP_SCREENSHOT_DIR"])
        extra.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(extra / f"{name}.png"), full_page=True)
    return path


class Organization:
    """An organization calling the API over HTTP with its client credentials."""

    def __init__(self, playwright, demo: Demo, code: str, scope: str):
        self.code = code
        credentials = demo.clients[code]
        basic = f"{credentials['client_id']}:{credentials['client_secret']}"
        http: APIRequestContext = playwright.request.new_context(base_url=demo.url)
        response = http.post(
            "/o/token/",
            form={"grant_type": "client_credentials", "scope": scope},
            headers={
                "Authorization": "Basic " + base64.b64encode(basic.encode()).decode()
            },
        )
        assert response.ok, response.text()
        self.http = http
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(
            path,
            data=json.dumps(body),
            headers={**self.headers, "Content-Type": "application/json"},
        )
        assert response.status in (200, 201), response.text()
        return response.json()

    def get(self, path: str) -> dict:
        response = self.http.get(path, headers=self.headers)
        assert response.ok, response.text()
        return response.json()

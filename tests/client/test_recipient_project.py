"""The Django integration inside a recipient's own minimal project.

The project (tests/client/recipient_project) runs under gunicorn in its own
process, talks to the platform's live server through `cmp.client`, guards a
plain view with `@consent_required` and a DRF view with `ConsentRequired`, and
receives the platform's revocation notices with `webhook_view`.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from consents.webhooks.delivery import attempt_delivery
from consents.webhooks.models import Delivery
from tests.client.conftest import record
from tests.processes import free_port, http_answers, stop_process, wait_until
from tests.propagation.conftest import subscribe

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recipient_site(shop, platform, tmp_path):
    """The recipient's project on a free port; its webhook secret; its notices."""
    port = free_port()
    notices = tmp_path / "notices.jsonl"
    site = f"http://127.0.0.1:{port}"
    _, secret = subscribe(shop.organization, f"{site}/hooks/")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.client.recipient_project.settings",
        "CMP_BASE_URL": platform,
        "CMP_CLIENT_ID": shop.client_id,
        "CMP_CLIENT_SECRET": shop.client_secret,
        "CMP_WEBHOOK_SECRET": secret,
        "NOTICES_FILE": str(notices),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.client.recipient_project.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=1",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )

    try:
        assert wait_until(lambda: http_answers(f"{site}/statement/"), timeout=20), (
            "the recipient's site did not start"
        )
        yield site, notices
    finally:
        stop_process(process)


def test_views_run_only_after_an_allowed_check(recipient_site, shop):
    site, _ = recipient_site
    consent = record(shop.client, subject_ref="cust-1")

    for path in ("/statement/", "/insights/"):
        allowed = requests.get(
            f"{site}{path}", params={"customer": "cust-1"}, timeout=10
        )
        assert allowed.status_code == 200, allowed.text
        assert allowed.json()["decision_id"]
        stranger = requests.get(
            f"{site}{path}", params={"customer": "nobody"}, timeout=10
        )
        assert stranger.status_code == 403

    shop.client.revoke(consent.id)
    denied = requests.get(
        f"{site}/statement/", params={"customer": "cust-1"}, timeout=10
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["reason"] == "revoked"
    drf_denied = requests.get(
        f"{site}/insights/", params={"customer": "cust-1"}, timeout=10
    )
    assert drf_denied.status_code == 403
    assert "revoked" in drf_denied.text


def test_the_webhook_view_takes_real_notices_and_refuses_forged_ones(
    recipient_site, shop
):
    site, notices = recipient_site
    consent = record(shop.client, subject_ref="cust-2")
    shop.client.revoke(consent.id, reason="account closed")
    delivery = Delivery.objects.get(consent_id=consent.id, event_type="consent.revoked")

    assert attempt_delivery(delivery.id) == "delivered"

    [notice] = [json.loads(line) for line in notices.read_text().splitlines()]
    assert notice["data"]["consent_id"] == consent.id
    assert notice["data"]["subject_ref"] == "cust-2"
    assert notice["webhook_id"] == delivery.webhook_id

    forged = requests.post(
        f"{site}/hooks/",
        data=delivery.body.replace("revoked", "granted"),
        headers={
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": "1700000000",
            "webhook-signature": "v1,AAAA",
        },
        timeout=10,
    )
    assert forged.status_code == 400
    assert len(notices.read_text().splitlines()) == 1

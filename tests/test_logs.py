"""Logs are JSON lines with time, level, logger and a request id, and nothing
about a person (identifier, name, contact, password) or a secret (client secret,
token, webhook secret) ever reaches one, through a whole day's work."""

import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config.logs import formatter
from consents import services
from consents.models import MassChange
from consents.webhooks.delivery import attempt_delivery
from consents.webhooks.models import Delivery
from tests.api.conftest import OrgClient, post_ok
from tests.conftest import verify_second_factor
from tests.factories import TESTER, OrganizationFactory
from tests.processes import own_redis, wait_until
from tests.receiver import running_receiver
from tests.workers import celery_worker, requires_worker, use_broker, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

IDENTIFIER = "minji.kim@example.kr"
NAME = "김민지"
CONTACT = "010-9876-5432"
PASSWORD = "minji-portal-password-77"


@pytest.fixture
def log_lines():
    """Everything any logger writes at DEBUG and above, as the service renders it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_a_days_work_logs_json_with_request_ids_and_nothing_personal(
    committed_catalog, log_lines
):
    org = OrgClient("moneylog", "머니로그")
    api = org.api()
    token = api._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    user = get_user_model().objects.create_user("minji", password=PASSWORD)
    subject = services.register_subject(
        identifier=IDENTIFIER, name=NAME, contact=CONTACT, user=user, actor=TESTER
    )
    services.link_subject_reference(
        organization=org.organization, subject=subject, reference="ml-7", actor=TESTER
    )
    with running_receiver() as receiver:
        endpoint = post_ok(
            api, "/api/v1/webhook-endpoints/", {"url": receiver.url("/hooks")}
        )
        consent = post_ok(
            api,
            "/api/v1/consents/",
            {
                "subject_ref": "ml-7",
                "purpose": "spending-analysis",
                "scopes": ["bank.deposit"],
                "evidence": {"channel": "app"},
            },
        )
        check = {"subject_ref": "ml-7", "purpose": "spending-analysis"}
        api.post("/api/v1/checks/", {**check, "scopes": ["bank.deposit"]}, "json")
        api.post("/api/v1/checks/", {**check, "scopes": ["nope"]}, "json")  # 400
        api.get("/api/v1/consents/", {"subject_ref": "ml-7"})
        browser = Client()
        browser.post("/login/", {"username": "minji", "password": "wrong"})
        browser.post("/login/", {"username": "minji", "password": PASSWORD})
        browser.post(f"/consents/{consent['id']}/revoke/", {"reason": NAME})
        for delivery in Delivery.objects.all():
            attempt_delivery(delivery.id)

    lines = log_lines()
    assert lines, "nothing was logged"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"timestamp", "level", "logger", "event"} <= set(r) for r in records)
    requests = [r for r in records if r["event"] == "request_finished"]
    assert len(requests) >= 8
    assert "GET /api/v1/consents/" in {r["request"] for r in requests}
    assert all(r.get("request_id") for r in requests)
    assert len({r["request_id"] for r in requests}) == len(requests)
    text = "\n".join(lines)
    secrets = {
        "identifier": IDENTIFIER,
        "name": NAME,
        "contact": CONTACT,
        "password": PASSWORD,
        "client secret": org.issued.client_secret,
        "access token": token,
        "webhook secret": endpoint["secret"],
        "subject reference query": "subject_ref=ml-7",
    }
    leaked = [what for what, value in secrets.items() if value in text]
    assert not leaked, f"logged: {leaked}"


@requires_worker
def test_the_request_id_follows_into_the_task_the_request_queues(
    committed_catalog, log_lines
):
    """An operator suspends an organization in the admin; the mass change that
    the request queues logs, in the worker, the request's id."""
    organization = OrganizationFactory(code="moneylog")
    staff = get_user_model().objects.create_superuser("officer", password=PASSWORD)
    admin = Client()
    admin.force_login(staff)
    verify_second_factor(admin, staff)
    with own_redis() as broker, use_broker(broker.url):
        env = worker_env(broker.url, LOG_LEVEL="INFO")
        with celery_worker(env, beat=False, loglevel="INFO") as worker:
            admin.post(
                "/admin/consents/organization/",
                {"action": "suspend", "_selected_action": [str(organization.pk)]},
            )
            records = [json.loads(line) for line in log_lines()]
            finished = [
                r
                for r in records
                if r["event"] == "request_finished"
                and r["request"] == "POST /admin/consents/organization/"
            ]
            request_id = finished[-1]["request_id"]
            assert any(
                r["event"] == "task_enqueued" and r["request_id"] == request_id
                for r in records
            )

            def logged_by_the_task() -> bool:
                for line in worker.log_path.read_text(errors="replace").splitlines():
                    if request_id in line and "task_" in line:
                        return True
                return False

            assert wait_until(logged_by_the_task, timeout=30)
    job = MassChange.objects.get(organization=organization)
    assert job.status == "finished"

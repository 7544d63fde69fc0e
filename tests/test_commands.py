"""The management commands an operator runs: what they print and what they change."""

import base64
import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

from audit.models import AuditEvent
from consents import selectors
from consents.management.commands.load_catalog import DEMO_CATALOG
from consents.models import (
    Consent,
    DataSubject,
    Organization,
    OrganizationClient,
    Purpose,
    PurposeVersion,
    Scope,
)
from tests.factories import make_consent

NO_CHANGES = {
    "scopes_created": 0,
    "scopes_updated": 0,
    "purposes_created": 0,
    "versions_published": 0,
}


def _run(name: str, *args: str) -> str:
    """Run a command and return what it printed on stdout (stderr is discarded)."""
    stdout = StringIO()
    call_command(name, *args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def _counts() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "applications": get_application_model().objects.count(),
        "clients": OrganizationClient.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def _demo_catalog() -> dict:
    return json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))


def _catalog_with_new_notice(folder: Path, purpose_code: str, notice: str) -> Path:
    """The demo catalog, except for one purpose's English notice."""
    document = _demo_catalog()
    (item,) = [p for p in document["purposes"] if p["code"] == purpose_code]
    item["notice_en"] = notice
    path = folder / "catalog.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


# --- create_organization -----------------------------------------------------------


def test_create_organization_prints_working_client_credentials(db, client):
    printed = json.loads(
        _run("create_organization", "--code", "acme-data", "--name", "Acme Data")
    )

    assert set(printed) == {"organization_id", "code", "client_id", "client_secret"}
    organization = Organization.objects.get(pk=printed["organization_id"])
    assert organization.code == printed["code"] == "acme-data"
    assert organization.name == "Acme Data"
    assert organization.clients.get().application.client_id == printed["client_id"]

    basic = base64.b64encode(
        f"{printed['client_id']}:{printed['client_secret']}".encode()
    ).decode()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "consents:check"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    assert response.status_code == 200, response.content
    token = response.json()
    assert token["access_token"]
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "consents:check"
    assert 0 < token["expires_in"] <= 900


def _acme_with_webhook(url: str) -> str:
    return _run(
        "create_organization",
        "--code",
        "acme-data",
        "--name",
        "Acme Data",
        "--webhook-url",
        url,
    )


def test_create_organization_registers_a_webhook_endpoint_for_every_event(db):
    from consents.webhooks.delivery import endpoint_secret
    from consents.webhooks.models import EVENT_TYPES, WebhookEndpoint

    printed = json.loads(_acme_with_webhook("https://acme.example/cmp-hooks"))

    endpoint = WebhookEndpoint.objects.get(pk=printed["webhook_endpoint_id"])
    assert endpoint.organization.code == "acme-data"
    assert endpoint.url == "https://acme.example/cmp-hooks"
    assert endpoint.event_types == sorted(EVENT_TYPES)
    assert printed["webhook_secret"].startswith("whsec_")
    assert endpoint_secret(endpoint) == printed["webhook_secret"]
    assert printed["webhook_secret"].encode() not in bytes(endpoint.secret_enc)


def test_create_organization_with_a_refused_webhook_url_creates_nothing(db, settings):
    settings.CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    before = _counts()

    with pytest.raises(CommandError, match="url"):
        _acme_with_webhook("https://127.0.0.1/hooks")

    assert _counts() == before


def test_create_organization_secret_is_not_stored_in_clear(db):
    printed = json.loads(
        _run("create_organization", "--code", "acme-data", "--name", "Acme Data")
    )
    application = get_application_model().objects.get(client_id=printed["client_id"])
    assert application.client_secret != printed["client_secret"]


def test_create_organization_with_a_bad_code_fails_and_creates_nothing(db):
    before = _counts()

    with pytest.raises(CommandError, match="code"):
        _run("create_organization", "--code", "Bad Code!", "--name", "Bad")

    assert _counts() == before


@pytest.mark.parametrize("again", ["acme-data", " ACME-Data "])
def test_create_organization_with_a_taken_code_fails_cleanly(db, again):
    _run("create_organization", "--code", "acme-data", "--name", "Acme Data")
    before = _counts()

    with pytest.raises(CommandError, match="code"):
        _run("create_organization", "--code", again, "--name", "Acme Again")

    assert _counts() == before
    assert Organization.objects.get().name == "Acme Data"


# --- load_catalog ------------------------------------------------------------------


def test_load_catalog_is_idempotent(db):
    document = _demo_catalog()

    first = json.loads(_run("load_catalog"))
    assert first == {
        "scopes_created": len(document["scopes"]),
        "scopes_updated": 0,
        "purposes_created": len(document["purposes"]),
        "versions_published": len(document["purposes"]),
    }
    tables = (Scope, Purpose, PurposeVersion, AuditEvent)
    counts = [model.objects.count() for model in tables]

    assert json.loads(_run("load_catalog")) == NO_CHANGES
    assert [model.objects.count() for model in tables] == counts


def test_changed_notice_updates_an_unused_purpose_version_in_place(catalog, tmp_path):
    changed = _catalog_with_new_notice(tmp_path, "spending-analysis", "New notice.")

    result = json.loads(_run("load_catalog", str(changed)))

    assert result == {**NO_CHANGES, "versions_published": 1}
    (version,) = PurposeVersion.objects.filter(purpose__code="spending-analysis")
    assert version.version == 1
    assert version.notice_en == "New notice."


def test_changed_notice_publishes_version_2_when_version_1_is_in_use(
    catalog, subject, recipient, tmp_path
):
    consent = make_consent(
        subject=subject, recipient=recipient, purpose="spending-analysis"
    )
    original = PurposeVersion.objects.get(purpose__code="spending-analysis", version=1)
    changed = _catalog_with_new_notice(tmp_path, "spending-analysis", "New notice.")

    result = json.loads(_run("load_catalog", str(changed)))

    assert result == {**NO_CHANGES, "versions_published": 1}
    versions = PurposeVersion.objects.filter(purpose__code="spending-analysis")
    assert [v.version for v in versions] == [2, 1]
    v2, v1 = versions
    assert v2.notice_en == "New notice."
    assert v1.pk == original.pk
    for field in ("notice_ko", "notice_en", "legal_basis", "retention_days"):
        assert getattr(v1, field) == getattr(original, field)
    assert Consent.objects.get(pk=consent.pk).purpose_version_id == v1.pk
    published = AuditEvent.objects.filter(action="catalog.purpose_published").last()
    assert published.purpose == "spending-analysis"
    assert published.payload["version"] == 2


def test_load_catalog_from_a_missing_file_fails(db, tmp_path):
    with pytest.raises(CommandError, match="cannot load"):
        _run("load_catalog", str(tmp_path / "no-such-catalog.json"))
    assert not Scope.objects.exists()


def test_load_catalog_from_malformed_json_fails(db, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"scopes": [', encoding="utf-8")

    with pytest.raises(CommandError, match="cannot load"):
        _run("load_catalog", str(broken))
    assert not Scope.objects.exists()


# --- seed_demo and verify_audit ----------------------------------------------------


@pytest.fixture
def var_dir(settings, tmp_path):
    """seed_demo writes demo-clients.json under VAR_DIR: keep it in tmp_path."""
    settings.VAR_DIR = tmp_path
    return tmp_path


def _world() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "subjects": DataSubject.objects.count(),
        "consents": Consent.objects.count(),
        "users": get_user_model().objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def test_seed_demo_creates_logins_organizations_and_consents(db, var_dir):
    result = json.loads(_run("seed_demo"))

    usernames = {login["username"] for login in result["logins"]}
    assert usernames == {"minji", "jihoon", "sora", "officer"}
    assert result["consents_created"] == 6
    assert set(result["clients"]) == {
        "moneylog",
        "hanul-shop",
        "hanbit-bank",
        "byeol-card",
        "dasom-insurance",
    }
    world = _world()
    assert world["organizations"] == 5
    assert world["subjects"] == 3
    assert world["consents"] == 6
    assert Consent.objects.filter(status="revoked").count() == 1
    assert get_user_model().objects.get(username="officer").is_superuser
    saved = json.loads((var_dir / "demo-clients.json").read_text())
    assert saved == result["clients"]


def test_seed_demo_twice_creates_nothing_new(db, var_dir):
    first = json.loads(_run("seed_demo"))
    world = _world()

    second = json.loads(_run("seed_demo"))

    assert second["consents_created"] == 0
    assert _world() == world
    assert second["clients"] == first["clients"]


def test_seed_demo_gives_a_person_checks_and_transfers_to_see_once(db, var_dir):
    def minjis_activity() -> list[tuple[str, bool | None]]:
        minji = DataSubject.objects.get(user__username="minji")
        events = selectors.subject_timeline(minji).events
        return sorted((e.action, e.allowed) for e in events)

    _run("seed_demo")
    activity = minjis_activity()
    assert activity == sorted(
        [("consent.checked", True)] * 3
        + [("consent.checked", False)]
        + [("transfer.recorded", None)] * 2
    )
    _run("seed_demo")
    assert minjis_activity() == activity


def test_verify_audit_reports_an_intact_chain_after_seed_demo(db, var_dir):
    _run("seed_demo")

    assert "intact" in _run("verify_audit")
    report = json.loads(_run("verify_audit", "--json"))
    assert report["ok"] is True
    assert report["checked"] == AuditEvent.objects.count()


# --- migrations --------------------------------------------------------------------


def test_no_model_change_lacks_a_migration(db):
    output = _run("makemigrations", "--check", "--dry-run")
    assert "No changes detected" in output


def test_rotating_a_client_secret_retires_the_old_one_and_its_tokens(catalog):
    from tests.api.conftest import OrgClient

    org = OrgClient("moneylog", "머니로그")
    old_token_api = org.api()
    assert old_token_api.get("/api/v1/consents/").status_code == 200
    out = StringIO()
    call_command("rotate_client_secret", "--code", "moneylog", stdout=out)
    issued = json.loads(out.getvalue())
    assert issued["client_id"] == org.issued.client_id
    assert issued["client_secret"] != org.issued.client_secret

    assert old_token_api.get("/api/v1/consents/").status_code == 401
    assert (
        org.oauth("/o/token/", {"grant_type": "client_credentials"}).status_code == 401
    )
    org.issued = type(org.issued)(
        org.organization, issued["client_id"], issued["client_secret"]
    )
    assert org.api().get("/api/v1/consents/").status_code == 200
    event = AuditEvent.objects.get(action="organization.client_secret_rotated")
    assert event.payload["tokens_revoked"] == 1
    assert issued["client_secret"] not in str(event.payload)
    with pytest.raises(CommandError, match=r"^Organization not found\.$"):
        call_command("rotate_client_secret", "--code", "nobody")

"""The production settings are every entry point's default, and safe by default:
no process starts without its keys, Django's deployment check is clean, and the
production build serves styled pages in Korean from gunicorn alone."""

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import stop_process_group
from tests.workers import ROOT, start_gunicorn

MISSING = (
    "Production settings need SECRET_KEY, CMP_DATA_KEYS, CMP_LOOKUP_KEY, "
    "CMP_SIGNING_KEYS, DATABASE_URL, ALLOWED_HOSTS in the environment"
)
HOST = "cmp.example.com"


def _bare_env() -> dict[str, str]:
    """What a new machine has: no Django settings, no keys."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _production_env(var: Path) -> dict[str, str]:
    """A realistic production environment, on a database of the test's own."""
    return {
        **_bare_env(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CMP_DATA_KEYS": f"k1:{_key()}",
        "CMP_LOOKUP_KEY": secrets.token_urlsafe(32),
        "CMP_SIGNING_KEYS": f"s1:{_key()}",
        "DATABASE_URL": f"sqlite:///{var / 'cmp.sqlite3'}",
        "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
        "CMP_VAR_DIR": str(var),
        "STATIC_ROOT": str(var / "static"),
        "CMP_TRUSTED_PROXIES": "1",
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "entry",
    [
        ["-c", "import config.wsgi"],
        ["-c", "import config.asgi"],
        ["-c", "from config.celery import app; app.loader.import_default_modules()"],
        ["manage.py", "check"],
    ],
    ids=["wsgi", "asgi", "celery", "manage.py"],
)
def test_no_entry_point_starts_without_its_keys(entry):
    result = _run(entry, _bare_env())
    assert result.returncode != 0
    assert MISSING in result.stderr
    assert "dev-only" not in result.stderr


def test_production_refuses_debug(tmp_path):
    result = _run(["manage.py", "check"], {**_production_env(tmp_path), "DEBUG": "1"})
    assert result.returncode != 0
    assert "Production settings refuse DEBUG=true." in result.stderr


def test_the_deployment_check_is_clean(tmp_path):
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _production_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.fixture
def production_server(tmp_path):
    """gunicorn on the production settings, after the build's collectstatic."""
    env = _production_env(tmp_path)
    for step in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
        done = _run(["manage.py", *step, "-v", "0"], env)
        assert done.returncode == 0, done.stderr
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    process, base = start_gunicorn(env, workers=2, production_config=True)
    try:
        yield base, tmp_path / "static"
    finally:
        stop_process_group(process)


def _get(base: str, path: str, **headers: str) -> requests.Response:
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", **headers}
    return requests.get(f"{base}{path}", headers=headers, timeout=10)


def test_the_production_build_serves_styled_pages_in_korean(production_server):
    base, static_root = production_server

    login = _get(base, "/login/")
    assert login.status_code == 200
    assert 'lang="ko"' in login.text and "로그인" in login.text

    # The admin's stylesheet, by its hashed name, compressed, cached for ever.
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    css = manifest["paths"]["admin/css/base.css"]
    asset = _get(base, f"/static/{css}", **{"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["Content-Type"].startswith("text/css")
    assert asset.headers.get("Content-Encoding") == "gzip"
    assert "immutable" in asset.headers["Cache-Control"]
    admin = _get(base, "/admin/login/")
    assert f"/static/{css}" in admin.text

    # The API reference page's script is served here, not from a CDN.
    docs = _get(base, "/api/v1/docs/")
    assert docs.status_code == 200
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', docs.text)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    for src in scripts:
        assert _get(base, src).status_code == 200


def test_plain_http_is_sent_to_https_but_probes_are_answered(production_server):
    base, _ = production_server
    plain = requests.get(
        f"{base}/login/", headers={"Host": HOST}, allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{HOST}/login/"
    secure = _get(base, "/login/")
    assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
    probe = requests.get(f"{base}/healthz", headers={"Host": HOST}, timeout=10)
    assert probe.status_code == 200


def test_metrics_add_up_every_worker(production_server):
    """Two workers, each counting its own requests: the scrape sums them."""
    base, _ = production_server
    for _ in range(20):
        assert _get(base, "/login/").status_code == 200
    scrape = requests.get(f"{base}/metrics", timeout=10).text
    counted = sum(
        float(line.rpartition(" ")[2])
        for line in scrape.splitlines()
        if line.startswith("django_http_responses_total_by_status_view_method_total")
        and 'view="portal:login"' in line
        and 'status="200"' in line
    )
    assert counted >= 20
    assert "cmp_staged_events" in scrape

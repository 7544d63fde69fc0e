"""The SDK's distribution, built from this repository, holds the SDK and the wire
formats it speaks, and nothing of the platform; it imports without Django."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK_PACKAGES = ("cmp/client/", "cmp_common/wire/")
SDK_MODULES = ("cmp/__init__.py", "cmp_common/__init__.py")
CHECK_SCRIPT = """
import sys
from cmp.client import ConsentClient

base, client_id, secret = sys.argv[1:]
with ConsentClient(base, client_id, secret) as client:
    result = client.check(
        subject_ref="ml-1", purpose="spending-analysis", scopes=["bank.deposit"]
    )
print(result.allowed, bool(result.transfer_token))
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"),
            *("--no-build-isolation", "--wheel-dir", str(out), str(source)),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("mydata_cmp_client-*.whl")
    return built


def test_the_wheel_holds_only_the_sdk(wheel):
    names = [
        name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name
    ]
    strays = [
        name
        for name in names
        if name not in SDK_MODULES and not name.startswith(SDK_PACKAGES)
    ]
    assert strays == []
    assert "cmp/client/client.py" in names
    assert "cmp/client/py.typed" in names
    assert "cmp_common/wire/jws.py" in names
    assert "cmp_common/wire/webhooks.py" in names


def test_the_installed_sdk_imports_without_the_platform(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys, cmp.client, cmp.client.webhooks;"
        "assert cmp.client.__file__.startswith(sys.argv[1]), cmp.client.__file__;"
        "loaded = {m.split('.')[0] for m in sys.modules};"
        "print(sorted(loaded & {'django', 'consents', 'audit', 'api', 'config'}))"
    )
    result = subprocess.run(
        [sys.executable, "-P", "-c", code, str(site)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_clean_virtualenv_installs_it_and_checks_against_a_live_server(
    wheel, tmp_path, shop
):
    """pip installs the wheel and its dependencies, nothing else, into a new
    virtualenv; the SDK there checks against the platform on a free port."""
    from tests.client.conftest import record

    record(shop.client)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=600,
    )
    result = subprocess.run(
        [python, "-c", CHECK_SCRIPT, shop.client.base_url, shop.client_id,
         shop.client_secret],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]

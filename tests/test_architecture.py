"""The layers hold because a tool checks them: `lint-imports` keeps the contracts
in pyproject.toml, and breaks on a new import against them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "cmp", "cmp_common", "consents", "audit", "api", "settings")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the packages and the contracts, to break on purpose."""
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            root / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.mo", "templates"),
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_repository_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("modules", "broken"),
    [
        (
            {"audit/upward.py": "from consents.models import Consent\n"},
            "audit imports nothing of consents, api or config BROKEN",
        ),
        (
            {"consents/upward.py": "from api.organizations import checks\n"},
            "config -> api -> consents -> audit -> cmp_common BROKEN",
        ),
        (
            {"cmp_common/wire/upward.py": "import audit.chain\n"},
            "config -> api -> consents -> audit -> cmp_common BROKEN",
        ),
        (
            {"cmp/client/upward.py": "from consents import selectors\n"},
            "The SDK (cmp) imports nothing of the platform",
        ),
        (
            {"audit/uses_sdk.py": "from cmp.client import ConsentClient\n"},
            "The platform does not import the SDK",
        ),
        (
            {"cmp_common/wire/orm.py": "from django.db import models\n"},
            "The wire formats need only the standard library and cryptography BROKEN",
        ),
        (
            {"consents/webhooks/back.py": "from consents import tasks\n"},
            "Inside consents: commands -> pages -> tasks",
        ),
        (
            {"api/me/peek.py": "from api.organizations import views\n"},
            "Inside api: each audience on its own, above the shared parts BROKEN",
        ),
        (
            {
                "audit/pair_one.py": "from audit import pair_two\n",
                "audit/pair_two.py": "def later():\n    from audit import pair_one\n",
            },
            "No import cycles between the modules of an app, at any depth BROKEN",
        ),
    ],
)
def test_a_new_import_against_the_layers_fails_the_check(tree, modules, broken):
    for module, source in modules.items():
        (tree / module).write_text(source)
    try:
        result = _lint(tree)
    finally:
        for module in modules:
            (tree / module).unlink()
    assert result.returncode != 0, result.stdout
    assert broken in result.stdout, result.stdout

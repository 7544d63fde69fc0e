"""`make run`: prepare the database and run web, Celery worker and beat together.

Runs on the embedded default (SQLite, filesystem broker) unless DATABASE_URL,
REDIS_URL or CELERY_BROKER_URL say otherwise. Ctrl-C stops all three.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def _start(name: str, *args: str) -> subprocess.Popen:
    print(f"starting {name}: {' '.join(args)}", flush=True)
    return subprocess.Popen([sys.executable, *args], cwd=ROOT)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
    port = os.environ.get("PORT", "8000")
    var = Path(os.environ.get("CMP_VAR_DIR", ROOT / "var"))
    _manage("migrate", "--no-input", "-v", "0")
    demo = json.loads(_manage("seed_demo", capture=True))
    processes = [
        _start(
            "worker",
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            # Beat wakes the relay and the sealer every second: INFO would bury
            # the page's address under their lines.
            "--loglevel=WARNING",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
        ),
        _start(
            "beat",
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={var / 'celerybeat-schedule'}",
        ),
        _start("web", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"),
    ]
    logins = ", ".join(f"{x['username']} / {x['password']}" for x in demo["logins"])
    print(
        f"\n  CMP is running at http://127.0.0.1:{port}/"
        f"\n  Your consents: http://127.0.0.1:{port}/consents/ (sign in as a person)"
        f"\n  Admin:         http://127.0.0.1:{port}/admin/"
        f"\n  Demo logins:   {logins}"
        f"\n  Officer's second factor (the admin and /audit/ ask for its code): add"
        f"\n    {demo['officer_otp']['otpauth_uri']}"
        f"\n    to an authenticator app{_recovery(demo)}"
        f"\n  API clients:   {var / 'demo-clients.json'}"
        f"\n  Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return max((process.returncode or 0) for process in processes)


def _recovery(demo: dict) -> str:
    codes = demo["officer_otp"].get("recovery_codes")
    return (
        f"; or sign in once with a recovery code: {', '.join(codes)}" if codes else ""
    )


if __name__ == "__main__":
    sys.exit(main())

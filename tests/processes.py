"""Helpers for tests that start processes of their own."""

import subprocess


def stop_process(process: subprocess.Popen, *, timeout: float = 15.0) -> None:
    """End a process this test started, by its pid: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)

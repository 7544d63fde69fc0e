"""What the benchmarks report about the machine they ran on."""

import os
import platform
from pathlib import Path


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_seconds_by_process(markers: dict[str, str]) -> dict[int, tuple[str, float]]:
    """pid → (kind, CPU seconds used so far) of live processes of the given kinds:
    the first marker found in a process's command line names its kind (Linux
    /proc; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, UnicodeDecodeError):
            continue  # gone, or not ours to read
        kind = next((k for k, marker in markers.items() if marker in command), None)
        if kind is not None:
            found[int(entry.name)] = (kind, (int(fields[11]) + int(fields[12])) / tick)
    return found


def cpu_spent(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds per kind between two snapshots, counted per process: one that
    started in between counts whole; one that ended in between (a database
    connection closed after its maximum age, say) is missed."""
    spent: dict[str, float] = {}
    for pid, (kind, seconds) in after.items():
        earlier = before.get(pid)
        start = earlier[1] if earlier is not None and earlier[0] == kind else 0.0
        spent[kind] = spent.get(kind, 0.0) + max(0.0, seconds - start)
    return spent

"""The check's own metrics: every answer by outcome and reason, and its latency.

Counted in the process that answered; `/metrics` adds up every process's when
`PROMETHEUS_MULTIPROC_DIR` is set (gunicorn with several workers).
"""

from prometheus_client import Counter, Histogram

CHECKS = Counter(
    "cmp_checks", "Checks answered, by outcome and reason", ["outcome", "reason"]
)
CHECK_SECONDS = Histogram(
    "cmp_check_seconds",
    "Time to decide, audit and sign one check",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

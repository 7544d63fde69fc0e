"""Benchmark: a check through the SDK against the plain HTTP call, in one run.

The platform is served as in `bench/check_throughput.py` (gunicorn, production
settings, PostgreSQL, Redis; a 10,000-consent scratch dataset). One client
process then sends the same check bodies, one at a time, alternating in blocks
between

  (a) plain   a `requests.Session` POST to /api/v1/checks/ with a bearer token,
              JSON decoded: the least any client must do;
  (b) sdk     `ConsentClient.check(...)`: token management, retries, typed result.

Both reuse their connection. It prints p50, mean and p99 per call for each and the
SDK's overhead on p50 and mean. Target: under 10 %.

    .venv/bin/python bench/sdk_overhead.py [--calls 3000] [--block 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from bench import check_servers as served
from bench import harness
from bench.check_probes import build_probes
from bench.machine import cpu_count
from bench.scratch import scratch_database
from cmp.client import ConsentClient


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--calls", type=int, default=3000, help="per client (3000)")
    parser.add_argument("--block", type=int, default=100, help="alternation block")
    parser.add_argument("--consents", type=int, default=10_000)
    return harness.parse_args(parser, argv)


def summary(name: str, seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    figures = {
        "p50": statistics.median(ordered) * 1000,
        "mean": statistics.fmean(ordered) * 1000,
        "p99": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
    }
    print(
        f"  {name:6} p50 {figures['p50']:6.2f} ms   mean {figures['mean']:6.2f} ms   "
        f"p99 {figures['p99']:6.2f} ms   ({len(seconds)} calls)"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(harness.machine_line())
    with (
        tempfile.TemporaryDirectory(prefix="cmp-bench-sdk-") as tmp,
        scratch_database(args.database_url, f"cmp_bench_sdk_{os.getpid()}") as db_url,
    ):
        env = served.server_env(db_url)
        dataset, _ = served.build_dataset(env, args.consents, Path(tmp))
        config = served.ServerConfig(
            workers=2 * cpu_count() + 1, worker_class="sync", threads=1
        )
        with served.gunicorn(env, config, Path(tmp)) as base_url:
            every = build_probes(dataset, args.calls, seed=7)
            busiest = Counter(p.caller for p in every).most_common(1)[0][0]
            caller = next(c for c in dataset.clients if c.code == busiest)
            probes = [p for p in every if p.caller == busiest]
            sdk = ConsentClient(
                base_url,
                caller.client_id,
                caller.client_secret,
                scopes="consents:check",
            )
            plain = harness.local_session()
            plain.headers["Authorization"] = f"Bearer {sdk.access_token()}"
            url = base_url + served.CHECK_PATH

            def plain_call(body: dict) -> None:
                response = plain.post(url, json=body, timeout=10)
                response.raise_for_status()
                response.json()

            def sdk_call(body: dict) -> None:
                sdk.check(**body)

            times: dict[str, list[float]] = {"plain": [], "sdk": []}
            for body in (p.body for p in probes[:50]):  # warm both connections
                plain_call(body)
                sdk_call(body)
            calls = [probes[i % len(probes)].body for i in range(args.calls)]
            for start in range(0, args.calls, args.block):
                block = calls[start : start + args.block]
                for name, call in (("plain", plain_call), ("sdk", sdk_call)):
                    for body in block:
                        began = time.perf_counter()
                        call(body)
                        times[name].append(time.perf_counter() - began)
    print(f"checks as {caller.code}, {args.consents:,} consents, one client process")
    plain_figures = summary("plain", times["plain"])
    sdk_figures = summary("sdk", times["sdk"])
    for key in ("p50", "mean"):
        overhead = sdk_figures[key] / plain_figures[key] - 1
        verdict = harness.verdict(overhead < 0.10)
        print(f"  SDK overhead on {key}: {overhead:+.1%}  (target < 10 %: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

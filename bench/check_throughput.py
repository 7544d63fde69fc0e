"""Benchmark: `POST /api/v1/checks/` under gunicorn, against a bare Django view.

What it measures. Unless `--database-url` names an existing server, it starts a
PostgreSQL server of its own sized for the data (`bench/own_postgres.py`:
`shared_buffers` a quarter of the memory, all else at the defaults). For each
dataset size (`--consents`, default 10,000 and 1,000,000) the script makes a
scratch database on it, fills it
(`bench/check_data.py`: catalog, organizations with real OAuth clients and a few
consents through the services, the rest in bulk SQL, then VACUUM ANALYZE) and
starts gunicorn on 127.0.0.1 with `bench.settings_bench`: production settings
(DEBUG off, PostgreSQL, Redis database 14, no access log) plus `/bench/bare/`,
a view that returns `{"ok": true}` without touching the database, and (unless
`--background none`) a Celery worker and beat as in production, which seal the
audit events that checks stage. wrk (`--connections`, `--duration` seconds a
run, after a `WARMUP_SECONDS` warm-up of each that is not counted) then measures,
on the same server and settings, in `--rounds` alternating pairs:

  (a) bare   GET /bench/bare/
  (b) check  POST /api/v1/checks/ with real bearer tokens of three organizations
             over `--bodies` bodies across the whole dataset: 80 % allowed
             (recipients and a holder) and 20 % denied (revoked, paused, expired,
             unknown subject, scope not granted); see `bench/check_probes.py`.

Before measuring, a sample of the bodies is sent once and every answer must be
the expected `allowed`/`reason`; wrk's non-2xx count must be 0. The report gives
requests/s, p50 and p99 for (a) and (b) in every round, the ratios (b)/(a) of
each, and judges the round with the median throughput ratio against the targets
(throughput >= 0.4x, p99 <= 3x) and, over two or more sizes, the change of the
check's p50 and p99 from the smallest to the largest (target: within 20 %).
It also says how many staged audit events were left when the check run ended
and how long the worker took to seal them. Targets print PASS or FAIL; the exit
status is 0 either way and non-zero only when something broke (2: wrk is
missing).

Run from the project root, with wrk installed (`apt-get install -y wrk`):

    .venv/bin/python bench/check_throughput.py [--consents 10000,1000000]
        [--duration 20] [--rounds 5] [--connections 16] [--workers N]
        [--worker-class sync|gthread] [--threads 4] [--wrk-threads N]
        [--background celery|none] [--bodies 5000] [--seed 2026]
        [--database-url postgres://postgres@127.0.0.1:5432 | --shared-buffers 6GB]

sync is the default worker class, as in the README's production command. On a
2-vCPU machine it gave the bare view the best figures: about the same requests/s
as gthread (5 workers of 4 or 1 threads), with a p99 of 13-14 ms in every run,
where gthread's bare p99 ranged from 20 to 200 ms from run to run.

The parts: `bench/check_servers.py` starts the processes, `bench/check_probes.py`
makes and verifies the bodies, `bench/check_wrk.py` runs wrk and accounts for
the CPU and PostgreSQL blocks, `bench/check_report.py` prints the report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from bench import check_probes as probing
from bench import check_report as report
from bench import check_servers as servers
from bench import check_wrk as wrk
from bench import harness, own_postgres
from bench.machine import cpu_count
from bench.scratch import scratch_database


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1000:
        raise argparse.ArgumentTypeError("sizes of at least 1000, comma-separated")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument(
        "--consents",
        type=parse_sizes,
        default=[10_000, 1_000_000],
        help="dataset sizes, comma-separated (default 10000,1000000)",
    )
    parser.add_argument(
        "--duration", type=int, default=20, help="seconds per measured run (20)"
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections (16)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating bare/check rounds per size; the median round is "
        "reported (default 5)",
    )
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=min(cpu_count(), 4),
        help="wrk threads (default min(nproc, 4))",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * cpu_count() + 1,
        help="gunicorn workers (default 2*nproc+1)",
    )
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="gunicorn worker class for both views (default sync)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gthread worker (default 4; ignored for sync)",
    )
    parser.add_argument(
        "--background",
        choices=("celery", "none"),
        default="celery",
        help="run a Celery worker and beat during the runs, as production does "
        "(they seal staged audit events); default celery",
    )
    parser.add_argument(
        "--bodies", type=int, default=5000, help="distinct check bodies (5000)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="body sampling seed")
    args = harness.parse_args(parser, argv, own_server=True)
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads must not exceed --connections")
    if min(args.duration, args.workers, args.threads, args.rounds) < 1:
        parser.error("--duration, --workers, --threads and --rounds must be positive")
    return args


def run_size(
    consents: int, args: argparse.Namespace, load: wrk.Load, workdir: Path
) -> report.SizeResult:
    print(f"== {consents:,} consents: generating data")
    sys.stdout.flush()
    config = servers.ServerConfig.from_args(args)
    sealing = args.background == "celery"
    scratch_name = f"cmp_bench_check_{os.getpid()}_{consents}"
    with scratch_database(args.database_url, scratch_name) as database_url:
        env = servers.server_env(database_url)
        dataset, data_seconds = servers.build_dataset(env, consents, workdir)
        print(f"   data ready in {data_seconds:.1f} s; starting gunicorn")
        try:
            with (
                servers.background(env, workdir, sealing),
                servers.gunicorn(env, config, workdir) as base_url,
            ):
                tokens = probing.fetch_tokens(base_url, dataset.clients)
                probes = probing.build_probes(dataset, args.bodies, args.seed)
                probing.verify_bare(base_url)
                verified = probing.verify_probes(base_url, tokens, probes)
                requests_file = workdir / f"requests-{consents}.lua"
                probing.write_lua_requests(requests_file, probes, tokens)
                wrk_env = {**os.environ, "CMP_BENCH_REQUESTS": str(requests_file)}
                print(f"   {verified} sample checks answered as expected; measuring")
                sys.stdout.flush()
                rounds = wrk.measure_rounds(
                    load, base_url, args.duration, args.rounds, wrk_env, database_url
                )
                if sealing:
                    backlog = servers.wait_for_seal(database_url)
                else:
                    chained, staged = servers.audit_counts(database_url)
                    backlog = servers.AuditBacklog(chained, staged, None)
        finally:
            servers.clean_redis(env)
    mix = Counter(p.kind for p in probes)
    return report.SizeResult(
        consents, dataset, data_seconds, verified, mix, rounds, backlog
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = wrk.Load(wrk.require_wrk(), args.connections, args.wrk_threads)
    results = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="cmp-bench-check-") as tmp,
            harness.database_server(args, Path(tmp)) as (server_url, server),
        ):
            args.database_url = server_url  # where run_size makes its databases
            report.print_machine(args, load, server)
            for consents in sorted(args.consents):
                results.append(run_size(consents, args, load, Path(tmp)))
                report.print_size(results[-1])
    except (
        harness.BenchError,
        own_postgres.PostgresStartError,
        subprocess.SubprocessError,
        requests.RequestException,
    ) as e:
        print(f"benchmark broke: {e}", file=sys.stderr)
        return 1
    report.print_summary(results)
    failed = [r.consents for r in results if r.non_2xx]
    if failed:
        print(
            f"non-2xx responses at {failed} consents: figures invalid", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

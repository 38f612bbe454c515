"""Load test: gunicorn + PostgreSQL with the 1,000,000-asset demo, driven by locust on loopback.

Usage (after `python bench/load/prepare.py --url URL --out FIXTURE`):
    python bench/load_test.py --url postgresql+psycopg://registry:registry@127.0.0.1:5432/registry_load \
        --fixture /tmp/registry-load/fixture.json --users 10 50 100 --duration 60
    # fast form (a smoke run, seconds): --users 5 --duration 10

For each client count it runs the mixed workload (bench/load/locustfile.py: list, filter, detail,
edit, export, notice PDF) and, as the in-run baseline, the same clients asking /healthz only.
Prints throughput, p50/p95/p99 and the error rate, overall and per request kind, as Markdown.
Everything listens on 127.0.0.1; every run is bounded by --duration.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import Gunicorn, server_env  # noqa: E402

LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"


def run_locust(base: str, fixture: str, user_class: str, users: int, duration: int, out: Path) -> list[dict]:
    """Run one bounded headless locust run; return its per-name stats rows (last one: Aggregated)."""
    prefix = out / f"{user_class}-{users}"
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
           "-u", str(users), "-r", str(max(1, users // 2)), "--run-time", f"{duration}s", "--stop-timeout", "10",
           "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", user_class]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, LOAD_FIXTURE=fixture), capture_output=True,
                          text=True, timeout=duration + 120)
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise SystemExit(f"locust failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    with open(stats, newline="") as fh:
        return list(csv.DictReader(fh))


def _row(label: str, r: dict, seconds: int) -> str:
    count, failures = int(r["Request Count"]), int(r["Failure Count"])
    rate = float(r["Requests/s"])
    err = 100 * failures / count if count else 0
    return (f"| {label} | {count:,} | {rate:.1f} | {r['50%']} | {r['95%']} | {r['99%']} | {float(r['Max Response Time']):.0f} "
            f"| {failures} ({err:.2f}%) |")


def main() -> None:
    """Start gunicorn, run every client count, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="PostgreSQL URL prepared by bench/load/prepare.py")
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--files", default="/tmp/registry-load/files", help="same as prepare.py --files")
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--duration", type=int, default=60, help="seconds per run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="registry-load-"))
    env = server_env(args.url, Path(args.files), REGISTRY_RATELIMIT_ENABLED="0")
    server = Gunicorn(env, out / "gunicorn.log", workers=args.workers, threads=args.threads, timeout=120)
    lines = [f"gunicorn {args.workers} workers x {args.threads} threads, {args.duration} s per run, "
             f"think time 0.5-1.5 s, load average before: {os.getloadavg()[0]:.1f}", "",
             "| clients | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |", "|---|---|---|---|---|---|---|---|"]
    details = []
    try:
        for users in args.users:
            base_rows = run_locust(server.base, args.fixture, "Baseline", users, max(10, args.duration // 3), out)
            rows = run_locust(server.base, args.fixture, "Staff", users, args.duration, out)
            lines.append(_row(f"{users} (mixed)", rows[-1], args.duration))
            lines.append(_row(f"{users} (baseline /healthz)", base_rows[-1], args.duration))
            details.append((users, rows[:-1]))
            time.sleep(2)
    finally:
        server.stop()
    for users, rows in details:
        lines += ["", f"Per request kind at {users} clients:", "",
                  "| request | count | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [_row(r["Name"], r, args.duration) for r in rows if int(r["Request Count"])]
    log = out / "gunicorn.log"
    server_errors = len(re.findall(r'HTTP/1\.[01]" 5\d\d ', log.read_text()))
    lines += ["", f"5xx answers in the gunicorn access log: {server_errors} (log: {log})"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()

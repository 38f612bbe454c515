"""Nightly job benchmark: the whole `nightly-evaluation` run (evaluate + snapshot + diff) at scale.

    python bench/nightly_bench.py --url sqlite:////tmp/nightly-1m.db --count 1000000
    python bench/nightly_bench.py --url postgresql+psycopg://registry:registry@127.0.0.1:5432/<db> --count 1000000

Seeds the demo inventory once (reused when the count matches) and loads the rule packs, then
runs, each in a fresh process so peak RSS is its own:
  night1   the nightly job for day 1 through `run_job` (lock, claim, evaluate, snapshot, commit)
  night2   the job for day 2: the same inventory, so the diff is almost all "still open"
Each run reports the evaluation time (the rules engine's own part, the baseline) and the
snapshot time (copy findings, count, hash, diff, insert) measured inside the same run.
`--source tests.fake_source:collect` replaces the rules engine (when it is not available).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

DAY1 = date(2026, 6, 30)
SOURCE = "registry.snapshots.source:from_rules_engine"


def _app(url: str, source: str):
    from registry import create_app
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "SNAPSHOT_SOURCE": source})


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(url: str, count: int, source: str) -> None:
    """Migrate, seed the demo inventory when absent, load the rule packs, forget earlier runs."""
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from registry.assets.models import Asset
    from registry.extensions import db
    app = _app(url, source)
    with app.app_context():
        upgrade()
        from registry.orgs.reference import ensure_reference_data
        ensure_reference_data()
        have = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
        if have != count:
            if have:
                raise SystemExit(f"database holds {have} assets, not {count}: use a fresh database")
            from registry.demo.inventory import seed_demo
            started = time.perf_counter()
            seed_demo(count)
            print(f"seeded {count} assets in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        if source == SOURCE:
            from registry.rules.versions import seed_packs
            seed_packs()
        # Start from no snapshots so day 1 is a first snapshot and day 2 diffs against it.
        tables = ["snapshot_items", "snapshots", "job_runs"]
        if source == SOURCE:
            tables = ["findings", "evaluations"] + tables
        for table in tables:
            db.session.execute(sa.text(f"DELETE FROM {table}"))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()


def phase(url: str, source: str, day: int) -> dict:
    """Run the nightly job for DAY1 + day, timing the evaluation inside it."""
    from registry.jobs.models import JobRun
    from registry.jobs.services import run_job
    from registry.extensions import db
    from registry.snapshots import services
    app = _app(url, source)
    timing = {}
    real_load = services.load_source

    def timed_load():
        fn = real_load()

        def wrapped(as_of):
            started = time.perf_counter()
            result = fn(as_of)
            timing["evaluate"] = time.perf_counter() - started
            return result
        return wrapped

    services.load_source = timed_load
    with app.app_context():
        period = (DAY1 + timedelta(days=day)).isoformat()
        started = time.perf_counter()
        outcome = run_job("nightly-evaluation", period, trigger="cli")
        total = time.perf_counter() - started
        run = db.session.get(JobRun, outcome.run_id)
        if outcome.status != "succeeded":
            raise SystemExit(f"run failed: {outcome.message}")
        return {"seconds": total, "evaluate": timing["evaluate"], "snapshot": total - timing["evaluate"],
                "counts": run.counts, "rss_mb": _rss()}


def _run(url: str, source: str, day: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--url", url, "--source", source, "--phase", str(day)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--source", default=SOURCE)
    parser.add_argument("--phase", type=int)
    args = parser.parse_args()
    if args.phase is not None:
        print(json.dumps(phase(args.url, args.source, args.phase)))
        return
    prepare(args.url, args.count, args.source)
    dialect = args.url.split(":", 1)[0].split("+", 1)[0]
    for day in (0, 1):
        r = _run(args.url, args.source, day)
        c = r["counts"]
        print(f"{dialect:10} {args.count:>9,} assets  night{day + 1}: total {r['seconds']:6.1f} s  "
              f"evaluate {r['evaluate']:6.1f} s  snapshot {r['snapshot']:6.1f} s "
              f"({r['snapshot'] / max(r['evaluate'], 1e-3):.2f}x evaluate)  items {c['items']:,}  hits {c['hits']:,}  "
              f"new {c['new']:,}  still open {c['still_open']:,}  resolved {c['resolved']:,}  "
              f"peak RSS {r['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()

"""Benchmark: build a renewal plan over N flagged assets (default 100,000).

Usage: python bench/plan_bench.py [--count 100000] [--url sqlite:////tmp/plan_bench.db]
The database is wiped and migrated. Assets come from the demo seed; one finding per asset
is bulk-inserted into one evaluation (random outcome, overdue months and age figures).
Baseline, measured in the same run: the raw SQL read of the candidate rows the planner uses.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sqlalchemy as sa  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402


def _reset(app) -> None:
    from tests.conftest import _reset_schema
    _reset_schema(app)


def _timed(label: str, fn, results: dict):
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    results[label] = time.perf_counter() - started
    spent = time.process_time() - cpu
    print(f"{label:<52} wall {results[label]:7.2f} s   this process CPU {spent:7.2f} s", flush=True)
    return value


def _findings(count: int) -> int:
    """Insert one rule, one evaluation and one hit finding per asset; return the evaluation id."""
    from registry.assets.models import Asset
    from registry.bulk import bulk_insert
    from registry.enums import RuleOutcome
    from registry.rules.models import Evaluation, Finding, Rule
    as_of = date(2026, 6, 30)
    rule = Rule(code="BENCH", version=1, category="official_car", title="bench", citation="bench", kind="age_over",
                params={"years": 8}, outcome=RuleOutcome.MANDATORY_RENEWAL)
    from registry.db_types import utcnow
    ev = Evaluation(as_of=as_of, asset_count=count, finding_count=count, finished_at=utcnow())
    db.session.add_all([rule, ev])
    db.session.flush()
    rng = random.Random(7)
    outcomes = list(RuleOutcome)
    ids = db.session.execute(sa.select(Asset.id)).scalars().all()
    rows = []
    for asset_id in ids:
        overdue = rng.random() < 0.4
        deadline = date(2026 - rng.randint(0, 2), rng.randint(1, 12), 1) if overdue else None
        rows.append((ev.id, asset_id, rule.id, "BENCH", 1, rng.choice(outcomes).value, "hit", "基准测试发现",
                     deadline, overdue, as_of,
                     {"age_start_age_months": rng.randint(96, 240)}))
    cols = ("evaluation_id", "asset_id", "rule_id", "rule_code", "rule_version", "outcome", "result", "explanation",
            "deadline", "overdue", "as_of", "figures")
    if db.session.get_bind().dialect.name == "sqlite":
        import json
        rows = [r[:-1] + (json.dumps(r[-1]),) for r in rows]
    else:
        from psycopg.types.json import Json
        rows = [r[:-1] + (Json(r[-1]),) for r in rows]
    bulk_insert(Finding.__table__, cols, rows)
    db.session.commit()
    return ev.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", "sqlite:////tmp/plan_bench.db"))
    args = parser.parse_args()
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "bench", "TESTING": True})
    results: dict[str, float] = {}
    print(f"database: {args.url.split('@')[-1]}  assets: {args.count:,}  load average: {os.getloadavg()[0]:.1f}")
    _reset(app)
    with app.app_context():
        from registry.demo.inventory import seed_demo
        from registry.planning import candidates, services
        from registry.planning.builder import Settings, build
        from registry.planning.reference import ensure_planning_reference
        _timed("seed demo assets (setup)", lambda: seed_demo(args.count), results)
        ensure_planning_reference()
        ev_id = _timed("insert findings (setup)", lambda: _findings(args.count), results)
        sql = str(candidates.finding_rows(ev_id).compile(db.engine, compile_kwargs={"literal_binds": True}))
        rows = _timed("BASELINE raw SQL read of candidate rows",
                      lambda: db.session.execute(sa.text(sql)).all(), results)
        print(f"  rows read: {len(rows):,}")
        cands = _timed("adapter: findings -> Candidates (SQL + Python)",
                       lambda: candidates.load_candidates(ev_id), results)
        quotas = {(c, y): args.count // 12 for c in ("official_car", "farm_machine", "elevator", "pipe",
                                                    "construction_machine", "medical_device")
                  for y in (2025, 2026, 2027)}
        result = _timed("pure builder: sort + place", lambda: build(cands, Settings(years=[2025, 2026, 2027],
                                                                                      quotas=quotas,
                                                                                      budgets={2025: 10**10})),
                        results)
        print(f"  placed: {len(result.rows) - len(result.unplaced):,}  unplaced: {len(result.unplaced):,}")
        quota_form = {c: {str(y): n for (cc, y), n in quotas.items() if cc == c} for c, _ in quotas}
        plan = _timed("END TO END services.create_plan (read, build, insert)",
                      lambda: services.create_plan(year_from=2025, year_to=2027, quotas=quota_form,
                                                   budgets={"2025": 10**10}), results)
        _timed("rebuild the same plan", lambda: services.rebuild(plan.id), results)
        from registry.planning import workflow
        for step in ("submit", "approve"):
            workflow.transition(plan.id, step)
        _timed("lock (assets -> 已列入更新计划 + history)", lambda: workflow.transition(plan.id, "lock"), results)
        print(f"load average at end: {os.getloadavg()[0]:.1f} (2 cores shared with other work)")
        base = results["BASELINE raw SQL read of candidate rows"]
        total = results["END TO END services.create_plan (read, build, insert)"]
        print(f"ratio end-to-end / baseline read: {total / base:.1f}x")


if __name__ == "__main__":
    main()

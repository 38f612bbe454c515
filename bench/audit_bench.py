"""Audit log figures: append rate, verify, search (keyset vs OFFSET), export.

    REGISTRY_DATABASE_URL=... python bench/audit_bench.py --rows 100000
The database is rebuilt (migrations) first: never point this at real data.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sqlalchemy as sa  # noqa: E402

from registry import create_app  # noqa: E402
from registry.audit import services as audit  # noqa: E402
from registry.audit.models import AuditRecord  # noqa: E402
from registry.extensions import db  # noqa: E402

ACTIONS = ["login", "logout", "asset.update", "asset.create", "notice.print", "export", "import", "access.denied"]


def timed(label, fn, repeat=1):
    best = None
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t
        best = elapsed if best is None else min(best, elapsed)
    print(f"{label:<58} {best * 1000:10.1f} ms")
    return best, result


def bulk_load(rows: int) -> None:
    table = AuditRecord.__table__
    start = datetime.now(timezone.utc) - timedelta(days=400)
    prev = audit.GENESIS_HASH
    batch = []
    for i in range(1, rows + 1):
        rec = SimpleNamespace(id=i, at=start + timedelta(seconds=i * 30), user_id=i % 50 + 1,
                              username=f"user{i % 50}", ip="10.0.0.1", action=ACTIONS[i % len(ACTIONS)],
                              object_type="asset", object_id=str(i % 5000),
                              outcome="denied" if i % 97 == 0 else "success",
                              details='{"after": {"condition_grade": "fair"}, "before": {"condition_grade": "good"}}',
                              prev_hash=prev)
        rec.hash = audit.record_hash(rec)
        prev = rec.hash
        batch.append(vars(rec))
        if len(batch) == 10000:
            db.session.execute(table.insert(), batch)
            batch = []
    if batch:
        db.session.execute(table.insert(), batch)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("REGISTRY_DATABASE_URL", "sqlite:////tmp/audit-bench.db")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        from tests.conftest import _reset_schema
        db.session.remove()
    _reset_schema(app)
    with app.test_request_context("/"):
        from registry.audit.integrity import verify
        from registry.audit import search
        print(f"database: {db.engine.dialect.name}, rows: {args.rows:,}")
        timed(f"bulk load {args.rows:,} chained records", lambda: bulk_load(args.rows))

        def append_each(n=500):
            for i in range(n):
                audit.record("bench.append", object_id=i)
                db.session.commit()
        t, _ = timed("append 500 records, one transaction each", append_each)
        print(f"{'  -> per record':<58} {t / 500 * 1000:10.2f} ms")
        t, report = timed("verify whole chain", verify)
        assert report.ok, report.problems[:3]
        print(f"{'  -> per 100k records':<58} {t / report.checked * 100_000 * 1000:10.0f} ms")

        f_all = search.AuditFilter()
        timed("search page 1, no filter", lambda: search.search(f_all), repeat=3)
        timed("search page 1, username filter", lambda: search.search(search.AuditFilter(username="user7")), repeat=3)
        timed("search page 1, action + outcome filter",
              lambda: search.search(search.AuditFilter(action="login", outcome="denied")), repeat=3)
        day = (datetime.now() - timedelta(days=200)).date()
        timed("search page 1, one-day range", lambda: search.search(search.AuditFilter(start=day, end=day)), repeat=3)
        mid = args.rows // 2
        t_key, _ = timed(f"keyset page at depth {mid:,} (before=id)", lambda: search.search(f_all, before_id=mid),
                         repeat=3)

        def offset_page():
            return db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id.desc()).offset(args.rows - mid)
                                      .limit(50)).all()
        t_off, _ = timed("OFFSET page at the same depth (baseline)", offset_page, repeat=3)
        print(f"{'  -> keyset / OFFSET':<58} {t_key / t_off:10.3f}")

        class Actor:
            id, username = 1, "bench"
        timed("export .xlsx, username filter", lambda: search.export_xlsx(search.AuditFilter(username="user7"), Actor))
        timed("export .csv, username filter", lambda: search.export_csv(search.AuditFilter(username="user7"), Actor))
        t, (data, count) = timed("export .csv, capped at 100,000 rows",
                                 lambda: search.export_csv(search.AuditFilter(), Actor))
        print(f"{'  -> rows / size':<58} {count:>10,} / {len(data) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

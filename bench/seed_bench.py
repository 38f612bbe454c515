"""Time `seed-demo` against a raw bulk insert of the same number of narrow rows (the floor).

Usage: python bench/seed_bench.py [--count N] [--database-url URL]
Prints seconds for both and the ratio. Uses a scratch database that it empties first.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or "sqlite:///" + os.path.join(tempfile.mkdtemp(), "seed-bench.db")

    from registry.bulk import bulk_insert
    from registry.demo.inventory import seed_demo
    from registry.extensions import db
    from scratch import fresh_app

    app = fresh_app(url, reference_data=False)  # seed_demo adds the reference data itself
    with app.app_context():
        # Baseline: the same number of rows, three columns, through the same bulk path.
        floor = sa.Table("bench_floor", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("code", sa.String(40)), sa.Column("born", sa.Date))
        floor.create(db.engine)
        import datetime as dt
        start = time.perf_counter()
        bulk_insert(floor, ["id", "code", "born"],
                    ((i, f"XZ-{i:07d}", dt.date(2015, 1, 1)) for i in range(1, args.count + 1)))
        db.session.commit()
        floor_s = time.perf_counter() - start
        floor.drop(db.engine)

        start = time.perf_counter()
        seed_demo(args.count)
        seed_s = time.perf_counter() - start
        dialect = db.engine.dialect.name
    print(f"database: {dialect}  count: {args.count:,}")
    print(f"baseline bulk insert (3 columns): {floor_s:6.2f} s")
    print(f"seed-demo (assets + details + units): {seed_s:6.2f} s   ratio {seed_s / floor_s:4.1f}x")
    print(f"seed-demo rate: {args.count / seed_s:,.0f} assets/s")


if __name__ == "__main__":
    main()

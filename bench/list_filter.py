"""Benchmark: filtered keyset asset lists at scale, on SQLite and PostgreSQL.

Usage (scratch databases outside the repository):
    python bench/list_filter.py --url sqlite:////tmp/inv-bench/1m.db --count 1000000
    python bench/list_filter.py --url postgresql+psycopg://registry:registry@127.0.0.1:5432/DB --count 1000000
    # or grow a database seeded smaller earlier: copy its rows (new ids and codes) up to 1,000,000
    python bench/list_filter.py --url ... --count 100000 --grow-to 1000000

The database is migrated and seeded with `seed_demo(count)` when it holds no assets. Each scenario
runs `repeat` requests (varying the filter values) through the list service exactly as the web page
and the API call it: build filters, apply scoping, fetch one page of 50 ORM rows. A few scenarios are
also measured through the test client (login, full HTML render). Baseline, in the same run:
`SELECT id FROM assets WHERE id > ? ORDER BY id LIMIT 50`.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sqlalchemy as sa  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402

PASSWORD = "Bench-Passw0rd!"


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _grow(target: int) -> None:
    """Copy the seeded demo rows (`registry.demo.inventory.copy_demo_rows`, in SQL) until `target` assets exist.

    For a scratch database seeded smaller earlier; `seed_demo` itself copies its drawn rows above 50,000.
    """
    from registry.assets.models import Asset
    from registry.demo.inventory import copy_demo_rows
    have = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
    if have >= target:
        return
    started = time.perf_counter()
    per_category = dict(db.session.execute(sa.select(Asset.category, sa.func.count()).group_by(Asset.category)).all())
    copy_demo_rows(1, have, target, per_category)
    db.session.commit()
    print(f"grew the demo from {have:,} to {db.session.scalar(sa.select(sa.func.count()).select_from(Asset)):,} "
          f"assets by copying it, in {time.perf_counter() - started:.1f} s")


def _prepare(count: int, grow_to: int | None = None) -> None:
    from flask_migrate import upgrade
    from registry.demo.inventory import seed_demo
    from registry.assets.models import Asset
    from registry.orgs.reference import ensure_reference_data
    upgrade()
    ensure_reference_data()
    if db.session.scalar(sa.select(Asset.id).limit(1)) is None:
        started = time.perf_counter()
        seed_demo(count)
        print(f"seeded {count:,} assets in {time.perf_counter() - started:.1f} s")
    if grow_to:
        _grow(grow_to)
    db.session.execute(sa.text("ANALYZE"))  # planner statistics for the freshly loaded tables
    db.session.commit()


def _user(username: str, role: str, department: str | None):
    from registry.accounts.models import User
    from registry.accounts.passwords import hash_password
    from registry.enums import Role
    from registry.orgs.models import Department
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        dept = db.session.scalar(sa.select(Department).where(Department.code == department)) if department else None
        user = User(username=username, display_name=username, role=Role(role), department=dept,
                    password_hash=hash_password(PASSWORD), must_change_password=False)
        db.session.add(user)
        db.session.commit()
    return user


def _scenarios(rng: random.Random):
    from registry.orgs.reference import TOWNSHIPS
    from registry.enums import ConditionGrade, LifecycleStatus
    town = lambda: rng.choice(TOWNSHIPS)  # noqa: E731
    grade = lambda: rng.choice(ConditionGrade.values())  # noqa: E731
    return [
        ("elevator, no filter, page 1", "elevator", lambda: {}),
        ("elevator, township", "elevator", lambda: {"township": town()}),
        ("elevator, condition grade", "elevator", lambda: {"grade": grade()}),
        ("elevator, status 已报废 (rare)", "elevator", lambda: {"status": LifecycleStatus.SCRAPPED.value}),
        ("elevator, township + grade", "elevator", lambda: {"township": town(), "grade": grade()}),
        ("elevator, age >= 15 years", "elevator", lambda: {"age_min": str(rng.randint(12, 20))}),
        ("elevator, commissioning year", "elevator", lambda: {"year": str(rng.randint(2000, 2020))}),
        ("elevator, sort by commissioning date desc", "elevator", lambda: {"sort": "-commissioned_on"}),
        ("elevator, sort by code", "elevator", lambda: {"sort": "code"}),
        ("pipe, township + age range + status", "pipe",
         lambda: {"township": town(), "age_min": "10", "age_max": "30", "status": "in_use"}),
        ("official car, grade + age >= 8", "official_car", lambda: {"grade": "poor", "age_min": "8"}),
        ("farm machine, owner/user unit name", "farm_machine", lambda: {"unit": rng.choice(["合作社", "丰收", "惠农"])}),
        ("medical device, code prefix", "medical_device", lambda: {"q": f"XZ-YL-00{rng.randint(0, 99):02d}"}),
        ("elevator, name contains (common word)", "elevator", lambda: {"q": rng.choice(["乘客", "扶梯", "人行道"])}),
        ("elevator, name contains (no match: full scan)", "elevator", lambda: {"q": "不存在的名称"}),
    ] + _sparse_scenarios(rng, town, grade)


def _sparse_scenarios(rng: random.Random, town, grade):
    """Filters whose matches are few or none in the category (item 4): years, rare statuses, combinations."""
    year = lambda: str(rng.randint(2000, 2024))  # noqa: E731
    rare = lambda: rng.choice(["idle", "planned", "notified", "renewed", "scrapped"])  # noqa: E731
    return [
        ("sparse: medical device, commissioning year", "medical_device", lambda: {"year": year()}),
        ("sparse: official car, registration year", "official_car", lambda: {"year": year()}),
        ("sparse: farm machine, commissioning year", "farm_machine", lambda: {"year": year()}),
        ("sparse: medical device, grade + age >= N", "medical_device",
         lambda: {"grade": grade(), "age_min": str(rng.randint(5, 25))}),
        ("sparse: official car, grade + age >= N", "official_car",
         lambda: {"grade": grade(), "age_min": str(rng.randint(5, 25))}),
        ("sparse: construction machine, rare status", "construction_machine", lambda: {"status": rare()}),
        ("sparse: pipe, township + status + grade", "pipe",
         lambda: {"township": town(), "status": rare(), "grade": grade()}),
        ("sparse: elevator, year + grade", "elevator", lambda: {"year": year(), "grade": grade()}),
        ("sparse: medical device, township + year, by code", "medical_device",
         lambda: {"township": town(), "year": year(), "sort": "code"}),
        ("sparse: elevator, age <= N (new: few or none)", "elevator", lambda: {"age_max": str(rng.randint(0, 3))}),
        ("sparse: official car, age >= N (old: few or none)", "official_car",
         lambda: {"age_min": str(rng.randint(20, 40))}),
        ("sparse: farm machine, township + grade + age range", "farm_machine",
         lambda: {"township": town(), "grade": grade(), "age_min": "3", "age_max": str(rng.randint(4, 12))}),
        ("sparse: elevator, rare status, by commissioning date desc", "elevator",
         lambda: {"status": rare(), "sort": "-commissioned_on"}),
    ]


def _time(fn, repeat: int, setup=None) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(url: str, count: int, repeat: int, grow_to: int | None = None) -> None:
    """Seed if needed, then print p50/p95 per scenario and the baseline."""
    from registry.assets import queries
    from registry.assets.filters import parse_filters
    from registry.enums import Category
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    rng = random.Random(7)
    with app.app_context():
        _prepare(count, grow_to)
        total = db.session.scalar(sa.text("SELECT count(*) FROM assets"))
        max_id = db.session.scalar(sa.text("SELECT max(id) FROM assets"))
        taskforce = _user("bench-taskforce", "taskforce", None)
        maintainer = _user("bench-zjj", "maintainer", "zjj")
        load = os.getloadavg()[0]
        print(f"\n{db.engine.dialect.name}: {total:,} assets; {repeat} requests per scenario (ms); "
              f"load average {load:.1f} on {os.cpu_count()} cores")
        base_sql = sa.text("SELECT id FROM assets WHERE id > :a ORDER BY id LIMIT 50")
        baseline = _time(lambda: db.session.execute(base_sql, {"a": rng.randint(0, max_id)}).all(), repeat)
        rows = [("baseline: SELECT id ... WHERE id > ? ORDER BY id LIMIT 50", baseline)]

        def page(category, args, user):
            f = parse_filters(MultiDict(args), Category(category))
            return queries.list_assets(f, user, summary=True)  # what the web list calls

        def fresh():
            # A request starts with an empty identity map and its user already loaded (untimed).
            db.session.rollback()
            _ = taskforce.role, maintainer.role

        for label, category, make_args in _scenarios(rng):
            rows.append((label, _time(lambda: page(category, make_args(), taskforce), repeat, fresh)))
        rows.append(("pipe, scoped to 住建局 maintainer, township", _time(
            lambda: page("pipe", {"township": rng.choice(["龙湖镇", "新建路街道", "辛店镇"])}, maintainer),
            repeat, fresh)))
        rows.append(("API rows (ORM + category detail): elevator, grade", _time(
            lambda: queries.list_assets(parse_filters(MultiDict({"grade": "poor"}), Category.ELEVATOR),
                                        taskforce, listed=True), repeat, fresh)))

        # Walk 20 pages deep with the cursor: each page must cost the same as the first.
        def deep():
            f = parse_filters(MultiDict({"grade": "bad"}), Category.ELEVATOR)
            cursor = None
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                p = queries.list_assets(f, taskforce, cursor, summary=True)
                times.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
                cursor = p.next_cursor
            return times
        deep()
        rows.append(("elevator, grade 差, pages 1-20 via cursor", deep()))

    client = app.test_client()
    resp = client.post("/login", data={"username": "bench-taskforce", "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code
    for label, path in (("request floor (test client): /healthz", "/healthz"),
                        ("HTML page (test client): elevator, township", "/assets/c/elevator?township=龙湖镇"),
                        ("HTML page (test client): pipe, age + sort", "/assets/c/pipe?age_min=20&sort=-commissioned_on"),
                        ("JSON API (test client): elevator, grade", "/api/v1/assets?category=elevator&grade=poor")):
        def get(path=path):
            r = client.get(path)
            assert r.status_code == 200, r.status_code
        rows.append((label, _time(get, max(10, repeat // 2))))

    base_p50 = statistics.median(baseline)
    print(f"{'scenario':58} {'min':>8} {'p50':>8} {'p95':>8} {'p50/baseline':>13}")
    for label, values in rows:
        p50, p95 = statistics.median(values), _pct(values, 0.95)
        print(f"{label:58} {min(values):8.2f} {p50:8.2f} {p95:8.2f} {p50 / base_p50:12.1f}x")


def database_arguments(description: str, repeat: int) -> argparse.ArgumentParser:
    """The arguments every 1M-asset bench shares: the scratch database, how it is seeded and grown, repeats."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--url", required=True, help="database URL (a scratch database outside the repository)")
    parser.add_argument("--count", type=int, default=100_000, help="assets to seed when the database is empty")
    parser.add_argument("--grow-to", type=int, help="after seeding, copy the demo rows up to this many assets")
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


def main() -> None:
    """Parse arguments and run the benchmark."""
    args = database_arguments(__doc__, 40).parse_args()
    run(args.url, args.count, args.repeat, args.grow_to)


if __name__ == "__main__":
    main()

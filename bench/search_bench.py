"""Benchmark: keyword search (trigram indexes) against the plain LIKE query, in the same run.

Usage (scratch databases outside the repository):
    python bench/search_bench.py --url sqlite:////tmp/search-bench/100k.db --count 100000
    python bench/search_bench.py --url postgresql+psycopg://registry:registry@127.0.0.1:5432/DB --count 100000
    # 1M: seed 100,000, then copy those rows up to 1,000,000 (bench/list_filter.py's grow step)
    python bench/search_bench.py --url ... --count 100000 --grow-to 1000000

The database is migrated and seeded exactly as bench/list_filter.py does. Each request is what the
list page calls: parse the query string, scope to the user (城市更新专班, sees every department), fetch
one page of 50 light rows, from an empty identity map. Keywords of 1, 2, 3 and 4 characters are cut
from random assets' names, addresses, unit names and 小区 (so they match somewhere, often in another
category than the page's); the no-match keywords appear nowhere. The baseline is the same request
with the keyword as the plain LIKE query (`registry.assets.search.like_condition`, what the list used
before the indexes).
"""
from __future__ import annotations

import os
import random
import statistics
import sys
from unittest import mock

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sqlalchemy as sa  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from list_filter import _pct, _prepare, _time, _user, database_arguments  # noqa: E402
from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402

NO_MATCH = ["龘", "鲸", "鲸鲨", "火箭", "火箭筒", "鳄鱼湾", "量子计算", "飞碟基地"]


def _keywords(rng: random.Random, size: int, want: int) -> list[str]:
    """Cut `want` non-ASCII keywords of `size` characters from random assets' searched words."""
    from registry.assets.models import Asset, ElevatorDetail
    from registry.orgs.models import Unit
    max_id = db.session.scalar(sa.select(sa.func.max(Asset.id)))
    out: list[str] = []
    while len(out) < want:
        row = db.session.execute(
            sa.select(Asset.name, Asset.address, Unit.name, ElevatorDetail.residential_community)
            .join(Unit, Unit.id == Asset.owner_unit_id).outerjoin(ElevatorDetail, ElevatorDetail.asset_id == Asset.id)
            .where(Asset.id >= rng.randint(1, max_id)).order_by(Asset.id).limit(1)).first()
        texts = [t for t in row or () if t and len(t) >= size]
        if not texts:
            continue
        text = rng.choice(texts)
        start = rng.randrange(len(text) - size + 1)
        word = text[start:start + size]
        if not word.isascii() and word.strip() == word:
            out.append(word)
    return out


def run(url: str, count: int, repeat: int, grow_to: int | None = None, baseline_repeat: int | None = None) -> None:
    """Seed if needed, then print p50/p95 of the indexed search and of the LIKE query per keyword kind."""
    from registry.assets import filters, queries, search
    from registry.assets.filters import parse_filters
    from registry.assets.models import Asset
    from registry.enums import Category
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    rng = random.Random(19)
    baseline_repeat = baseline_repeat or repeat
    with app.app_context():
        _prepare(count, grow_to)
        total = db.session.scalar(sa.text("SELECT count(*) FROM assets"))
        user = _user("bench-taskforce", "taskforce", None)
        categories = [None, *Category]
        kinds = [(f"{n}-character keyword (matches)", _keywords(rng, n, max(repeat, baseline_repeat) + 1))
                 for n in (1, 2, 3, 4)]
        absent = [w for w in NO_MATCH
                  if db.session.scalar(sa.select(Asset.id).where(search.like_condition(w)).limit(1)) is None]
        kinds.append(("no match (1-4 characters)", absent))

        def page(q: str, category):
            f = parse_filters(MultiDict({"q": q}), category)
            return queries.list_assets(f, user, summary=True)

        def fresh():
            db.session.rollback()
            _ = user.role

        def measure(words: list[str], times: int) -> tuple[list[float], int]:
            picks = iter([(words[i % len(words)], categories[i % len(categories)]) for i in range(times + 1)])
            found = 0

            def one():
                nonlocal found
                q, category = next(picks)
                found += bool(page(q, category).items)
            return _time(one, times, fresh), found

        load = os.getloadavg()
        print(f"\n{db.engine.dialect.name}: {total:,} assets; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"on {os.cpu_count()} cores; one list page of 50 per request (ms); category: all, then each in turn")
        print(f"{'keyword':34} {'index p50':>10} {'index p95':>10} {'LIKE p50':>10} {'LIKE p95':>10} {'pages with rows':>16}")
        for label, words in kinds:
            new, found = measure(words, repeat)
            with mock.patch.object(filters, "text_condition", lambda q, *_: search.like_condition(q)):
                old, found_old = measure(words, baseline_repeat)
            print(f"{label:34} {statistics.median(new):10.1f} {_pct(new, 0.95):10.1f} "
                  f"{statistics.median(old):10.1f} {_pct(old, 0.95):10.1f} {found:>7}/{repeat} {found_old:>3}/{baseline_repeat}")
        load = os.getloadavg()
        print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> None:
    parser = database_arguments(__doc__, 70)
    parser.add_argument("--baseline-repeat", type=int, help="requests per kind for the LIKE query (default: --repeat)")
    args = parser.parse_args()
    run(args.url, args.count, args.repeat, args.grow_to, args.baseline_repeat)


if __name__ == "__main__":
    main()

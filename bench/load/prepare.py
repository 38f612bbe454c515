"""Prepare a database for the load test: 1,000,000 demo assets, load-test accounts, a few issued notices.

Usage: python bench/load/prepare.py --url postgresql+psycopg://registry:registry@127.0.0.1:5432/registry_load \
           --count 1000000 --out /tmp/registry-load/fixture.json

Idempotent: an already prepared database is only read. Writes a JSON fixture (passwords, token, ids,
filter values) that bench/load/locustfile.py reads.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))

import sqlalchemy as sa  # noqa: E402

from list_filter import PASSWORD, _prepare, _user  # noqa: E402
from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402

EDIT_IDS_PER_RUN = 20_000
NOTICES_WANTED = 40


def _notices(maintainer) -> list[int]:
    """Issue a few 住建局 notices (with their PDFs) once; return the ids of all notices."""
    from registry.assets.models import Asset
    from registry.enums import MANDATORY_OUTCOMES, Category
    from registry.notices.models import Notice
    from registry.rules.models import Finding
    from registry.accounts.services import create_user
    from registry.enums import Role
    from registry.notices.batch import render_missing
    from registry.notices.services import draft_notices, sign_notices
    from registry.notices.sources import mandatory_items
    from registry.rules.services import evaluate_inventory, latest_evaluation
    from registry.rules.versions import seed_packs
    ids = list(db.session.scalars(sa.select(Notice.id).order_by(Notice.id)))
    if ids:
        return ids
    def latest_evaluation_id(category):
        evaluation = latest_evaluation(category)
        return evaluation.id if evaluation is not None else None

    if latest_evaluation_id(Category.CONSTRUCTION_MACHINE) is None:
        seed_packs()
        started = time.perf_counter()
        evaluate_inventory(date.today())
        db.session.commit()
        print(f"evaluated the inventory in {time.perf_counter() - started:.1f} s")
    # A handful of assets only: all of 住建局's mandatory items at 1M would be ~100,000 notices.
    asset_ids = list(db.session.scalars(
        sa.select(Finding.asset_id).join(Asset, Asset.id == Finding.asset_id)
        .where(Finding.evaluation_id == latest_evaluation_id(Category.CONSTRUCTION_MACHINE),
               Finding.result == "hit", Finding.outcome.in_(MANDATORY_OUTCOMES),
               Asset.department_id == maintainer.department_id)
        .order_by(Finding.asset_id).limit(NOTICES_WANTED)))
    items = mandatory_items(maintainer.department, category=Category.CONSTRUCTION_MACHINE, asset_ids=asset_ids)
    started = time.perf_counter()
    head = create_user("load-head-zjj", "负责人", Role.DEPT_HEAD, maintainer.department.code)[0]
    notices = sign_notices([d.id for d in draft_notices(items, maintainer)], head, render=False)
    # Stored now, as the worker's render task would: the load test downloads stored files.
    render_missing(notices)
    print(f"issued {len(notices)} notices (with PDFs) in {time.perf_counter() - started:.1f} s")
    return [n.id for n in notices]


def main() -> None:
    """Prepare the database and write the fixture."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--files", default="/tmp/registry-load/files", help="notice/seal file directory")
    args = parser.parse_args()
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "load",
                      "NOTICE_FILES_DIR": os.path.join(args.files, "notices"),
                      "SEAL_FILES_DIR": os.path.join(args.files, "seals")})
    with app.app_context():
        from registry.accounts.models import ApiToken
        from registry.accounts.tokens import create_token
        from registry.assets.models import Asset
        from registry.enums import Category, LifecycleStatus
        from registry.orgs.reference import TOWNSHIPS
        from registry.orgs.models import Unit
        _prepare(args.count)  # seed_demo copies its drawn rows in SQL above 50,000: 1M in about a minute
        reader = _user("load_reader", "taskforce", None)
        maintainer = _user("load_maintainer", "maintainer", "zjj")
        db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == maintainer.id))
        _, token = create_token(maintainer, "load test")
        db.session.commit()
        notice_ids = _notices(maintainer)
        # Edits touch in-use elevators from the top of the id range, a disjoint slice per locust user.
        edit_ids = list(db.session.scalars(
            sa.select(Asset.id).where(Asset.category == Category.ELEVATOR, Asset.deleted_at.is_(None),
                                      Asset.status == LifecycleStatus.IN_USE)
            .order_by(Asset.id.desc()).limit(EDIT_IDS_PER_RUN)))
        max_id = db.session.scalar(sa.select(sa.func.max(Asset.id)))
        # Units with a few hundred assets: the size of an export a maintainer would really download.
        units = [[name, category.value] for name, category in db.session.execute(
            sa.select(Unit.name, Asset.category).join(Asset, Asset.owner_unit_id == Unit.id)
            .group_by(Unit.name, Asset.category).having(sa.func.count() <= 400)
            .order_by(sa.func.count().desc(), Unit.name).limit(50))]
        fixture = {"password": PASSWORD, "reader": reader.username, "maintainer": maintainer.username,
                   "token": token, "max_asset_id": max_id, "edit_ids": edit_ids, "notice_ids": notice_ids,
                   "townships": list(TOWNSHIPS), "export_units": units}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(fixture, fh, ensure_ascii=False)
    print(f"fixture: {args.out} ({len(edit_ids)} edit ids, {len(notice_ids)} notices, {len(units)} export units)")


if __name__ == "__main__":
    main()

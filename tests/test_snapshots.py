"""Snapshots: copied findings, counts, a reproducible hash, and the diff to the previous snapshot."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import Category, DiffStatus
from registry.extensions import db
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.services import build_snapshot
from tests.factories import make_asset

FAKE = "tests.fake_source:collect"


@pytest.fixture
def fake(app):
    """Feed snapshots from the fake source."""
    app.config["SNAPSHOT_SOURCE"] = FAKE
    return app


def _build(key, as_of):
    snap, created = build_snapshot(key, as_of)
    db.session.commit()
    return snap


def _items(snap):
    return {(i.asset_code, i.diff) for i in db.session.scalars(sa.select(SnapshotItem).where(
        SnapshotItem.snapshot_id == snap.id))}


def test_snapshot_copies_findings_counts_and_hash(fake, ctx):
    old = make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    make_asset(Category.PIPE, commissioned_on=date(2020, 1, 1))
    nodate = make_asset(Category.OFFICIAL_CAR, commissioned_on=None)
    snap = _build("t:1", date(2025, 6, 1))
    assert snap.item_count == 2
    assert snap.counts["hits"] == 1 and snap.counts["undeterminable"] == 1
    assert snap.counts["by_category"] == {"elevator": 1}
    assert snap.counts["by_department"] == {"zjj": 1}
    assert snap.counts["overdue"] == 1  # due 2021-01-01
    assert snap.rule_versions == {"FAKE-10": 1}
    assert len(snap.content_hash) == 64
    assert _items(snap) == {(old.code, DiffStatus.NEW), (nodate.code, DiffStatus.NEW)}
    # A later change to the asset does not reach the snapshot: the finding was copied.
    old.name = "改名后的电梯"
    db.session.commit()
    item = db.session.scalar(sa.select(SnapshotItem).where(SnapshotItem.asset_id == old.id))
    assert item.asset_name != "改名后的电梯"


def test_same_inputs_same_hash_and_any_change_changes_it(fake, ctx):
    a = make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    make_asset(Category.ELEVATOR, commissioned_on=date(2011, 3, 1))
    first = _build("t:1", date(2025, 6, 1))
    second = _build("t:2", date(2025, 6, 1))
    assert first.content_hash == second.content_hash
    a.commissioned_on = date(2012, 1, 1)
    db.session.commit()
    third = _build("t:3", date(2025, 6, 1))
    assert third.content_hash != first.content_hash
    assert _build("t:4", date(2025, 6, 2)).content_hash != third.content_hash  # the as-of date is an input


def test_build_is_idempotent_by_key(fake, ctx):
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    first = _build("nightly-evaluation:2025-06-01", date(2025, 6, 1))
    again, created = build_snapshot("nightly-evaluation:2025-06-01", date(2025, 6, 1))
    assert not created and again.id == first.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1


def test_diff_new_resolved_still_open_overdue(fake, ctx):
    stays = make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    leaves = make_asset(Category.ELEVATOR, commissioned_on=date(2010, 2, 1))
    make_asset(Category.ELEVATOR, commissioned_on=date(2015, 3, 1))  # turns 10 on 2025-03-01
    first = _build("t:1", date(2025, 1, 1))
    assert first.diff_counts == {"new": 2, "still_open": 0, "resolved": 0, "overdue": 2}
    leaves.deleted_at, leaves.deletion_reason = sa.func.now(), "已报废"
    db.session.commit()
    second = _build("t:2", date(2025, 6, 1))
    assert second.previous_id == first.id
    assert second.diff_counts == {"new": 1, "still_open": 1, "resolved": 1, "overdue": 1}
    diffs = {code: d for code, d in _items(second)}
    assert diffs[stays.code] is DiffStatus.STILL_OPEN
    assert diffs[leaves.code] is DiffStatus.RESOLVED
    # Resolved rows are carried for the diff but are not part of the list or its counts.
    assert second.item_count == 2 and second.counts["hits"] == 2


def test_snapshots_refuse_changes(fake, ctx):
    make_asset(Category.ELEVATOR, commissioned_on=date(2010, 1, 1))
    snap = _build("t:1", date(2025, 1, 1))
    snap.content_hash = "0" * 64
    with pytest.raises(RuntimeError, match="不可修改"):
        db.session.flush()
    db.session.rollback()
    snap.counts = {"hits": 0}
    with pytest.raises(RuntimeError, match="不可修改"):
        db.session.flush()
    db.session.rollback()
    item = db.session.scalar(sa.select(SnapshotItem))
    db.session.delete(item)
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_hash_is_the_same_on_every_database(fake, ctx):
    # Fixed content, so SQLite and PostgreSQL runs of this test must both give this exact hash.
    from tests.factories import make_unit
    owner = make_unit("固定产权单位", township="新建路街道")
    make_asset(Category.ELEVATOR, code="H-ELE-2", name="乙电梯", owner=owner, commissioned_on=date(2009, 2, 28))
    make_asset(Category.ELEVATOR, code="H-ELE-1", name="甲电梯", owner=owner, commissioned_on=date(2010, 1, 1))
    make_asset(Category.OFFICIAL_CAR, code="H-CAR-1", name="公务车", owner=owner, commissioned_on=None)
    snap = _build("t:1", date(2025, 6, 1))
    assert snap.content_hash == EXPECTED_HASH


EXPECTED_HASH = "1e58e661eb81e1fb04756a9e22b18e73cf24889055ab74fcb5fa45dff31f7620"

"""The one "latest evaluation" (registry.rules.services) and the one "latest snapshot" (registry.snapshots.queries)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from registry.enums import Category
from registry.extensions import db
from registry.planning import candidates
from registry.rules.models import Evaluation
from registry.rules.services import evaluation_on, latest_evaluation
from registry.snapshots.models import Snapshot
from registry.snapshots.queries import latest_snapshot, list_snapshots

DONE = datetime(2025, 7, 1, tzinfo=timezone.utc)
CAR, PIPE = Category.OFFICIAL_CAR, Category.PIPE


def _evaluation(as_of: date, category: Category | None = None, finished: bool = True) -> Evaluation:
    ev = Evaluation(as_of=as_of, category=category, finished_at=DONE if finished else None)
    db.session.add(ev)
    db.session.flush()
    return ev


@pytest.fixture
def evaluations(ctx):
    """Whole-inventory runs on two dates (the later date run first), category runs, and an unfinished run."""
    later = _evaluation(date(2025, 6, 1))
    earlier = _evaluation(date(2025, 5, 1))
    redo = _evaluation(date(2025, 5, 1))  # same date, run after `earlier`
    car = _evaluation(date(2025, 6, 1), CAR)  # same date as `later`, run after it
    pipe_old = _evaluation(date(2025, 4, 1), PIPE)
    _evaluation(date(2025, 7, 1), finished=False)  # still running (or died): never "the latest"
    _evaluation(date(2025, 7, 1), CAR, finished=False)
    db.session.commit()
    return {"later": later, "earlier": earlier, "redo": redo, "car": car, "pipe_old": pipe_old}


def test_latest_evaluation_orders_by_date_then_run_and_skips_unfinished(evaluations):
    e = evaluations
    # A run of a later date wins over a run made later for an earlier date.
    assert latest_evaluation() is e["later"]
    # On one date, the later run wins.
    assert latest_evaluation(as_of=date(2025, 5, 31)) is e["redo"]
    assert latest_evaluation(as_of=date(2025, 4, 30)) is None  # only a category run is that old


def test_whole_inventory_callers_never_get_a_category_run(evaluations):
    e = evaluations
    # The car run is newer (same date, later id) but covers one category: plans never see it.
    assert latest_evaluation() is e["later"]
    assert candidates.latest_evaluation() == (e["later"].id, date(2025, 6, 1))
    # A caller asking for cars gets the newer car run; one asking for pipes, the newest covering pipes.
    assert latest_evaluation(CAR) is e["car"]
    assert latest_evaluation(PIPE) is e["later"]
    assert latest_evaluation(PIPE, as_of=date(2025, 4, 15)) is e["pipe_old"]
    assert latest_evaluation(Category.ELEVATOR, as_of=date(2025, 4, 15)) is None


def test_plans_wait_for_a_whole_inventory_run(ctx):
    _evaluation(date(2025, 6, 1), CAR)
    db.session.commit()
    assert latest_evaluation() is None and candidates.latest_evaluation() is None


def test_evaluation_on_answers_only_for_that_very_day(evaluations):
    e = evaluations
    assert evaluation_on(date(2025, 7, 1)) is None  # that day's run never finished
    assert evaluation_on(date(2025, 6, 15)) is None  # nobody evaluated that day
    assert evaluation_on(date(2025, 6, 1)) is e["later"]
    assert evaluation_on(date(2025, 6, 1), CAR) is e["car"]
    assert evaluation_on(date(2025, 5, 1), CAR) is e["redo"]


def test_latest_snapshot_orders_by_date_then_id(ctx):
    def snap(key, as_of):
        s = Snapshot(key=key, as_of=as_of, rule_versions={}, counts={}, diff_counts={}, item_count=0,
                     content_hash="0" * 64)
        db.session.add(s)
        db.session.flush()
        return s

    june = snap("t:june", date(2025, 6, 1))
    may = snap("t:may", date(2025, 5, 1))
    may_redo = snap("t:may-redo", date(2025, 5, 1))
    db.session.commit()
    assert latest_snapshot() is june
    assert latest_snapshot(date(2025, 6, 1)) is june
    assert latest_snapshot(date(2025, 5, 31)) is may_redo
    assert latest_snapshot(date(2025, 4, 30)) is None
    assert list_snapshots() == [june, may_redo, may]

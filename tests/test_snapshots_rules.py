"""Snapshots on the real rules engine: rule versions recorded, findings copied, later edits change nothing."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import Category, DiffStatus
from registry.extensions import db
from registry.jobs.services import run_job
from registry.rules.models import Finding, Rule
from registry.rules.versions import save_new_version, seed_packs
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.services import content_hash
from tests.factories import make_asset

SOUND = {"emission_stage": "stage4", "wear_grade": "light", "safety_hazard": False, "no_repair_value": False,
         "main_part_damaged": False}


@pytest.fixture
def engine(app, ctx):
    """The shipped plan rule pack, and snapshots fed by the rules engine (the default source)."""
    assert app.config["SNAPSHOT_SOURCE"] == "registry.snapshots.source:from_rules_engine"
    seed_packs(("plan",))
    return app


def _items(snapshot_id):
    return db.session.scalars(sa.select(SnapshotItem).where(SnapshotItem.snapshot_id == snapshot_id)
                              .order_by(SnapshotItem.id)).all()


def test_nightly_snapshot_copies_engine_findings_and_survives_a_rule_edit(engine):
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2013, 9, 1), design_life_years=15,
                       detail=SOUND)
    assert run_job("nightly-evaluation", "2024-11-15").status == "succeeded"
    first = db.session.scalar(sa.select(Snapshot))
    assert first.evaluation_id is not None and first.rule_versions["XZ-8a"] == 1
    finding = db.session.scalar(sa.select(Finding).where(Finding.evaluation_id == first.evaluation_id))
    [item] = _items(first.id)
    assert (item.asset_id, item.rule_code, item.rule_version) == (asset.id, "XZ-8a", 1)
    assert item.explanation == finding.explanation and item.citation and item.diff is DiffStatus.NEW
    sealed = first.content_hash

    rule = db.session.scalar(sa.select(Rule).where(Rule.code == "XZ-8a", Rule.is_current.is_(True)))
    params = dict(rule.params)
    params["terms"] = ([dict(params["terms"][0], params=dict(params["terms"][0]["params"], years=12))]
                       + params["terms"][1:])
    save_new_version("XZ-8a", {"params": params})
    assert run_job("nightly-evaluation", "2024-11-16").status == "succeeded"
    second = db.session.scalar(sa.select(Snapshot).where(Snapshot.as_of == date(2024, 11, 16)))
    assert second.rule_versions["XZ-8a"] == 2 and second.previous_id == first.id
    assert second.diff_counts["resolved"] == 1 and second.counts["hits"] == 0
    # The first snapshot still says what it said: same rows, same version, same hash.
    db.session.expire_all()
    [kept] = _items(first.id)
    assert (kept.rule_version, kept.explanation) == (1, finding.explanation)
    assert content_hash(first.id, first.as_of, first.rule_versions) == sealed == first.content_hash

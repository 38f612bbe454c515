"""Build a snapshot: copy the findings, count them, hash them, and diff against the previous one."""
from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from datetime import date

import sqlalchemy as sa
from flask import current_app

from registry.audit import services as audit
from registry.enums import MANDATORY_OUTCOMES, Category, DiffStatus, RuleOutcome
from registry.extensions import db
from registry.orgs.models import Department
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.source import ROW_FIELDS, load_source

CHUNK = 5000


def identity(row) -> tuple:
    """Return what makes a finding 'the same' across snapshots: asset, rule and kind of result."""
    return (row["asset_id"], row["rule_code"], row["result"])


def _normalise(row: dict) -> dict:
    out = {f: row.get(f) for f in ROW_FIELDS}
    out["category"] = Category(out["category"])
    out["outcome"] = RuleOutcome(out["outcome"])
    out["rule_version"] = int(out["rule_version"])
    out["overdue"] = bool(out["overdue"])
    out["citation"] = out["citation"] or ""
    out["owner_unit"] = out["owner_unit"] or ""
    return out


def content_hash(as_of: date, rule_versions: dict, rows: list[dict], dept_codes: dict[int, str]) -> str:
    """Return the sha256 over a canonical serialization: same inputs, same hash, on any database."""
    digest = hashlib.sha256()
    header = {"as_of": as_of.isoformat(), "rules": sorted([str(k), int(v)] for k, v in rule_versions.items())}
    digest.update(json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
    for r in rows:  # already sorted by identity
        line = [r["asset_id"], r["asset_code"], r["asset_name"], r["category"].value, dept_codes[r["department_id"]],
                r["township"], r["owner_unit"], r["rule_code"], r["rule_version"], r["citation"], r["outcome"].value,
                r["result"], r["explanation"], r["deadline"].isoformat() if r["deadline"] else None, r["overdue"],
                r["figures"]]
        digest.update(b"\n" + json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                         default=str).encode())
    return digest.hexdigest()


def list_counts(rows: list[dict], dept_codes: dict[int, str]) -> dict:
    """Count the list: findings by result, and hits per category, department, township and outcome."""
    hits = [r for r in rows if r["result"] == "hit"]
    return {
        "findings": len(rows),
        "hits": len(hits),
        "undeterminable": len(rows) - len(hits),
        "assets": len({r["asset_id"] for r in hits}),
        "mandatory": sum(1 for r in hits if r["outcome"] in MANDATORY_OUTCOMES),
        "overdue": sum(1 for r in hits if r["overdue"]),
        "by_category": dict(sorted(Counter(r["category"].value for r in hits).items())),
        "by_department": dict(sorted(Counter(dept_codes[r["department_id"]] for r in hits).items())),
        "by_township": dict(sorted(Counter(r["township"] for r in hits).items())),
        "by_outcome": dict(sorted(Counter(r["outcome"].value for r in hits).items())),
    }


def previous_snapshot(as_of: date, exclude_id: int | None = None) -> Snapshot | None:
    """Return the latest snapshot as of `as_of` or earlier (the one a new snapshot is diffed against)."""
    query = sa.select(Snapshot).where(Snapshot.as_of <= as_of).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())
    if exclude_id is not None:
        query = query.where(Snapshot.id != exclude_id)
    return db.session.scalar(query.limit(1))


def _open_items(snapshot: Snapshot | None) -> dict[tuple, int]:
    if snapshot is None:
        return {}
    rows = db.session.execute(sa.select(SnapshotItem.asset_id, SnapshotItem.rule_code, SnapshotItem.result,
                                        SnapshotItem.id).where(SnapshotItem.snapshot_id == snapshot.id,
                                                               SnapshotItem.diff != DiffStatus.RESOLVED))
    return {(a, c, r): i for a, c, r, i in rows}


def build_snapshot(key: str, as_of: date, job_run_id: int | None = None) -> tuple[Snapshot, bool]:
    """Write the snapshot `key` as of `as_of` (not committed); return (snapshot, created).

    Idempotent by key: when the snapshot exists it is returned unchanged. The caller commits, so
    the snapshot and the job run's success land in one transaction, or neither does.
    """
    existing = db.session.scalar(sa.select(Snapshot).where(Snapshot.key == key))
    if existing is not None:
        return existing, False
    source = load_source()(as_of)
    rows = sorted((_normalise(r) for r in source.rows), key=identity)
    dept_codes = dict(db.session.execute(sa.select(Department.id, Department.code)).all())
    previous = previous_snapshot(as_of)
    prev_open = _open_items(previous)
    current_ids = set()
    for r in rows:
        ident = identity(r)
        current_ids.add(ident)
        r["diff"] = DiffStatus.STILL_OPEN if ident in prev_open else DiffStatus.NEW
    resolved_ids = [item_id for ident, item_id in prev_open.items() if ident not in current_ids]
    hits = [r for r in rows if r["result"] == "hit"]
    diff_counts = {"new": sum(1 for r in hits if r["diff"] is DiffStatus.NEW),
                   "still_open": sum(1 for r in hits if r["diff"] is DiffStatus.STILL_OPEN),
                   "resolved": len(resolved_ids), "overdue": sum(1 for r in hits if r["overdue"])}
    snapshot = Snapshot(key=key, job_run_id=job_run_id, as_of=as_of, evaluation_id=source.evaluation_id,
                        rule_versions=dict(sorted(source.rule_versions.items())),
                        counts=list_counts(rows, dept_codes), diff_counts=diff_counts, item_count=len(rows),
                        content_hash=content_hash(as_of, source.rule_versions, rows, dept_codes),
                        previous_id=previous.id if previous else None)
    db.session.add(snapshot)
    db.session.flush()
    # Core executemany, not the ORM bulk path: several times faster for 100k+ rows.
    table = SnapshotItem.__table__
    conn = db.session.connection()
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), [dict(r, snapshot_id=snapshot.id) for r in rows[start:start + CHUNK]])
    _copy_resolved(snapshot.id, resolved_ids)
    _test_pause()
    audit.record("snapshot.created", object_type="snapshot", object_id=snapshot.id,
                 details={"key": key, "as_of": as_of.isoformat(), "hash": snapshot.content_hash,
                          "items": len(rows), "diff": diff_counts})
    return snapshot, True


def _copy_resolved(snapshot_id: int, item_ids: list[int]) -> None:
    """Carry findings that left the list into the new snapshot, marked resolved."""
    cols = [getattr(SnapshotItem, f) for f in ROW_FIELDS]
    for start in range(0, len(item_ids), 500):
        rows = db.session.execute(sa.select(*cols).where(SnapshotItem.id.in_(item_ids[start:start + 500])))
        batch = [dict(zip(ROW_FIELDS, row), snapshot_id=snapshot_id, diff=DiffStatus.RESOLVED) for row in rows]
        if batch:
            db.session.connection().execute(SnapshotItem.__table__.insert(), batch)


def _test_pause() -> None:
    # Test-only hook (REGISTRY_TEST_JOB_SLEEP): hold the uncommitted snapshot so a test can kill -9 us here.
    seconds = float(current_app.config.get("TEST_JOB_SLEEP") or 0)
    if seconds > 0:
        print(f"snapshot-write-paused {seconds}", file=sys.stderr, flush=True)
        time.sleep(seconds)

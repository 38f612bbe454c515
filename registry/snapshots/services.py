"""Build a snapshot in SQL: copy the findings, diff against the previous snapshot, count, hash."""
from __future__ import annotations

import hashlib
import json
from datetime import date

import sqlalchemy as sa

from registry.audit import services as audit
from registry.enums import MANDATORY_OUTCOMES, DiffStatus
from registry.extensions import db
from registry.jobs.drills import pause_point
from registry.orgs.models import Department
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.queries import latest_snapshot
from registry.snapshots.source import ROW_FIELDS, load_source

ITEMS = SnapshotItem.__table__
HIT, RESOLVED = "hit", DiffStatus.RESOLVED.value


def _same_finding(a, b):
    # What makes a finding "the same" across snapshots: asset, rule and kind of result.
    return sa.and_(a.c.asset_id == b.c.asset_id, a.c.rule_code == b.c.rule_code, a.c.result == b.c.result)


def _copy_findings(snapshot_id: int, source_select: sa.Select, previous_id: int | None) -> None:
    """INSERT … SELECT the source's findings, each marked new or still open against the previous snapshot."""
    src = source_select.subquery("src")
    if previous_id is None:
        diff = sa.literal(DiffStatus.NEW.value)
    else:
        prev = ITEMS.alias("prev")
        seen = sa.exists().where(prev.c.snapshot_id == previous_id, prev.c.diff != RESOLVED, _same_finding(prev, src))
        diff = sa.case((seen, DiffStatus.STILL_OPEN.value), else_=DiffStatus.NEW.value)
    select = sa.select(sa.literal(snapshot_id), diff, *(src.c[name] for name in ROW_FIELDS))
    db.session.execute(ITEMS.insert().from_select(["snapshot_id", "diff", *ROW_FIELDS], select))


def _carry_resolved(snapshot_id: int, previous_id: int) -> None:
    """Copy the previous snapshot's open findings that are gone now, marked resolved."""
    prev, cur = ITEMS.alias("prev"), ITEMS.alias("cur")
    still_there = sa.exists().where(cur.c.snapshot_id == snapshot_id, _same_finding(cur, prev))
    select = (sa.select(sa.literal(snapshot_id), sa.literal(RESOLVED), *(prev.c[name] for name in ROW_FIELDS))
              .where(prev.c.snapshot_id == previous_id, prev.c.diff != RESOLVED, ~still_there))
    db.session.execute(ITEMS.insert().from_select(["snapshot_id", "diff", *ROW_FIELDS], select))


def _grouped(snapshot_id: int, column, *conds) -> dict:
    rows = db.session.execute(sa.select(column, sa.func.count()).select_from(ITEMS)
                              .join(Department.__table__, Department.id == ITEMS.c.department_id)
                              .where(ITEMS.c.snapshot_id == snapshot_id, *conds).group_by(column)).all()
    return {str(getattr(k, "value", k)): n for k, n in sorted(rows, key=lambda r: str(getattr(r[0], "value", r[0])))}


def list_counts(snapshot_id: int) -> tuple[dict, dict]:
    """Count the list (hits per category, department, township, outcome) and the diff classes."""
    open_ = ITEMS.c.diff != RESOLVED
    hit = ITEMS.c.result == HIT
    by_result = _grouped(snapshot_id, ITEMS.c.result, open_)
    by_diff = _grouped(snapshot_id, ITEMS.c.diff, hit)
    by_outcome = _grouped(snapshot_id, ITEMS.c.outcome, hit, open_)
    overdue = db.session.scalar(sa.select(sa.func.count()).select_from(ITEMS).where(
        ITEMS.c.snapshot_id == snapshot_id, hit, open_, ITEMS.c.overdue.is_(True)))
    counts = {
        "findings": sum(by_result.values()),
        "hits": by_result.get(HIT, 0),
        "undeterminable": by_result.get("undeterminable", 0),
        "assets": db.session.scalar(sa.select(sa.func.count(sa.distinct(ITEMS.c.asset_id))).where(
            ITEMS.c.snapshot_id == snapshot_id, hit, open_)),
        "mandatory": sum(n for k, n in by_outcome.items() if k in {o.value for o in MANDATORY_OUTCOMES}),
        "overdue": overdue,
        "by_category": _grouped(snapshot_id, ITEMS.c.category, hit, open_),
        "by_department": _grouped(snapshot_id, Department.code, hit, open_),
        "by_township": _grouped(snapshot_id, ITEMS.c.township, hit, open_),
        "by_outcome": by_outcome,
    }
    diff_counts = {"new": by_diff.get("new", 0), "still_open": by_diff.get("still_open", 0),
                   "resolved": by_diff.get(RESOLVED, 0), "overdue": overdue}
    return counts, diff_counts


HASH_FIELDS = tuple(f for f in ROW_FIELDS if f != "asset_id")  # ids are internal; codes are the content
_SEP = "\x1f"


def _hash_columns() -> list:
    # Plain text from the database for most fields (no per-row type processing); the deadline as a
    # date and figures parsed, so both are re-serialized canonically on SQLite and PostgreSQL alike.
    cols = []
    for name in HASH_FIELDS:
        if name == "department_id":
            cols.append(Department.code)
        elif name in ("category", "outcome"):
            cols.append(sa.type_coerce(ITEMS.c[name], sa.String))
        elif name == "rule_version":
            cols.append(sa.cast(ITEMS.c[name], sa.String))
        else:
            cols.append(ITEMS.c[name])
    return cols


def _canonical_line(row) -> bytes:
    *text, deadline, overdue, figures = row
    fig = "" if figures is None else json.dumps(figures, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                                default=str)
    due = deadline.isoformat() if deadline else ""  # a date object on both databases, whatever DateStyle says
    return _SEP.join([*(t or "" for t in text), due, "1" if overdue else "0", fig]).encode()


def content_hash(snapshot_id: int, as_of: date, rule_versions: dict) -> str:
    """Return the sha256 over a canonical serialization of the list: same inputs, same hash, on any database.

    Lines are ordered by asset code (byte order on both databases), then sorted within an asset,
    and name departments by code, so the hash does not depend on row ids or collations.
    """
    digest = hashlib.sha256()
    header = {"as_of": as_of.isoformat(), "rules": sorted([str(k), int(v)] for k, v in rule_versions.items())}
    digest.update(json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
    collation = "C" if db.session.get_bind().dialect.name == "postgresql" else "BINARY"
    query = (sa.select(*_hash_columns()).select_from(ITEMS)
             .join(Department.__table__, Department.id == ITEMS.c.department_id)
             .where(ITEMS.c.snapshot_id == snapshot_id, ITEMS.c.diff != RESOLVED)
             .order_by(sa.collate(ITEMS.c.asset_code, collation)))
    batch: list[tuple] = []
    for row in db.session.connection().execute(query.execution_options(yield_per=10_000)):
        if batch and batch[0][0] != row[0]:
            _digest_asset(digest, batch)
            batch = []
        batch.append(row)
    if batch:
        _digest_asset(digest, batch)
    return digest.hexdigest()


def _digest_asset(digest, rows: list) -> None:
    for line in sorted(_canonical_line(r) for r in rows):
        digest.update(b"\n" + line)


def build_snapshot(key: str, as_of: date, job_run_id: int | None = None) -> tuple[Snapshot, bool]:
    """Write the snapshot `key` as of `as_of` (not committed); return (snapshot, created).

    Idempotent by key: when the snapshot exists it is returned unchanged. The caller commits, so
    the snapshot and the job run's success land in one transaction, or neither does.
    """
    existing = db.session.scalar(sa.select(Snapshot).where(Snapshot.key == key))
    if existing is not None:
        return existing, False
    source = load_source()(as_of)
    previous = latest_snapshot(as_of)  # the one a new snapshot is diffed against
    snapshot = Snapshot(key=key, job_run_id=job_run_id, as_of=as_of, evaluation_id=source.evaluation_id,
                        rule_versions=dict(sorted(source.rule_versions.items())), counts={}, diff_counts={},
                        item_count=0, content_hash="", previous_id=previous.id if previous else None)
    db.session.add(snapshot)
    db.session.flush()
    _copy_findings(snapshot.id, source.select, previous.id if previous else None)
    if previous is not None:
        _carry_resolved(snapshot.id, previous.id)
    # Hold the uncommitted snapshot here so a drill can kill -9 the job halfway (tests/test_job_processes.py).
    pause_point("snapshot-write")
    counts, diff_counts = list_counts(snapshot.id)
    # Completing the header is part of writing it: the immutability guard allows it while the hash is empty.
    snapshot.counts, snapshot.diff_counts, snapshot.item_count = counts, diff_counts, counts["findings"]
    snapshot.content_hash = content_hash(snapshot.id, as_of, source.rule_versions)
    db.session.flush()
    audit.record("snapshot.created", object_type="snapshot", object_id=snapshot.id,
                 details={"key": key, "as_of": as_of.isoformat(), "hash": snapshot.content_hash,
                          "items": snapshot.item_count, "diff": diff_counts})
    return snapshot, True

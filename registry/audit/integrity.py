"""Verify the audit hash chain, and prune it past retention while keeping it verifiable."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from registry import clock
from registry.audit import services as audit
from registry.audit.guard import triggers_suspended
from registry.audit.models import AuditRecord
from registry.extensions import db

MIN_RETENTION_DAYS = 180  # 网络安全法 art. 21: network logs kept at least six months
PRUNE_ACTION = "audit.prune"
BATCH = 5000
MAX_PROBLEMS = 1000


@dataclass
class Problem:
    """One break in the chain: `kind` is edited, deleted or reordered; ids name the records."""

    kind: str
    record_id: int
    message: str


@dataclass
class Report:
    """Result of a verification run; `unsigned` counts the accepted pre-key records (plain SHA-256)."""

    checked: int
    problems: list[Problem]
    head_id: int | None
    head_hash: str | None
    unsigned: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows():
    last_id = 0
    while True:
        # Plain rows, not ORM objects: memory stays flat on millions of records.
        table = AuditRecord.__table__
        batch = db.session.execute(sa.select(table).where(table.c.id > last_id)
                                   .order_by(table.c.id).limit(BATCH)).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def _anchors() -> dict[int, str]:
    """Map `first kept id` -> expected prev_hash, from the prune anchors recorded in the chain."""
    anchors = {}
    for details in db.session.scalars(sa.select(AuditRecord.details).where(AuditRecord.action == PRUNE_ACTION)):
        data = json.loads(details or "{}")
        if "pruned_through_id" in data:
            anchors[int(data["pruned_through_id"]) + 1] = data["last_pruned_hash"]
    return anchors


def _holder_of(hash_value: str) -> int | None:
    return db.session.scalar(sa.select(AuditRecord.id).where(AuditRecord.hash == hash_value).limit(1))


class _UnsignedRuns:
    """Collect records that carry only a plain SHA-256 after the keyed switch, reported as id ranges."""

    def __init__(self, first_id_of_chain: int | None):
        self.first_of_chain = first_id_of_chain
        self.start: int | None = None
        self.end: int | None = None

    def add(self, record_id: int, problems: list[Problem]) -> None:
        if self.end is not None and record_id != self.end + 1:
            self.flush(problems)
        if self.start is None:
            self.start = record_id
        self.end = record_id

    def flush(self, problems: list[Problem]) -> None:
        if self.start is None:
            return
        span = f"#{self.start}" if self.start == self.end else f"#{self.start}–#{self.end}"
        message = (f"记录 {span} 没有审计密钥签名（只有普通 SHA-256）：启用密钥之后写入的记录不会这样，"
                   "说明有人改写记录并重算了哈希")
        if self.start == self.first_of_chain:
            message += (f"；若它们是启用审计密钥（升级）之前写入的旧记录，核实后设置 "
                        f"REGISTRY_AUDIT_UNSIGNED_THROUGH_ID={self.end}")
        problems.append(Problem("unsigned", self.start, message))
        self.start = self.end = None


def verify() -> Report:
    """Walk the whole chain; report every edited, deleted, re-ordered or unsigned record by id.

    A record must carry the keyed hash (HMAC with the audit key). Only records up to
    AUDIT_UNSIGNED_THROUGH_ID, written before the key existed, may carry the plain SHA-256 instead;
    the first keyed record chains onto the last of them, so they cannot be rewritten unnoticed either.
    """
    problems: list[Problem] = []
    anchors = _anchors()
    unsigned_through = int(current_app.config["AUDIT_UNSIGNED_THROUGH_ID"])
    prev: tuple[int, str] | None = None
    checked = unsigned = 0
    runs: _UnsignedRuns | None = None
    for rec in _rows():
        checked += 1
        if runs is None:
            runs = _UnsignedRuns(rec.id)
        if len(problems) >= MAX_PROBLEMS:
            break
        if audit.record_hash(rec) == rec.hash:
            runs.flush(problems)
        elif audit.plain_hash(rec) == rec.hash:
            if rec.id <= unsigned_through:
                unsigned += 1
            else:
                runs.add(rec.id, problems)
        else:
            runs.flush(problems)
            problems.append(Problem("edited", rec.id, f"记录 #{rec.id} 的内容被修改（哈希不符）"))
        if prev is None:
            expected = audit.GENESIS_HASH if rec.id == 1 else anchors.get(rec.id)
            if expected is None:
                problems.append(Problem("deleted", rec.id, f"记录 #{rec.id} 之前的 {rec.id - 1} 条记录缺失，且无清理锚点"))
            elif rec.prev_hash != expected:
                problems.append(Problem("deleted", rec.id, f"记录 #{rec.id} 与链首（清理锚点）不衔接"))
        else:
            prev_id, prev_hash = prev
            if rec.id != prev_id + 1:
                missing = f"#{prev_id + 1}" if rec.id == prev_id + 2 else f"#{prev_id + 1}–#{rec.id - 1}"
                problems.append(Problem("deleted", rec.id, f"记录 {missing} 被删除（#{prev_id} 与 #{rec.id} 之间）"))
            elif rec.prev_hash != prev_hash:
                holder = _holder_of(rec.prev_hash)
                if holder is not None and holder != prev_id:
                    problems.append(Problem("reordered", rec.id,
                                            f"记录 #{rec.id} 的顺序被调换：它原本紧接在 #{holder} 之后"))
                else:
                    problems.append(Problem("edited", prev_id,
                                            f"记录 #{prev_id} 被修改后重算了哈希（#{rec.id} 不再与之衔接）"))
        prev = (rec.id, rec.hash)
    if runs is not None:
        runs.flush(problems)
    return Report(checked, problems, prev[0] if prev else None, prev[1] if prev else None, unsigned)


def prune(retention_days: int, actor=None, now: datetime | None = None) -> int:
    """Delete records older than `retention_days` (>= 180), leaving an anchor so the chain still verifies."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"审计日志至少保留 {MIN_RETENTION_DAYS} 天")
    cutoff = (now or clock.now()) - timedelta(days=retention_days)
    last = db.session.execute(sa.select(AuditRecord.id, AuditRecord.hash).where(AuditRecord.at < cutoff)
                              .order_by(AuditRecord.id.desc()).limit(1)).first()
    if last is None:
        return 0
    first_id = db.session.scalar(sa.select(sa.func.min(AuditRecord.id)))
    # The anchor is appended (and chained) first, so it is never itself pruned and always names
    # the hash the first kept record must link to.
    audit.record(PRUNE_ACTION, object_type="audit_records", user=actor, details={
        "pruned_from_id": first_id, "pruned_through_id": last.id, "last_pruned_hash": last.hash,
        "retention_days": retention_days, "cutoff": cutoff.isoformat()})
    conn = db.session.connection()
    with triggers_suspended(conn):
        deleted = conn.execute(sa.delete(AuditRecord).where(AuditRecord.id <= last.id)).rowcount
    db.session.commit()
    return deleted

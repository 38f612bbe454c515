"""The audit log: append-only in the database, hash-chained, verifiable, prunable past retention."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from registry.audit import services as audit
from registry.audit.guard import triggers_installed, triggers_suspended
from registry.audit.integrity import prune, verify
from registry.audit.models import AuditRecord
from registry.extensions import db


def _seed(n: int = 6) -> None:
    for i in range(n):
        audit.record("test.event", object_type="thing", object_id=i, details={"i": i})
    db.session.commit()


def _tamper(sql: str, **params) -> None:
    """Rewrite history the way an attacker with database access would: triggers lifted."""
    conn = db.session.connection()
    with triggers_suspended(conn):
        conn.execute(sa.text(sql), params)
    db.session.commit()


def test_triggers_are_installed_by_the_migration(ctx):
    with db.engine.connect() as conn:
        assert triggers_installed(conn) >= 2


@pytest.mark.parametrize("statement", [
    "UPDATE audit_records SET outcome = 'success' WHERE id = 2",
    "DELETE FROM audit_records WHERE id = 2",
    "DELETE FROM audit_records",
])
def test_database_refuses_update_and_delete(ctx, statement):
    _seed(3)
    with pytest.raises(DBAPIError):
        db.session.execute(sa.text(statement))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 3
    assert verify().ok


def test_orm_path_is_refused_too(ctx):
    _seed(2)
    rec = db.session.get(AuditRecord, 1)
    rec.details = '{"i": 99}'
    with pytest.raises(DBAPIError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditRecord, 1))
    with pytest.raises(DBAPIError):
        db.session.commit()
    db.session.rollback()


def test_bulk_clearing_is_refused(ctx):
    _seed(2)
    # PostgreSQL's TRUNCATE bypasses row triggers, so it has its own statement trigger.
    statement = "TRUNCATE audit_records" if db.engine.dialect.name == "postgresql" else "DELETE FROM audit_records"
    with pytest.raises(DBAPIError):
        db.session.execute(sa.text(statement))
        db.session.commit()
    db.session.rollback()


def test_suspension_is_undone_with_the_transaction(ctx):
    _seed(2)
    conn = db.session.connection()
    with triggers_suspended(conn):
        pass
    db.session.rollback()
    with db.engine.connect() as c:
        assert triggers_installed(c) >= 2


def test_intact_chain_verifies(ctx):
    _seed(10)
    report = verify()
    assert report.ok and report.checked == 10 and report.head_id == 10


def test_edited_record_is_reported_by_id(ctx):
    _seed(6)
    _tamper("UPDATE audit_records SET details = '{\"i\": 42}' WHERE id = 3")
    problems = verify().problems
    assert [(p.kind, p.record_id) for p in problems] == [("edited", 3)]


def test_edited_record_with_recomputed_hash_is_still_caught(ctx):
    _seed(6)
    rec = db.session.get(AuditRecord, 3)
    rec.details = '{"i": 42}'
    new_hash = audit.record_hash(rec)
    db.session.rollback()
    _tamper("UPDATE audit_records SET details = '{\"i\": 42}', hash = :h WHERE id = 3", h=new_hash)
    problems = verify().problems
    assert ("edited", 3) in [(p.kind, p.record_id) for p in problems]


def test_deleted_record_is_reported(ctx):
    _seed(6)
    _tamper("DELETE FROM audit_records WHERE id IN (3, 4)")
    problems = verify().problems
    assert [(p.kind, p.record_id) for p in problems] == [("deleted", 5)]
    assert "#3–#4" in problems[0].message


def test_deleted_head_of_chain_without_anchor_is_reported(ctx):
    _seed(4)
    _tamper("DELETE FROM audit_records WHERE id = 1")
    assert [(p.kind, p.record_id) for p in verify().problems] == [("deleted", 2)]


def test_reordered_records_are_reported(ctx):
    _seed(6)
    # Swap records 3 and 4 (via a free id, since id is the primary key).
    _tamper("UPDATE audit_records SET id = 1000 WHERE id = 3")
    _tamper("UPDATE audit_records SET id = 3 WHERE id = 4")
    _tamper("UPDATE audit_records SET id = 4 WHERE id = 1000")
    problems = verify().problems
    assert {p.kind for p in problems} == {"reordered"}
    assert {p.record_id for p in problems} >= {3, 4}
    assert all(p.record_id in (3, 4, 5) for p in problems)


def test_cli_verify_exit_codes(ctx, runner):
    _seed(4)
    ok = runner.invoke(args=["registry", "audit", "verify"])
    assert ok.exit_code == 0 and "审计日志完整" in ok.output
    _tamper("UPDATE audit_records SET outcome = 'failure' WHERE id = 2")
    bad = runner.invoke(args=["registry", "audit", "verify"])
    assert bad.exit_code == 1 and "[edited] #2" in bad.output


def _backdate(days_ago: dict[int, int]) -> None:
    """Give records old timestamps (and re-hash the chain) as if they had been written long ago."""
    now = datetime.now(timezone.utc)
    conn = db.session.connection()
    with triggers_suspended(conn):
        prev = audit.GENESIS_HASH
        for rec in db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)):
            if rec.id in days_ago:
                rec.at = now - timedelta(days=days_ago[rec.id])
            rec.prev_hash = prev
            rec.hash = audit.record_hash(rec)
            prev = rec.hash
        db.session.flush()
    db.session.commit()


def test_prune_keeps_retention_and_leaves_a_verifiable_chain(ctx):
    _seed(6)
    _backdate({1: 400, 2: 300, 3: 200, 4: 100})
    assert verify().ok
    deleted = prune(180)
    assert deleted == 3
    ids = db.session.scalars(sa.select(AuditRecord.id).order_by(AuditRecord.id)).all()
    assert ids == [4, 5, 6, 7]
    anchor = db.session.get(AuditRecord, 7)
    assert anchor.action == "audit.prune" and '"pruned_through_id": 3' in anchor.details
    assert verify().ok
    # A second prune with nothing old enough changes nothing; later records keep chaining.
    assert prune(180) == 0
    _seed(2)
    assert verify().ok


def test_deleting_more_after_a_prune_is_still_detected(ctx):
    _seed(6)
    _backdate({1: 400, 2: 300})
    prune(180)
    _tamper("DELETE FROM audit_records WHERE id = 3")
    assert [p.kind for p in verify().problems] == ["deleted"]


def test_prune_refuses_less_than_180_days(ctx, runner):
    with pytest.raises(ValueError):
        prune(179)
    result = runner.invoke(args=["registry", "audit", "prune", "--days", "30"])
    assert result.exit_code != 0 and "至少保留 180 天" in result.output


def test_cli_prune_uses_configured_retention(ctx, runner):
    _seed(3)
    _backdate({1: 800})
    ctx.config["AUDIT_RETENTION_DAYS"] = 365
    result = runner.invoke(args=["registry", "audit", "prune"])
    assert result.exit_code == 0 and "已清理 1 条" in result.output
    assert runner.invoke(args=["registry", "audit", "verify"]).exit_code == 0


def test_every_record_holds_time_user_ip_action_object_outcome(app, client, login):
    user_id = login("maintainer", "zjj")
    with app.app_context():
        rec = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "login")).one()
        assert rec.at and rec.user_id == user_id and rec.username and rec.ip == "127.0.0.1"
        assert rec.object_type == "user" and rec.object_id == str(user_id) and rec.outcome == "success"

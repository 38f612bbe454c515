"""The audit log: append-only in the database, hash-chained, verifiable, prunable past retention."""
from __future__ import annotations

import os
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


def _in_threads(n: int, work) -> list:
    """Run work(i) in n threads released together; return each result (an exception counts as a result)."""
    import threading
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - a crash is what the test looks for
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_first_logins_each_get_their_audit_record(app):
    """40 users logging in at once: every login answers 302 and the chain has 40 records, unbroken (#17 item 8)."""
    from tests import factories
    n = 40
    with app.app_context():
        names = [factories.make_user("inspector", "zjj", username=f"crowd-{i}").username for i in range(n)]

    def login(i):
        resp = app.test_client().post("/login", data={"username": names[i], "password": factories.TEST_PASSWORD})
        return resp.status_code
    results = _in_threads(n, login)
    assert results == [302] * n, [r for r in results if r != 302][:3]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.action == "login", AuditRecord.outcome == "success")) == n
        report = verify()
        assert report.ok, report.problems[:3]


def test_concurrent_appends_from_plain_sessions_chain_in_order(app):
    """Appends from many threads outside any request (jobs, CLI) serialise too."""
    def append(i):
        with app.app_context():
            audit.record("test.concurrent", object_type="thing", object_id=i)
            db.session.commit()
            return "ok"
    assert _in_threads(24, append) == ["ok"] * 24
    with app.app_context():
        assert verify().ok and db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 24


def _rechain_plain(from_id: int, edit_sql: str | None = None, through_id: int | None = None) -> None:
    """Rewrite records from `from_id` (to `through_id`) with the unkeyed SHA-256 chain, as the keyless scheme allowed."""
    conn = db.session.connection()
    with triggers_suspended(conn):
        if edit_sql:
            conn.execute(sa.text(edit_sql))
        db.session.expire_all()
        prev = db.session.scalar(sa.select(AuditRecord.hash).where(AuditRecord.id == from_id - 1)) or audit.GENESIS_HASH
        upper = through_id if through_id is not None else 2**31 - 1
        for rec in db.session.scalars(sa.select(AuditRecord).where(AuditRecord.id.between(from_id, upper))
                                      .order_by(AuditRecord.id)):
            rec.prev_hash = prev
            rec.hash = audit.plain_hash(rec)
            prev = rec.hash
        db.session.flush()
    db.session.commit()


def test_edit_with_the_plain_chain_recomputed_no_longer_verifies(ctx, runner):
    """Issue #17 item 13: triggers dropped, record #3 edited, every later SHA-256 recomputed: still caught."""
    _seed(6)
    _rechain_plain(3, "UPDATE audit_records SET details = '{\"i\": 42}' WHERE id = 3")
    report = verify()
    assert not report.ok
    assert [(p.kind, p.record_id) for p in report.problems] == [("unsigned", 3)]
    assert "#3–#6" in report.problems[0].message and "UNSIGNED_THROUGH" not in report.problems[0].message
    result = runner.invoke(args=["registry", "audit", "verify"])
    assert result.exit_code == 1 and "[unsigned] #3" in result.output


def test_records_from_before_the_key_keep_verifying_once_declared(ctx, runner):
    """Upgrade path: records written by the keyless version carry a plain SHA-256; declared, they verify."""
    _seed(3)
    _rechain_plain(1)  # as the previous version wrote them
    _seed(2)  # written after the upgrade: keyed, chained onto #3
    report = verify()
    assert [(p.kind, p.record_id) for p in report.problems] == [("unsigned", 1)]
    assert "REGISTRY_AUDIT_UNSIGNED_THROUGH_ID=3" in report.problems[0].message  # the hint names the boundary
    ctx.config["AUDIT_UNSIGNED_THROUGH_ID"] = 3
    report = verify()
    assert report.ok and report.unsigned == 3 and report.checked == 5
    result = runner.invoke(args=["registry", "audit", "verify"])
    assert result.exit_code == 0 and "3 条是启用审计密钥之前的旧记录" in result.output
    # An old record rewritten with the old records' plain chain recomputed: the first keyed record (#4)
    # no longer links to #3, and it cannot be re-signed without the key.
    _rechain_plain(2, "UPDATE audit_records SET outcome = 'failure' WHERE id = 2", through_id=3)
    assert [(p.kind, p.record_id) for p in verify().problems] == [("edited", 3)]
    # Recomputing the rest of the chain too leaves #4 onwards unsigned.
    _rechain_plain(4)
    assert [(p.kind, p.record_id) for p in verify().problems] == [("unsigned", 4)]


def test_records_after_the_declared_boundary_must_be_keyed(ctx):
    _seed(5)
    ctx.config["AUDIT_UNSIGNED_THROUGH_ID"] = 2
    _rechain_plain(2, "UPDATE audit_records SET details = NULL WHERE id = 2")
    problems = verify().problems
    # #2 is inside the boundary, but #3–#5 (after it) carry no key: refused.
    assert [(p.kind, p.record_id) for p in problems] == [("unsigned", 3)]


def test_a_different_audit_key_fails_every_record_and_says_why(ctx, runner):
    _seed(12)
    ctx.config["AUDIT_KEY"] = "not-the-key-the-records-were-written-with"
    result = runner.invoke(args=["registry", "audit", "verify"])
    assert result.exit_code == 1 and result.output.count("[edited]") == 12
    assert "审计密钥不对" in result.output


def test_audit_key_lives_in_the_instance_folder_not_the_database(tmp_path, database_url, monkeypatch):
    from registry import create_app
    monkeypatch.delenv("REGISTRY_AUDIT_KEY", raising=False)
    first = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x"})
    second = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "y"})
    key_file = os.path.join(first.instance_path, "audit_key")
    with open(key_file) as fh:
        assert first.config["AUDIT_KEY"] == second.config["AUDIT_KEY"] == fh.read().strip()
    assert len(first.config["AUDIT_KEY"]) == 64 and oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert first.config["AUDIT_KEY"] != first.config["SECRET_KEY"]
    configured = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", "AUDIT_KEY": "from-the-environment"})
    assert configured.config["AUDIT_KEY"] == "from-the-environment"
    for made in (first, second, configured):
        with made.app_context():
            db.engine.dispose()

"""Backup and restore: a bundle restored into an EMPTY database loses nothing (rows, hashes, files, audit chain)."""
from __future__ import annotations

import io
import os
from datetime import date

import pytest
import sqlalchemy as sa
from PIL import Image

from registry import create_app
from registry.audit.guard import triggers_installed
from registry.backup import libpq_url, summarize
from registry.enums import Category
from registry.extensions import db
from tests.factories import make_asset, make_unit, make_user


def restore_db_name(test_db: str) -> str:
    """registry_test -> registry_restore, registry_test_rel -> registry_restore_rel (created by scripts/pg-setup.sh)."""
    return os.environ.get("REGISTRY_TEST_RESTORE_DATABASE") or test_db.replace("_test", "_restore", 1)


def _seal_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (120, 120), (210, 0, 0, 255)).save(buf, format="PNG")
    return buf.getvalue()


def _populate(app) -> None:
    """Assets, rules, findings, an issued notice with its PDF, a seal and audit records, all via the services."""
    from registry.notices.seals import upload_seal
    from registry.notices.services import issue_notices
    from registry.orgs.models import Department
    from registry.rules.services import evaluate_inventory
    from registry.rules.versions import seed_packs
    from tests.notice_factories import item_for
    with app.app_context():
        seed_packs()
        make_user(role="maintainer", department="zjj", username="backup-zjj")
        owner = make_unit()
        old = [make_asset(Category.CONSTRUCTION_MACHINE, owner=owner, commissioned_on=date(2008, 3, 1),
                          name=f"老塔吊{i}")
               for i in range(3)]
        make_asset(Category.OFFICIAL_CAR, commissioned_on=date(2021, 1, 1))
        make_asset(Category.ELEVATOR, commissioned_on=date(2005, 5, 5))
        evaluation = evaluate_inventory(date(2025, 7, 16))
        db.session.commit()
        assert evaluation.finding_count > 0
        zjj = db.session.scalar(sa.select(Department).where(Department.code == "zjj"))
        upload_seal(zjj, _seal_png(), None)
        db.session.commit()
        [notice] = issue_notices([item_for(a) for a in old[:2]], None, render=True)
        assert notice.pdf_path


def _restore_url(database_url: str, tmp_path) -> str:
    """An empty database of the same kind as the test database."""
    if not database_url.startswith("postgresql"):
        return "sqlite:///" + str(tmp_path / "restored.db")
    source = sa.engine.make_url(database_url)
    name = restore_db_name(source.database)
    assert name != source.database
    url = source.set(database=name)
    rendered = url.render_as_string(hide_password=False)
    engine = sa.create_engine(rendered)
    try:
        with engine.connect() as conn:
            pass
    except sa.exc.OperationalError:
        pytest.fail(f"PostgreSQL 恢复目标库 {name} 不存在：先运行 scripts/pg-setup.sh {name}")
    with engine.begin() as conn:  # empty it: a previous run may have restored into it
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return rendered


def test_restore_into_empty_database_loses_nothing(app, runner, database_url, tmp_path):
    _populate(app)
    with app.app_context():
        before = summarize()
    bundle = tmp_path / "backup.tar.gz"
    result = runner.invoke(args=["registry", "backup", "--out", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "已备份" in result.output

    target = create_app({"TESTING": True, "DATABASE_URL": _restore_url(database_url, tmp_path),
                         "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
                         "NOTICE_FILES_DIR": str(tmp_path / "r-notices"), "SEAL_FILES_DIR": str(tmp_path / "r-seals")})
    try:
        restorer = target.test_cli_runner()
        result = restorer.invoke(args=["registry", "restore", str(bundle)])
        assert result.exit_code == 0, result.output
        assert "行数、内容哈希和文件均与备份清单一致" in result.output
        assert "设备（assets）：5 行" in result.output

        with target.app_context():
            after = summarize()
            with db.engine.connect() as conn:
                assert triggers_installed(conn) >= 2  # the append-only guard came back with the data
                with pytest.raises(sa.exc.DatabaseError):
                    conn.execute(sa.text("DELETE FROM audit_records"))
        for key in ("assets", "findings", "evaluations", "notices", "notice_items", "department_seals",
                    "audit_records", "users", "rules"):
            assert after.counts[key] == before.counts[key] and after.counts[key] > 0, key
        assert after.counts == before.counts
        assert after.hashes == before.hashes
        assert after.files == before.files and len(after.files) == 2  # the notice PDF and the seal
        pdf = next(k for k in after.files if k.startswith("notices/"))
        assert (tmp_path / "r-notices" / pdf.split("/", 1)[1]).read_bytes()[:4] == b"%PDF"

        verified = restorer.invoke(args=["registry", "audit", "verify"])
        assert verified.exit_code == 0, verified.output
        assert "审计日志完整" in verified.output

        # The target now holds data: a second restore is refused unless forced, and changes nothing.
        again = restorer.invoke(args=["registry", "restore", str(bundle)])
        assert again.exit_code != 0 and "不是空库" in again.output
        with target.app_context():
            assert summarize().hashes == after.hashes
    finally:
        with target.app_context():
            db.engine.dispose()


def test_restore_refuses_bundle_of_other_kind_and_garbage(app, runner, tmp_path):
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not a tarball")
    result = runner.invoke(args=["registry", "restore", str(bogus)])
    assert result.exit_code != 0 and "无法读取备份文件" in result.output


def test_libpq_url_keeps_password_out_of_the_command_line():
    url, env = libpq_url("postgresql+psycopg://registry:s3cret@127.0.0.1:5432/registry?sslmode=disable")
    assert url == "postgresql://registry@127.0.0.1:5432/registry?sslmode=disable"
    assert "s3cret" not in url and env["PGPASSWORD"] == "s3cret"
    assert os.environ.get("PGPASSWORD") != "s3cret"

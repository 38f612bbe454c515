"""Backup and restore: a bundle restored into an EMPTY database loses nothing (rows, hashes, files, audit chain)."""
from __future__ import annotations

import io
import json
import os
import re
import tarfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from registry import create_app
from registry.audit.guard import triggers_installed
from registry.backup import libpq_url, summarize
from registry.enums import Category
from registry.extensions import db
from tests.factories import make_asset, make_unit, make_user

_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    from tests.notice_factories import issue_signed
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
        [notice] = issue_signed([item_for(a) for a in old[:2]], render=True)
        assert notice.pdf_path
        # The other stored records: a scanned disposal document and an inspector's condition photo.
        from werkzeug.datastructures import FileStorage
        from registry.assets.assessments import record_assessment
        from registry.disposals import services as disposals
        from registry.enums import ConditionGrade
        maintainer = make_user(role="maintainer", department="zjj", username="backup-disposer")
        inspector = make_user(role="inspector", department="zjj", username="backup-inspector")
        disposals.record_disposal(old[2].id, maintainer, disposals.parse_disposal(
            {"way": "转让", "disposed_on": "2025-07-01", "receiver": "郑州某机械公司"}),
            [FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF"), filename="转让合同.pdf")])
        record_assessment(old[0].id, inspector, assessed_on=date(2025, 7, 1), assessor="张工",
                          grade=ConditionGrade.BAD, photo=FileStorage(io.BytesIO(_seal_png()), filename="现场.png"))


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
                         "NOTICE_FILES_DIR": str(tmp_path / "r-notices"), "SEAL_FILES_DIR": str(tmp_path / "r-seals"),
                         "FILES_ROOT": str(tmp_path / "r-files")})
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
        # The notice PDF, the seal, the disposal document and the photo, each in its own area.
        assert after.files == before.files and sorted(k.split("/")[0] for k in after.files) == [
            "disposals", "notices", "seals", "uploads"]
        assert not any(k.startswith(("imports/", "notice-prints/")) for k in after.files)
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


# --- A bundle is checked whole, in a scratch directory, before the target is touched (#17 item 6) ---

def _small_world(app) -> None:
    """A few rows, an audit record and one instance file: enough for a bundle with every part."""
    from registry.notices.storage import seals_dir
    with app.app_context():
        make_user(role="maintainer", department="zjj", username="bundle-zjj")
        make_asset(Category.ELEVATOR, commissioned_on=date(2005, 5, 5))
        (seals_dir() / "zjj").mkdir(parents=True, exist_ok=True)
        (seals_dir() / "zjj" / "seal.png").write_bytes(_seal_png())


_BUNDLES: dict[str, tuple[Path, dict]] = {}


def _bundle(app, runner, tmp_path_factory) -> tuple[Path, dict]:
    """A good bundle of a small world; made once per database (pg_dump is slow), each test breaks a copy."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url not in _BUNDLES:
        _small_world(app)
        bundle = tmp_path_factory.mktemp("bundle") / "good.tar.gz"
        result = runner.invoke(args=["registry", "backup", "--out", str(bundle)])
        assert result.exit_code == 0, result.output
        with tarfile.open(bundle) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
        assert _SHA256.fullmatch(manifest["database_sha256"])  # recorded at backup time
        _BUNDLES[url] = bundle, manifest
    return _BUNDLES[url]


def _rebuild(src: Path, out: Path, *, drop=(), replace=None, manifest=None, extra=()) -> Path:
    """Copy a bundle, leaving out, replacing or adding members, or rewriting its manifest."""
    replace = dict(replace or {})
    with tarfile.open(src) as tar, tarfile.open(out, "w:gz") as dst:
        for member in tar.getmembers():
            if member.name in drop:
                continue
            data = tar.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json" and manifest is not None:
                data = manifest(json.loads(data))
                data = data if isinstance(data, bytes) else json.dumps(data).encode()
            data = replace.pop(member.name, data)
            info = tarfile.TarInfo(member.name)
            info.size = len(data or b"")
            dst.addfile(info, io.BytesIO(data or b""))
        for info, data in list(extra) + [(tarfile.TarInfo(n), d) for n, d in replace.items()]:
            if info.isfile():
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


def _with(manifest_change):
    def edit(m):
        m = dict(m)
        manifest_change(m)
        return m
    return edit


BROKEN_BUNDLES = {
    "no database file": (lambda m: {"drop": (m["database_file"],)}, "缺少数据库文件"),
    "database_file outside the bundle": (
        lambda m: {"manifest": _with(lambda x: x.update(database_file="../../../etc/passwd"))}, "database_file 应为"),
    "database_file absolute": (
        lambda m: {"manifest": _with(lambda x: x.update(database_file="/etc/passwd"))}, "database_file 应为"),
    "manifest without counts": (lambda m: {"manifest": _with(lambda x: x.pop("counts"))}, "缺少字段：counts"),
    "manifest missing several keys": (
        lambda m: {"manifest": lambda x: {"format": 1}}, "缺少字段：dialect、created_at"),
    "manifest not an object": (lambda m: {"manifest": lambda x: [1, 2]}, "应为一个 JSON 对象"),
    "manifest not JSON": (lambda m: {"manifest": lambda x: b"{oops"}, "缺少有效的 manifest.json"),
    "counts of the wrong type": (lambda m: {"manifest": _with(lambda x: x.update(counts=[1]))}, "字段 counts 应为"),
    "a negative count": (lambda m: {"manifest": _with(lambda x: x["counts"].update(assets=-1))}, "counts 中"),
    "hashes for other tables": (lambda m: {"manifest": _with(lambda x: x["hashes"].pop("assets"))}, "hashes 应与"),
    "format as text": (lambda m: {"manifest": _with(lambda x: x.update(format="1"))}, "字段 format 应为整数"),
    "unknown dialect": (lambda m: {"manifest": _with(lambda x: x.update(dialect="oracle"))}, "不受支持"),
    "bad creation time": (lambda m: {"manifest": _with(lambda x: x.update(created_at="yesterday"))}, "created_at"),
    "file path outside the areas": (
        lambda m: {"manifest": _with(lambda x: x["files"].update({"../../etc/cron.d/x": "0" * 64}))}, "不安全的路径"),
    "database tampered": (lambda m: {"replace": {m["database_file"]: b"SQLite format 3\x00" + b"\x00" * 4096}},
                          "SHA-256 与清单不符"),
    "database without its hash and not a database": (
        lambda m: {"replace": {m["database_file"]: b"garbage"}, "manifest": _with(lambda x: x.pop("database_sha256"))},
        "数据库文件不是有效的"),
    "instance file tampered": (lambda m: {"replace": {"files/seals/zjj/seal.png": b"forged seal"}},
                               "seals/zjj/seal.png 的 SHA-256 与清单不符"),
    "instance file missing": (lambda m: {"drop": ("files/seals/zjj/seal.png",)}, "缺少清单列出的文件 seals/zjj/seal.png"),
    "file not in the manifest": (lambda m: {"replace": {"files/seals/zjj/extra.png": b"x"}}, "清单未列出的文件"),
    "absolute member": (lambda m: {"replace": {"/tmp/registry-evil": b"x"}}, "不安全的路径"),
    "member climbing out": (lambda m: {"replace": {"files/../../evil": b"x"}}, "不安全的路径"),
    "unexpected member": (lambda m: {"replace": {"run-me.sh": b"rm -rf /"}}, "清单之外的内容"),
    "unknown file area": (lambda m: {"replace": {"files/etc/passwd": b"x"}}, "未知的文件区"),
    "symbolic link": (lambda m: {"extra": [_special("files/seals/zjj/link.png", tarfile.SYMTYPE, "/etc/passwd")]},
                      "链接、设备"),
    "hard link": (lambda m: {"extra": [_special("files/seals/zjj/hard.png", tarfile.LNKTYPE, "manifest.json")]},
                  "链接、设备"),
    "device": (lambda m: {"extra": [_special("files/seals/zjj/dev", tarfile.CHRTYPE)]}, "链接、设备"),
    "fifo": (lambda m: {"extra": [_special("files/seals/zjj/fifo", tarfile.FIFOTYPE)]}, "链接、设备"),
    "member twice": (lambda m: {"extra": [(tarfile.TarInfo("manifest.json"), b"{}")]}, "不止一次"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_BUNDLES))
def test_a_broken_bundle_is_refused_and_the_target_is_unchanged(app, runner, tmp_path, tmp_path_factory, case):
    bundle, manifest = _bundle(app, runner, tmp_path_factory)
    change, message = BROKEN_BUNDLES[case]
    broken = _rebuild(bundle, tmp_path / "broken.tar.gz", **change(manifest))
    with app.app_context():
        make_asset(Category.OFFICIAL_CAR, commissioned_on=date(2021, 1, 1))  # the target moved on since the backup
        before = summarize()
    result = runner.invoke(args=["registry", "restore", str(broken), "--force"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a Chinese message, not a traceback
    assert "恢复失败" in result.output and message in result.output, result.output
    assert "未作任何改动" in result.output and "Traceback" not in result.output
    with app.app_context():
        after = summarize()
    assert after.counts == before.counts and after.hashes == before.hashes and after.files == before.files


def test_truncated_bundle_is_refused(app, runner, tmp_path, tmp_path_factory):
    bundle, _ = _bundle(app, runner, tmp_path_factory)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    with app.app_context():
        before = summarize()
    result = runner.invoke(args=["registry", "restore", str(cut), "--force"])
    assert result.exit_code == 1 and "无法读取备份文件" in result.output
    with app.app_context():
        assert summarize().hashes == before.hashes


def test_an_intact_bundle_still_restores_over_a_changed_target_with_force(app, runner, tmp_path):
    _small_world(app)
    bundle = tmp_path / "fresh.tar.gz"
    assert runner.invoke(args=["registry", "backup", "--out", str(bundle)]).exit_code == 0
    with tarfile.open(bundle) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    with app.app_context():
        make_asset(Category.OFFICIAL_CAR, commissioned_on=date(2021, 1, 1))
    result = runner.invoke(args=["registry", "restore", str(bundle), "--force"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert summarize().counts["assets"] == manifest["counts"]["assets"] == 1

"""Backup and restore of the whole registry: the database plus the stored files (notices, seals, disposal documents, photos).

A backup is one .tar.gz bundle:
  manifest.json   format version, dialect, creation time, row counts and a content hash of every table,
                  and the SHA-256 of every file;
  db.sqlite       SQLite: a consistent online copy made with the sqlite3 backup API, or
  db.pgdump       PostgreSQL: `pg_dump --format=custom` (schema, data, functions and triggers);
  files/<area>/…  the stored files of each area of FILE_AREAS (a bundle made before an area was
                  added simply has none of it).
Restore first checks the whole bundle in a scratch directory (member names and types, the manifest's
keys and types, the database file and every instance file against their SHA-256) and touches the
target only when all of it holds; it refuses a target that already holds rows unless forced, then
checks the restored counts and hashes against the manifest, so a silent loss shows up at once.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app

from registry import clock
from registry.assets.assessments import uploads_root
from registry.disposals.services import files_dir as disposal_files_dir
from registry.extensions import db
from registry.notices.storage import notices_dir, seals_dir

FORMAT = 1
# Every stored file that is a record: issued notice PDFs, seals, scanned disposal documents, condition
# photos. Left out on purpose: import uploads and reports (FILES_ROOT/imports, working files of one
# import) and notice-prints (batch prints, rebuilt from the notices on demand).
FILE_AREAS = ("notices", "seals", "disposals", "uploads")
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "db.sqlite", "postgresql": "db.pgdump"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class BackupError(Exception):
    """A backup or restore that cannot proceed; the message is Chinese and shown to the operator."""


@dataclass
class Summary:
    """Row counts and content hashes of one database state, plus file hashes."""

    counts: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def libpq_url(sa_url: str) -> tuple[str, dict[str, str]]:
    """Turn a SQLAlchemy PostgreSQL URL into a password-free libpq URL and the env holding the password."""
    url = sa.engine.make_url(sa_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = sa.engine.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                                 database=url.database, query=url.query)
    return plain.render_as_string(hide_password=False), env


def _tables(conn) -> list[str]:
    """Tables present in the connected database (models' tables first, then any others, sorted)."""
    present = set(sa.inspect(conn).get_table_names())
    if conn.dialect.name == "sqlite":
        # A virtual table (the FTS5 keyword index) holds no rows of its own; its shadow tables are hashed.
        present -= set(conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")).scalars())
    known = [t.name for t in db.metadata.sorted_tables if t.name in present]
    return known + sorted(present - set(known) - {"alembic_version"})


def _row_text(row) -> str:
    return json.dumps([None if v is None else str(v) for v in row], ensure_ascii=False)


def table_hash(conn, table: str) -> str:
    """SHA-256 over every row of `table` in primary-key order, so physical row order does not matter."""
    inspector = sa.inspect(conn)
    cols = [c["name"] for c in inspector.get_columns(table)]
    quoted = ", ".join(f'"{c}"' for c in cols)
    keys = inspector.get_pk_constraint(table).get("constrained_columns") or cols
    order = ", ".join(f'"{c}"' for c in keys)
    digest = hashlib.sha256()
    result = conn.execution_options(stream_results=True).execute(
        sa.text(f'SELECT {quoted} FROM "{table}" ORDER BY {order}'))
    for row in result:
        digest.update(_row_text(row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def file_dirs() -> dict[str, Path]:
    """The stored file areas of the current app, by name in the bundle."""
    return {"notices": notices_dir(), "seals": seals_dir(), "disposals": disposal_files_dir(),
            "uploads": Path(uploads_root())}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_hashes(dirs: dict[str, Path]) -> dict[str, str]:
    out = {}
    for area, base in dirs.items():
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp")):
            out[f"{area}/{path.relative_to(base).as_posix()}"] = _sha256_file(path)
    return out


def summarize(with_files: bool = True) -> Summary:
    """Count and hash every table of the app's database (and its instance files)."""
    summary = Summary()
    with db.engine.connect() as conn:
        for table in _tables(conn):
            summary.counts[table] = conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            summary.hashes[table] = table_hash(conn, table)
    if with_files:
        summary.files = _file_hashes(file_dirs())
    return summary


def _dialect() -> str:
    return db.engine.dialect.name


def _dump_database(workdir: Path) -> str:
    """Write the database dump into `workdir`; return its file name."""
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if _dialect() == "sqlite":
        target = workdir / "db.sqlite"
        raw = db.engine.raw_connection()
        try:
            dest = sqlite3.connect(target)
            try:
                # The backup API copies page by page while others keep writing: a consistent snapshot.
                raw.driver_connection.backup(dest)
            finally:
                dest.close()
        finally:
            raw.close()
        return target.name
    if _dialect() == "postgresql":
        target = workdir / "db.pgdump"
        conn_url, env = libpq_url(url)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", f"--dbname={conn_url}"], env)
        return target.name
    raise BackupError(f"不支持的数据库类型：{_dialect()}")


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"找不到 {cmd[0]}：请安装 PostgreSQL 客户端（postgresql-client-15）")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{cmd[0]} 失败（退出码 {proc.returncode}）：{proc.stderr.strip()[:2000]}")


def backup(out: str | Path) -> dict:
    """Write a bundle with the database dump, the instance files and a manifest; return the manifest."""
    out = Path(out)
    db.session.remove()
    with tempfile.TemporaryDirectory(prefix="registry-backup-") as tmp:
        workdir = Path(tmp)
        # Summarize first, then dump: on a busy database the manifest may trail the dump by a few
        # rows; restore reports differences instead of failing silently.
        summary = summarize()
        dump_name = _dump_database(workdir)
        manifest = {"format": FORMAT, "dialect": _dialect(), "created_at": clock.now().isoformat(),
                    "database_file": dump_name, "database_sha256": _sha256_file(workdir / dump_name),
                    "counts": summary.counts, "hashes": summary.hashes, "files": summary.files}
        dirs = file_dirs()
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(workdir / dump_name, arcname=dump_name)
            for rel in summary.files:
                area, _, name = rel.partition("/")
                tar.add(dirs[area] / name, arcname=f"files/{rel}")
        os.replace(partial, out)
    return manifest


def target_rows() -> int:
    """Total rows in the app's database, over every table (0 for an empty or schema-only database)."""
    with db.engine.connect() as conn:
        return sum(conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in _tables(conn))


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a tar member may not be extracted, or None: only plain files and folders at known, relative names."""
    name = member.name
    parts = PurePosixPath(name).parts
    if not name or name.startswith("/") or "\\" in name or "\x00" in name or any(p in ("..", ".") for p in parts):
        return f"备份文件含不安全的路径：{name[:200]!r}"
    if not (member.isfile() or member.isdir()):
        return f"备份文件含链接、设备或其他特殊文件：{name[:200]!r}（只允许普通文件和目录）"
    top = parts[0]
    if top == "files":
        if len(parts) > 1 and parts[1] not in FILE_AREAS:
            return f"备份文件含未知的文件区：{name[:200]!r}"
    elif not (len(parts) == 1 and (top == MANIFEST or top in DATABASE_FILES.values())):
        return f"备份文件含清单之外的内容：{name[:200]!r}"
    if member.isdir() and top != "files":
        return f"备份文件结构有误：{name[:200]!r} 应为文件"
    return None


def _extract(path: Path, workdir: Path) -> None:
    """Check every member of the bundle, then extract it into `workdir` (nothing is written elsewhere)."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = tar.getmembers()  # reads the whole archive: a truncated or damaged one fails here
            seen: set[str] = set()
            for member in members:
                problem = _member_problem(member)
                if problem:
                    raise BackupError(problem)
                if member.isfile() and member.name in seen:
                    raise BackupError(f"备份文件中 {member.name[:200]!r} 出现了不止一次")
                seen.add(member.name)
            tar.extractall(workdir, members=members, filter="data")
    except BackupError:
        raise
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise BackupError(f"无法读取备份文件 {path}：{exc}") from exc


def _require(manifest: dict, key: str, kind: type, label: str):
    value = manifest.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BackupError(f"manifest.json 的字段 {key} 应为{label}")
    return value


def check_manifest(manifest) -> dict:
    """Validate the manifest's keys, types and names; return it, or raise BackupError in Chinese."""
    if not isinstance(manifest, dict):
        raise BackupError("manifest.json 应为一个 JSON 对象")
    required = ("format", "dialect", "created_at", "database_file", "counts", "hashes", "files")
    missing = [key for key in required if key not in manifest]
    if missing:
        raise BackupError(f"manifest.json 缺少字段：{'、'.join(missing)}")
    if _require(manifest, "format", int, "整数") != FORMAT:
        raise BackupError(f"备份格式版本 {manifest['format']} 不受支持（应为 {FORMAT}）")
    dialect = _require(manifest, "dialect", str, "文本")
    if dialect not in DATABASE_FILES:
        raise BackupError(f"manifest.json 的数据库类型 {dialect[:40]!r} 不受支持")
    try:
        datetime.fromisoformat(_require(manifest, "created_at", str, "文本（ISO 时间）"))
    except ValueError:
        raise BackupError("manifest.json 的字段 created_at 不是有效的 ISO 时间") from None
    if _require(manifest, "database_file", str, "文本") != DATABASE_FILES[dialect]:
        # Never a path taken from the bundle: the name is fixed by the dialect.
        raise BackupError(f"manifest.json 的 database_file 应为 {DATABASE_FILES[dialect]}，"
                          f"而不是 {manifest['database_file'][:200]!r}")
    if "database_sha256" in manifest and not (isinstance(manifest["database_sha256"], str)
                                               and _SHA256.fullmatch(manifest["database_sha256"])):
        raise BackupError("manifest.json 的字段 database_sha256 应为 64 位十六进制 SHA-256")
    counts = _require(manifest, "counts", dict, "对象（表名 → 行数）")
    hashes = _require(manifest, "hashes", dict, "对象（表名 → 内容哈希）")
    for table, count in counts.items():
        if not _TABLE.fullmatch(table) or not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise BackupError(f"manifest.json 的 counts 中 {table[:64]!r} 的值有误")
    if set(hashes) != set(counts) or not all(isinstance(v, str) and _SHA256.fullmatch(v) for v in hashes.values()):
        raise BackupError("manifest.json 的 hashes 应与 counts 列出同样的表，每张表一个 SHA-256")
    for rel, digest in _require(manifest, "files", dict, "对象（文件 → SHA-256）").items():
        parts = PurePosixPath(rel).parts
        if (len(parts) < 2 or parts[0] not in FILE_AREAS or rel.startswith("/") or "\\" in rel
                or any(p in ("..", ".") for p in parts)):
            raise BackupError(f"manifest.json 的 files 中有不安全的路径：{rel[:200]!r}")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise BackupError(f"manifest.json 中文件 {rel[:200]} 的 SHA-256 有误")
    return manifest


def _check_contents(workdir: Path, manifest: dict) -> None:
    """Check the extracted database file and instance files against the manifest."""
    dump = workdir / manifest["database_file"]
    if not dump.is_file() or dump.is_symlink():
        raise BackupError(f"备份中缺少数据库文件 {manifest['database_file']}")
    recorded = manifest.get("database_sha256")
    if recorded and _sha256_file(dump) != recorded:
        raise BackupError(f"数据库文件 {manifest['database_file']} 的 SHA-256 与清单不符：备份已损坏或被改动")
    if manifest["dialect"] == "sqlite":
        _check_sqlite_file(dump)
    else:
        try:  # reads the archive's table of contents: a file that is not a pg_dump archive fails here
            _run(["pg_restore", "--list", str(dump)], dict(os.environ))
        except BackupError as exc:
            raise BackupError(f"数据库文件不是有效的 pg_dump 归档：{exc}") from exc
    listed = manifest["files"]
    for rel, digest in listed.items():
        path = workdir / "files" / rel
        if not path.is_file() or path.is_symlink():
            raise BackupError(f"备份中缺少清单列出的文件 {rel[:200]}")
        if _sha256_file(path) != digest:
            raise BackupError(f"文件 {rel[:200]} 的 SHA-256 与清单不符：备份已损坏或被改动")
    root = workdir / "files"
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.is_dir() else set()
    extra = sorted(present - set(listed))
    if extra:
        raise BackupError(f"备份中有清单未列出的文件：{'、'.join(e[:100] for e in extra[:5])}")


def _check_sqlite_file(dump: Path) -> None:
    try:
        conn = sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"数据库文件不是有效的 SQLite 数据库：{exc}") from exc
    if not result or result[0] != "ok":
        raise BackupError(f"数据库文件已损坏（SQLite quick_check：{result[0] if result else '无结果'}）")


def _read_bundle(path: Path, workdir: Path) -> dict:
    """Extract and check the whole bundle in `workdir`; return its manifest. Nothing else is touched."""
    _extract(path, workdir)
    try:
        manifest = json.loads((workdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError("备份文件缺少有效的 manifest.json") from exc
    check_manifest(manifest)
    _check_contents(workdir, manifest)
    return manifest


def _restore_database(workdir: Path, manifest: dict) -> None:
    dump = workdir / manifest["database_file"]
    db.session.remove()
    if _dialect() == "sqlite":
        source = sqlite3.connect(dump)
        raw = db.engine.raw_connection()
        try:
            source.backup(raw.driver_connection)
        finally:
            raw.close()
            source.close()
    else:
        conn_url, env = libpq_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
        # One transaction: a failed restore leaves the target as it was.
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              f"--dbname={conn_url}", str(dump)], env)
    db.engine.dispose()


def _restore_files(workdir: Path) -> None:
    dirs = file_dirs()
    for area in FILE_AREAS:
        src = workdir / "files" / area
        if src.is_dir():
            shutil.copytree(src, dirs[area], dirs_exist_ok=True)


def restore(path: str | Path, force: bool = False) -> tuple[dict, Summary, list[str]]:
    """Restore a bundle into the app's database and file areas; return (manifest, restored summary, differences).

    Everything that can be checked is checked before the target is touched: a bundle that fails any
    check raises BackupError and leaves the database and the file areas exactly as they were.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="registry-restore-") as tmp:
        workdir = Path(tmp)
        try:
            manifest = _read_bundle(path, workdir)
            if manifest["dialect"] != _dialect():
                raise BackupError(f"备份来自 {manifest['dialect']} 数据库，不能恢复到 {_dialect()} 数据库")
            rows = target_rows()
            if rows and not force:
                raise BackupError(f"目标数据库不是空库（已有 {rows} 行数据）；确认要覆盖请加 --force")
        except BackupError as exc:
            raise BackupError(f"{exc}（目标数据库和文件未作任何改动）") from exc
        try:
            _restore_database(workdir, manifest)
            _restore_files(workdir)
        except (OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
            raise BackupError(f"恢复过程中出错：{exc}") from exc
    summary = summarize()
    return manifest, summary, compare(manifest, summary)


def compare(manifest: dict, summary: Summary) -> list[str]:
    """Differences (Chinese lines) between a manifest and a restored state; empty when nothing was lost."""
    problems = []
    for table, count in manifest["counts"].items():
        got = summary.counts.get(table)
        if got != count:
            problems.append(f"表 {table}：备份 {count} 行，恢复后 {got} 行")
        elif summary.hashes.get(table) != manifest["hashes"].get(table):
            problems.append(f"表 {table}：内容哈希不一致")
    for rel, digest in manifest["files"].items():
        if summary.files.get(rel) != digest:
            problems.append(f"文件 {rel}：缺失或内容不一致")
    return problems

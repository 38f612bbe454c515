"""Backup and restore of the whole registry: the database plus the instance files (notice PDFs, seals).

A backup is one .tar.gz bundle:
  manifest.json   format version, dialect, creation time, row counts and a content hash of every table,
                  and the SHA-256 of every file;
  db.sqlite       SQLite: a consistent online copy made with the sqlite3 backup API, or
  db.pgdump       PostgreSQL: `pg_dump --format=custom` (schema, data, functions and triggers);
  files/notices/… and files/seals/…  the instance files.
Restore refuses a target that already holds rows unless forced, then checks the restored counts and
hashes against the manifest, so a silent loss shows up at once.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from registry.extensions import db

FORMAT = 1
FILE_AREAS = ("notices", "seals")


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
    """The instance file areas of the current app."""
    from registry.notices.storage import notices_dir, seals_dir
    return {"notices": notices_dir(), "seals": seals_dir()}


def _file_hashes(dirs: dict[str, Path]) -> dict[str, str]:
    out = {}
    for area, base in dirs.items():
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp")):
            out[f"{area}/{path.relative_to(base).as_posix()}"] = hashlib.sha256(path.read_bytes()).hexdigest()
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
        manifest = {"format": FORMAT, "dialect": _dialect(), "created_at": datetime.now(timezone.utc).isoformat(),
                    "database_file": dump_name, "counts": summary.counts, "hashes": summary.hashes,
                    "files": summary.files}
        dirs = file_dirs()
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
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


def _read_bundle(path: Path, workdir: Path) -> dict:
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.extractall(workdir, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"无法读取备份文件 {path}：{exc}") from exc
    try:
        manifest = json.loads((workdir / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError("备份文件缺少有效的 manifest.json") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式版本 {manifest.get('format')} 不受支持")
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
    """Restore a bundle into the app's database and file areas; return (manifest, restored summary, differences)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="registry-restore-") as tmp:
        workdir = Path(tmp)
        manifest = _read_bundle(path, workdir)
        if manifest["dialect"] != _dialect():
            raise BackupError(f"备份来自 {manifest['dialect']} 数据库，不能恢复到 {_dialect()} 数据库")
        rows = target_rows()
        if rows and not force:
            raise BackupError(f"目标数据库不是空库（已有 {rows} 行数据）；确认要覆盖请加 --force")
        _restore_database(workdir, manifest)
        _restore_files(workdir)
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

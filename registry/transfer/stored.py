"""Uploads awaiting their mapping and error reports, kept a day for their uploader under FILES_ROOT/imports."""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from registry.errors import NotFound
from registry.storage import files_dir

MAX_AGE = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _folder() -> Path:
    return files_dir("imports")


def save(data: bytes, filename: str, user_id: int | None, suffix: str = ".xlsx", **meta) -> str:
    """Keep `data` (an upload, `.upload`, or an error report, `.xlsx`) for its owner; return its token."""
    folder, now = _folder(), time.time()
    for entry in os.scandir(folder):
        if now - entry.stat().st_mtime > MAX_AGE:
            os.unlink(entry.path)
    token = secrets.token_urlsafe(24)
    (folder / (token + suffix)).write_bytes(data)
    (folder / (token + ".json")).write_text(json.dumps({"user_id": user_id, "filename": filename, **meta}))
    return token


def meta_of(token: str, user_id: int | None) -> dict:
    """Return the metadata of one's own stored file, or NotFound."""
    if not _TOKEN.match(token or ""):
        raise NotFound("文件不存在或已过期（保留 24 小时），请重新上传")
    try:
        meta = json.loads((_folder() / (token + ".json")).read_text())
    except (OSError, ValueError):
        raise NotFound("文件不存在或已过期（保留 24 小时），请重新上传") from None
    if meta.get("user_id") != user_id:
        raise NotFound("文件不存在或已过期（保留 24 小时），请重新上传")
    return meta


def load(token: str, user_id: int | None, suffix: str = ".upload") -> tuple[bytes, dict]:
    """Return one's own stored file and its metadata, or NotFound."""
    meta = meta_of(token, user_id)
    try:
        return (_folder() / (token + suffix)).read_bytes(), meta
    except OSError:
        raise NotFound("文件不存在或已过期（保留 24 小时），请重新上传") from None


def path_of(token: str, user_id: int | None, suffix: str = ".xlsx") -> tuple[Path, dict]:
    """Return the path of one's own stored file (for sending it), or NotFound."""
    meta = meta_of(token, user_id)
    path = _folder() / (token + suffix)
    if not path.exists():
        raise NotFound("文件不存在或已过期（保留 24 小时），请重新上传")
    return path, meta

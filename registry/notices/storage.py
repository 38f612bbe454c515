"""Files kept under FILES_ROOT: each issued notice's PDF, the departments' seal images, merged batch prints."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path


from registry.notices.models import DepartmentSeal, Notice
from registry.storage import files_dir

BATCH_MAX_AGE = 7 * 24 * 3600  # a merged batch print is kept a week for its requester, then pruned


def notices_dir() -> Path:
    """Return FILES_ROOT/notices, or NOTICE_FILES_DIR where set (created on demand)."""
    return files_dir("notices", "NOTICE_FILES_DIR")


def seals_dir() -> Path:
    """Return FILES_ROOT/seals, or SEAL_FILES_DIR where set (created on demand)."""
    return files_dir("seals", "SEAL_FILES_DIR")


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def store_notice_pdf(notice: Notice, data: bytes) -> None:
    """Write the notice's PDF file and record its path and hash on the row (caller commits)."""
    rel = f"{notice.year}/{notice.department.code}/{notice.serial}-{notice.id}.pdf"
    _write_atomic(notices_dir() / rel, data)
    notice.pdf_path, notice.pdf_sha256 = rel, sha256(data)


def notice_pdf_path(notice: Notice) -> Path | None:
    """Return the stored PDF of `notice` if it exists and is intact."""
    if not notice.pdf_path:
        return None
    path = notices_dir() / notice.pdf_path
    return path if path.is_file() else None


def store_seal(department_code: str, data: bytes) -> tuple[str, str]:
    """Write a seal image; return (relative path, sha256)."""
    digest = sha256(data)
    rel = f"{department_code}/{digest[:16]}.png"
    _write_atomic(seals_dir() / rel, data)
    return rel, digest


def seal_file(seal: DepartmentSeal | None) -> Path | None:
    """Return the image file of `seal`, if present."""
    if seal is None:
        return None
    path = seals_dir() / seal.path
    return path if path.is_file() else None


def batches_dir() -> Path:
    """Return FILES_ROOT/notice-prints: the merged PDFs of batch prints run in the background."""
    return files_dir("notice-prints")


def store_batch(task_id: int, data: bytes) -> None:
    """Keep the merged PDF of one background batch print (and prune those older than BATCH_MAX_AGE)."""
    folder, now = batches_dir(), time.time()
    for entry in os.scandir(folder):
        if entry.is_file() and now - entry.stat().st_mtime > BATCH_MAX_AGE:
            os.unlink(entry.path)
    _write_atomic(folder / f"{int(task_id)}.pdf", data)


def batch_file(task_id: int) -> Path | None:
    """Return the merged PDF of a background batch print, if still kept."""
    path = batches_dir() / f"{int(task_id)}.pdf"
    return path if path.is_file() else None

"""Files kept in the instance folder: each issued notice's PDF and the departments' seal images."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import current_app

from registry.notices.models import DepartmentSeal, Notice


def notices_dir() -> Path:
    """Return instance/notices (created on demand)."""
    path = Path(current_app.config["NOTICE_FILES_DIR"] or Path(current_app.instance_path) / "notices")
    path.mkdir(parents=True, exist_ok=True)
    return path


def seals_dir() -> Path:
    """Return instance/seals (created on demand)."""
    path = Path(current_app.config["SEAL_FILES_DIR"] or Path(current_app.instance_path) / "seals")
    path.mkdir(parents=True, exist_ok=True)
    return path


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

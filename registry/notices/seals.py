"""Department seal images (印章): uploaded by the department's maintainer, placed on new notices."""
from __future__ import annotations

import io
import struct
import warnings

import sqlalchemy as sa
from flask import current_app
from PIL import Image, UnidentifiedImageError

from registry.audit import services as audit
from registry.enums import Role
from registry.errors import PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices.models import DepartmentSeal
from registry.notices.storage import store_seal
from registry.orgs.models import Department
from registry.transactions import atomic

SEAL_ROLES = {Role.MAINTAINER}


def active_seal(department_id: int) -> DepartmentSeal | None:
    """Return the department's current seal, if one was uploaded."""
    return db.session.scalar(sa.select(DepartmentSeal).where(DepartmentSeal.department_id == department_id,
                                                             DepartmentSeal.active.is_(True))
                             .order_by(DepartmentSeal.id.desc()).limit(1))


def header_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a PNG's IHDR or a JPEG's frame header without decoding; None if not found."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 <= len(data):  # walk the JPEG segments up to the first start-of-frame
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    return None


def _normalised_png(data: bytes) -> bytes:
    """Check the upload is a sane image and re-encode it as RGBA PNG (drops metadata, keeps transparency)."""
    if not data:
        raise ValidationFailed("请选择印章图片文件", {"file": ["文件为空"]})
    if len(data) > current_app.config["SEAL_MAX_BYTES"]:
        raise ValidationFailed("印章图片过大", {"file": ["印章图片不能超过 2 MB"]})
    size = header_size(data)
    if size is not None and not (100 <= size[0] <= 3000 and 100 <= size[1] <= 3000):
        # Checked from the header before decoding: a PNG claiming 20000×20000 pixels never reaches Pillow.
        raise ValidationFailed("印章图片尺寸不合适", {"file": ["宽、高须在 100 至 3000 像素之间"]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed("印章图片尺寸不合适", {"file": ["宽、高须在 100 至 3000 像素之间"]}) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationFailed("无法识别的图片文件", {"file": ["文件不是有效的图片"]}) from exc
    try:
        with img:
            if img.format not in ("PNG", "JPEG"):
                raise ValidationFailed("印章图片格式不支持", {"file": ["请上传 PNG（推荐透明背景）或 JPEG 图片"]})
            if not (100 <= img.width <= 3000 and 100 <= img.height <= 3000):
                raise ValidationFailed("印章图片尺寸不合适", {"file": ["宽、高须在 100 至 3000 像素之间"]})
            out = io.BytesIO()
            img.convert("RGBA").save(out, format="PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationFailed("无法识别的图片文件", {"file": ["文件不是有效的图片"]}) from exc


@atomic
def upload_seal(department: Department, data: bytes, user) -> DepartmentSeal:
    """Store a new seal image for `department` (the previous one is kept but inactive); commits."""
    if user is not None and (user.role not in SEAL_ROLES or user.department_id != department.id):
        raise PermissionDenied("仅本部门维护员可以上传本部门印章")
    png = _normalised_png(data)
    rel, digest = store_seal(department.code, png)
    db.session.execute(sa.update(DepartmentSeal).where(DepartmentSeal.department_id == department.id)
                       .values(active=False))
    seal = DepartmentSeal(department_id=department.id, path=rel, sha256=digest,
                          uploaded_by_id=getattr(user, "id", None), active=True)
    db.session.add(seal)
    db.session.flush()
    audit.record("notice.seal.upload", object_type="department", object_id=department.code, user=user,
                 details={"sha256": digest, "seal_id": seal.id})
    db.session.commit()
    return seal

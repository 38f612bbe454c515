"""Department seal images (印章): uploaded by the department's maintainer, placed on new notices."""
from __future__ import annotations

import io

import sqlalchemy as sa
from flask import current_app

from registry.audit import services as audit
from registry.enums import Role
from registry.errors import PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.notices.models import DepartmentSeal
from registry.notices.storage import store_seal
from registry.orgs.models import Department

SEAL_ROLES = {Role.MAINTAINER}


def active_seal(department_id: int) -> DepartmentSeal | None:
    """Return the department's current seal, if one was uploaded."""
    return db.session.scalar(sa.select(DepartmentSeal).where(DepartmentSeal.department_id == department_id,
                                                             DepartmentSeal.active.is_(True))
                             .order_by(DepartmentSeal.id.desc()).limit(1))


def _normalised_png(data: bytes) -> bytes:
    """Check the upload is a sane image and re-encode it as RGBA PNG (drops metadata, keeps transparency)."""
    from PIL import Image, UnidentifiedImageError
    if not data:
        raise ValidationFailed("请选择印章图片文件", {"file": ["文件为空"]})
    if len(data) > current_app.config["SEAL_MAX_BYTES"]:
        raise ValidationFailed("印章图片过大", {"file": ["印章图片不能超过 2 MB"]})
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("PNG", "JPEG"):
                raise ValidationFailed("印章图片格式不支持", {"file": ["请上传 PNG（推荐透明背景）或 JPEG 图片"]})
            if not (100 <= img.width <= 3000 and 100 <= img.height <= 3000):
                raise ValidationFailed("印章图片尺寸不合适", {"file": ["宽、高须在 100 至 3000 像素之间"]})
            out = io.BytesIO()
            img.convert("RGBA").save(out, format="PNG", optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationFailed("无法识别的图片文件", {"file": ["文件不是有效的图片"]}) from exc


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

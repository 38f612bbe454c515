"""Condition assessments: an inspector's graded visit; the latest one is the asset's current grade."""
from __future__ import annotations

import os
import secrets
from datetime import date

import sqlalchemy as sa
from flask import current_app

from registry import clock
from registry.assets.fields import FieldError, parse_date
from registry.assets.history import add_changes, display_value
from registry.assets.models import ConditionAssessment
from registry.assets.services import get_readable
from registry.audit import services as audit
from registry.enums import ConditionGrade, Role
from registry.errors import NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.storage import files_dir

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Accepted photo types, recognised by their first bytes (the browser's content type is not trusted).
PHOTO_MAGIC = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))


def is_grade_stale(asset, as_of: date | None = None, stale_days: int | None = None) -> bool:
    """Tell whether the asset's grade is older than CONDITION_STALE_DAYS (or has no assessment date)."""
    if asset.condition_grade is None:
        return False  # no grade at all is "missing", reported separately from "stale"
    if asset.condition_assessed_on is None:
        return True
    if stale_days is None:
        stale_days = current_app.config["CONDITION_STALE_DAYS"]
    return ((as_of or clock.today()) - asset.condition_assessed_on).days > stale_days


# Scanned documents (disposal certificates, receipts) may also be PDFs.
DOCUMENT_MAGIC = ((b"%PDF-", "application/pdf", ".pdf"), *PHOTO_MAGIC)


def check_upload(upload, field: str = "photo", label: str = "现场照片", kinds=PHOTO_MAGIC,
                 kinds_text: str = "JPEG 或 PNG 图片") -> tuple[bytes, str, str] | None:
    """Return (bytes, content type, extension) of an uploaded file recognised by its first bytes, or None if absent."""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    data = upload.stream.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationFailed(f"{label}过大", {field: [f"{label}：不能超过 {PHOTO_MAX_BYTES // (1024 * 1024)} MB"]})
    if not data:
        raise ValidationFailed(f"{label}为空", {field: [f"{label}：文件为空"]})
    for magic, ctype, ext in kinds:
        if data.startswith(magic):
            return data, ctype, ext
    raise ValidationFailed(f"{label}格式不支持", {field: [f"{label}：只接受 {kinds_text}"]})


def _check_photo(photo) -> tuple[bytes, str, str] | None:
    """Return (bytes, content type, extension) of an uploaded photo, or None when no file was sent."""
    return check_upload(photo)


def uploads_root() -> str:
    """Return the uploads folder: UPLOAD_FOLDER if configured, else FILES_ROOT/uploads."""
    return str(files_dir("uploads", "UPLOAD_FOLDER"))


def upload_dir() -> str:
    """Return the folder assessment photos are stored in."""
    path = os.path.join(uploads_root(), "assessments")
    os.makedirs(path, exist_ok=True)
    return path


def _text(value) -> str | None:
    """Return `value` stripped (None and "" give ""), or None when it is not text (a JSON list, number ...)."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def parse_assessment(raw: dict) -> dict:
    """Parse assessed_on / assessor / grade / findings from strings; raise ValidationFailed in Chinese."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    try:
        values["assessed_on"], _w = parse_date(raw.get("assessed_on"))
        if values["assessed_on"] is None:
            errors["assessed_on"] = ["评定日期：不能为空"]
    except FieldError as exc:
        errors["assessed_on"] = [f"评定日期：{exc.message}"]
    assessor = _text(raw.get("assessor"))
    if assessor is None:
        errors["assessor"] = ["评定人：应为文本"]
    elif not assessor:
        errors["assessor"] = ["评定人：不能为空"]
    elif len(assessor) > 64:
        errors["assessor"] = ["评定人：不能超过 64 个字符"]
    values["assessor"] = assessor
    try:
        values["grade"] = ConditionGrade.from_label(_text(raw.get("grade")) or "")
    except KeyError:
        errors["grade"] = [f"状况等级：请选择 {'/'.join(ConditionGrade.labels())} 之一"]
    findings = _text(raw.get("findings"))
    if findings is None:
        errors["findings"] = ["检查发现：应为文本"]
    elif len(findings) > 4000:
        errors["findings"] = ["检查发现：不能超过 4000 个字符"]
    values["findings"] = findings
    if errors:
        raise ValidationFailed("评定记录校验未通过", errors)
    return values


def record_assessment(asset_id: int, user, *, assessed_on: date, assessor: str, grade: ConditionGrade,
                      findings: str = "", photo=None) -> ConditionAssessment:
    """Record an inspector's assessment; when it is the latest, it becomes the asset's grade. Commit."""
    asset = get_readable(asset_id, user)
    if getattr(user, "role", None) is not Role.INSPECTOR:
        raise PermissionDenied("只有检查员可以录入状况评定")
    if asset.deleted_at is not None:
        raise ValidationFailed("该设备已删除", {"_schema": ["已删除的设备不能再评定"]})
    if assessed_on > clock.today():  # the local day (the database no longer checks this)
        raise ValidationFailed("评定记录校验未通过",
                               {"assessed_on": [f"评定日期：「{assessed_on.isoformat()}」晚于今天，不能填写未来日期"]})
    photo_data = _check_photo(photo)
    row = ConditionAssessment(asset_id=asset.id, assessed_on=assessed_on, assessor=assessor, grade=grade,
                              findings=findings, recorded_by_id=user.id)
    path = None
    if photo_data:
        data, ctype, ext = photo_data
        name = secrets.token_hex(16) + ext
        path = os.path.join(upload_dir(), name)
        with open(path, "wb") as fh:
            fh.write(data)
        row.photo_path, row.photo_content_type = f"assessments/{name}", ctype
    try:
        db.session.add(row)
        current = asset.condition_assessed_on is None or assessed_on >= asset.condition_assessed_on
        before = {"condition_grade": display_value(asset.condition_grade),
                  "condition_assessed_on": display_value(asset.condition_assessed_on)}
        if current:
            asset.condition_grade, asset.condition_assessed_on = grade, assessed_on
        db.session.flush()
        after = {"condition_grade": display_value(asset.condition_grade),
                 "condition_assessed_on": display_value(asset.condition_assessed_on)}
        add_changes(asset, before, after, "assess", user)
        audit.record("asset.assess", object_type="asset", object_id=asset.id,
                     details={"assessment_id": row.id, "assessed_on": assessed_on.isoformat(), "grade": grade.label,
                              "became_current": current, "before": before, "after": after})
        db.session.commit()
    except Exception:
        db.session.rollback()
        if path and os.path.exists(path):
            os.remove(path)  # no orphan file when the row was not written
        raise
    return row


def assessments_for(asset_id: int) -> list[ConditionAssessment]:
    """Return an asset's assessments, latest first."""
    return list(db.session.scalars(
        sa.select(ConditionAssessment).where(ConditionAssessment.asset_id == asset_id)
        .order_by(ConditionAssessment.assessed_on.desc(), ConditionAssessment.id.desc())))


def photo_of(assessment_id: int, user) -> tuple[str, str]:
    """Return (absolute path, content type) of an assessment photo the user may see."""
    row = db.session.get(ConditionAssessment, assessment_id)
    if row is None or not row.photo_path:
        raise NotFound("照片不存在")
    get_readable(row.asset_id, user)
    return os.path.join(uploads_root(), row.photo_path), row.photo_content_type

"""Pages for Excel transfer: template download, upload with error report, and export."""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import time

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.scoping import editable_categories
from registry.assets import excel, exporter
from registry.assets.filters import parse_filters
from registry.assets.importer import run_import
from registry.assets.upload import ImportRejected, TooLarge
from registry.audit import services as audit
from registry.enums import Category, Role
from registry.extensions import db
from registry.orgs.reference import TOWNSHIPS

bp = Blueprint("transfer", __name__, url_prefix="/assets")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_PROBLEMS = 500
REPORT_MAX_AGE = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _reports_dir() -> str:
    path = os.path.join(current_app.instance_path, "import-reports")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _save_report(data: bytes, filename: str) -> str:
    """Keep an error report for its uploader for a day; return its token."""
    folder, now = _reports_dir(), time.time()
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        if now - os.path.getmtime(full) > REPORT_MAX_AGE:
            os.unlink(full)
    token = secrets.token_urlsafe(24)
    with open(os.path.join(folder, token + ".xlsx"), "wb") as fh:
        fh.write(data)
    with open(os.path.join(folder, token + ".json"), "w") as fh:
        json.dump({"user_id": current_user.id, "filename": filename}, fh)
    return token


def _page_context() -> dict:
    readable = list(Category)
    return {"categories": readable, "editable": editable_categories(current_user), "townships": TOWNSHIPS,
            "can_import": current_user.role is Role.MAINTAINER}


@bp.route("/transfer")
@roles_required(*BUSINESS_READERS)
def index():
    """Show template downloads, the upload form and the export form."""
    return render_template("transfer/index.html", **_page_context())


@bp.route("/templates/<category>.xlsx")
@roles_required(*BUSINESS_READERS)
def template(category: str):
    """Download the import template of one category."""
    try:
        cat = Category(category)
    except ValueError:
        abort(404)
    data = excel.build_template(cat)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"{cat.label}导入模板.xlsx")


def _read_upload():
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        raise TooLarge(f"上传文件超过 {limit} MB 的大小上限，请拆分后分批导入") from None
    if upload is None or not upload.filename:
        raise ImportRejected("请选择要导入的 .xlsx 或 .csv 文件")
    return upload.filename, upload.read()


@bp.route("/import", methods=["POST"])
@roles_required(Role.MAINTAINER)
def import_upload():
    """Validate an uploaded file; write it all, or show every problem and offer the marked-up copy."""
    filename = "?"
    category = None
    try:
        filename, data = _read_upload()
        raw_category = request.form.get("category", "")
        if raw_category:
            try:
                category = Category(raw_category)
            except ValueError:
                raise ImportRejected("所选设备类别无效") from None
        result = run_import(data, filename, current_user, category,
                            max_rows=current_app.config["IMPORT_MAX_ROWS"])
    except ImportRejected as exc:
        db.session.rollback()
        audit.record("asset.import", outcome="rejected", object_type="asset",
                     details={"file": filename, "reason": exc.message})
        db.session.commit()
        return render_template("transfer/result.html", rejected=exc, filename=filename,
                               **_page_context()), exc.status
    if not result.ok:
        audit.record("asset.import", outcome="rejected", object_type="asset",
                     details={"file": filename, "errors": len(result.errors), "rows": result.rows})
        db.session.commit()
        token = _save_report(excel.error_report(result), filename)
        return render_template("transfer/result.html", result=result, token=token, shown=SHOWN_PROBLEMS,
                               filename=filename, **_page_context()), 422
    return render_template("transfer/result.html", result=result, shown=SHOWN_PROBLEMS, filename=filename,
                           **_page_context())


@bp.route("/import/report/<token>")
@roles_required(Role.MAINTAINER)
def import_report(token: str):
    """Download the marked-up copy of one's own rejected upload."""
    if not _TOKEN.match(token):
        abort(404)
    folder = _reports_dir()
    try:
        with open(os.path.join(folder, token + ".json")) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        abort(404)
    if meta.get("user_id") != current_user.id:
        abort(404)
    stem = os.path.splitext(meta.get("filename") or "导入")[0]
    return send_file(os.path.join(folder, token + ".xlsx"), mimetype=XLSX, as_attachment=True,
                     download_name=f"{stem}-错误标注.xlsx")


@bp.route("/export")
@roles_required(*BUSINESS_READERS)
def export():
    """Download the filtered list (same filters as the list page) as an .xlsx 台账."""
    filters = parse_filters(request.args)
    fh, _count = exporter.export_to_tempfile(filters, current_user, via="web")
    return send_file(fh, mimetype=XLSX, as_attachment=True,
                     download_name=exporter.export_filename(filters.category))


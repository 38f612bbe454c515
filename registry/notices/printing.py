"""Render notices to PDF: store each issued notice, serve stored files, merge batches for printing."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa

from registry.extensions import db
from registry.notices.documents import build_document
from registry.notices.models import DepartmentSeal, Notice
from registry.notices.storage import notice_pdf_path, seal_file, store_notice_pdf
from registry.pdf import PdfJob, render_each, render_many

TEMPLATE = "pdf/notice.html"


def notice_job(notice: Notice) -> PdfJob:
    """Return the PDF job of a stored notice (its seal is the one recorded at issue)."""
    seal = db.session.get(DepartmentSeal, notice.seal_id) if notice.seal_id else None
    return PdfJob(TEMPLATE, {"doc": build_document(notice, seal_file(seal))})


def render_notice(notice: Notice) -> bytes:
    """Render one notice to PDF bytes (deterministic)."""
    from registry.pdf import render_pdf
    job = notice_job(notice)
    return render_pdf(job.template_name, job.context)


def render_and_store(notices: Iterable[Notice], progress=None) -> int:
    """Render and store the PDF of each notice; commit; return how many were written."""
    notices = list(notices)
    for notice, data in zip(notices, render_each((notice_job(n) for n in notices), progress)):
        store_notice_pdf(notice, data)
    db.session.commit()
    return len(notices)


def ensure_pdf(notice: Notice) -> Path:
    """Return the stored PDF of `notice`, rendering it first if missing."""
    path = notice_pdf_path(notice)
    if path is None:
        render_and_store([notice])
        path = notice_pdf_path(notice)
    return path


def print_order(stmt: sa.Select) -> sa.Select:
    """Order notices as an inspector walks the route: township, then unit, then number."""
    return stmt.order_by(Notice.township, Notice.owner_unit_id, Notice.department_id, Notice.year, Notice.serial)


def print_batch(notices: list[Notice], user, progress=None) -> bytes:
    """Merge `notices` (already in print order) into one PDF; record the printing; commit."""
    from registry.audit import services as audit
    if not notices:
        from registry.errors import ValidationFailed
        raise ValidationFailed("没有符合条件的通知书可打印")
    data = render_many((notice_job(n) for n in notices), progress)
    now = datetime.now(timezone.utc)
    for notice in notices:
        notice.printed_at = now
    audit.record("notice.print", object_type="notice", user=user,
                 details={"count": len(notices), "numbers": [n.number for n in notices]})
    for notice in notices:
        add_event_print(notice, user)
    db.session.commit()
    return data


def add_event_print(notice: Notice, user) -> None:
    """Record a print event without a status change (no per-notice audit: the batch record lists them)."""
    from registry.notices.models import NoticeEvent
    db.session.add(NoticeEvent(notice=notice, action="print", user_id=getattr(user, "id", None),
                               from_status=notice.status, to_status=notice.status))



def pdf_response(notice: Notice):
    """Return the stored PDF as a download response (read whole: notices are ~100 KB)."""
    from urllib.parse import quote
    from flask import Response
    data = ensure_pdf(notice).read_bytes()
    name = quote(f"{notice.number}.pdf")
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=notice-{notice.id}.pdf; filename*=UTF-8''{name}",
        "ETag": f'"{notice.pdf_sha256}"', "Cache-Control": "private, max-age=0"})

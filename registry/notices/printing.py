"""Render one notice to PDF, store it, and serve the stored file (batches: notices/batch.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import sqlalchemy as sa
from flask import current_app

from registry.downloads import send_bytes
from registry.extensions import db
from registry.notices.documents import build_document
from registry.notices.models import DepartmentSeal, Notice, NoticeEvent
from registry.notices.storage import notice_pdf_path, seal_file, seals_dir, store_notice_pdf
from registry.pdf import PdfJob, render_each, render_pdf

TEMPLATE = "pdf/notice.html"


def notice_job(notice: Notice) -> PdfJob:
    """Return the PDF job of a stored notice (its seal is the one recorded at issue)."""
    seal = db.session.get(DepartmentSeal, notice.seal_id) if notice.seal_id else None
    # The seal image is the only file outside registry/static a notice may embed.
    return PdfJob(TEMPLATE, {"doc": build_document(notice, seal_file(seal))}, resource_dirs=(seals_dir(),))


def render_notice(notice: Notice) -> bytes:
    """Render one notice to PDF bytes (deterministic)."""
    job = notice_job(notice)
    return render_pdf(job.template_name, job.context, job.stylesheet, job.resource_dirs)


def render_and_store(notices: Iterable[Notice], progress=None) -> int:
    """Render and store the PDF of each notice; commit; return how many were written."""
    notices = list(notices)
    for notice, data in zip(notices, render_each((notice_job(n) for n in notices), progress)):
        store_notice_pdf(notice, data)
    db.session.commit()
    return len(notices)


def ensure_pdf(notice: Notice) -> Path:
    """Return the stored PDF of `notice`, rendering and storing it first if missing (its task pending or failed)."""
    path = notice_pdf_path(notice)
    if path is None:
        current_app.logger.warning("notice %s (%s) had no stored PDF: rendered and stored on demand",
                                   notice.id, notice.number)
        render_and_store([notice])
        path = notice_pdf_path(notice)
    return path


def print_order(stmt: sa.Select) -> sa.Select:
    """Order notices as an inspector walks the route: township, then unit, then number."""
    return stmt.order_by(Notice.township, Notice.owner_unit_id, Notice.department_id, Notice.year, Notice.serial)


def add_event_print(notice: Notice, user) -> None:
    """Record a print event without a status change (no per-notice audit: the batch record lists them)."""
    db.session.add(NoticeEvent(notice=notice, action="print", user_id=getattr(user, "id", None),
                               from_status=notice.status, to_status=notice.status))


def pdf_response(notice: Notice):
    """Return the stored PDF as a download response (read whole: notices are ~100 KB)."""
    return send_bytes(ensure_pdf(notice).read_bytes(), f"{notice.number}.pdf", fallback=f"notice-{notice.id}.pdf",
                      headers={"ETag": f'"{notice.pdf_sha256}"', "Cache-Control": "private, max-age=0"})

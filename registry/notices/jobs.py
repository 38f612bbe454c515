"""Scheduled work for notices; the scheduler (jobs branch) calls these with an app context."""
from __future__ import annotations

import sqlalchemy as sa

from registry.extensions import db
from registry.notices.lifecycle import mark_overdue, overdue_list
from registry.notices.models import Notice
from registry.notices.printing import render_and_store
from registry.notices.storage import notice_pdf_path


def prerender_pending(limit: int = 5000) -> int:
    """Render and store the PDF of every notice that has none yet (nightly); return how many."""
    pending = [n for n in db.session.scalars(sa.select(Notice).order_by(Notice.id).limit(limit))
               if notice_pdf_path(n) is None]
    return render_and_store(pending) if pending else 0


def monthly_overdue_reminder() -> list[Notice]:
    """Mark notices past their deadline overdue and return every overdue notice (the reminder list)."""
    mark_overdue()
    return overdue_list()

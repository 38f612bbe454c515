"""Document numbers (发文字号): per issuing department per year, no gaps, no duplicates.

The counter row is locked for the rest of the issuing transaction (SELECT ... FOR UPDATE
on PostgreSQL; SQLite has one writer at a time), so concurrent issuers queue on it, and a
rolled-back issue gives its number back: numbers are consumed only by committed notices.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.notices.models import DocumentCounter


def format_number(prefix: str, year: int, serial: int) -> str:
    """Return the number as GB/T 9704 writes it: 新建更〔2025〕7号 (no 第, no zero padding)."""
    return f"{prefix}〔{year}〕{serial}号"


def _locked_counter(department_id: int, year: int) -> DocumentCounter | None:
    stmt = (sa.select(DocumentCounter)
            .where(DocumentCounter.department_id == department_id, DocumentCounter.year == year)
            .with_for_update()
            .execution_options(populate_existing=True))
    return db.session.scalars(stmt).first()


def next_serial(department_id: int, year: int) -> int:
    """Take the next serial for (department, year) inside the caller's transaction."""
    if db.session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock now (a no-op write), so the read below cannot go stale.
        db.session.execute(sa.update(DocumentCounter)
                           .where(DocumentCounter.department_id == department_id, DocumentCounter.year == year)
                           .values(last_number=DocumentCounter.last_number))
    counter = _locked_counter(department_id, year)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(DocumentCounter(department_id=department_id, year=year, last_number=0))
        except IntegrityError:
            pass  # another issuer created the row first; lock theirs
        counter = _locked_counter(department_id, year)
    counter.last_number += 1
    db.session.flush()
    return counter.last_number

"""Turn a stored Notice into the context the PDF template formats (Python decides, the template prints)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import segno
from flask import current_app

from registry.notices.models import Notice


def full_date(d: date | None) -> str:
    """Write a date in full, no leading zeros: 2025年7月16日."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def verify_url(token: str) -> str:
    """Return the public verification address printed in the QR code."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/verify/{token}"


def qr_data_uri(url: str) -> str:
    """Return the QR code of `url` as a PNG data URI (deterministic; an SVG path costs ~100 ms to lay out)."""
    return segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=0)


def authority_size_pt(text: str) -> float:
    """Size the red issuing-authority header to fit the 156 mm text block (at most 36 pt)."""
    usable_pt = 156 / 25.4 * 72 * 0.94
    return round(min(36.0, usable_pt / max(len(text), 1)), 1)


@dataclass
class NoticeDocument:
    """Everything the notice PDF shows, already formatted."""

    authority: str
    authority_pt: float
    number: str
    title: str
    addressee: str
    paragraphs: list[str]
    signer: str
    date_text: str
    qr_data_uri: str
    seal_uri: str | None = None
    annex: list[dict] = field(default_factory=list)
    annex_title: str = "设备清单"

    @property
    def text(self) -> str:
        """All visible text (used to check glyph coverage before rendering)."""
        cells = " ".join(" ".join(str(v) for v in row.values()) for row in self.annex)
        return " ".join([self.authority, self.number, self.title, self.addressee, *self.paragraphs,
                         self.signer, self.date_text, self.annex_title, "附件序号设备编号名称所在位置依据条款"
                         "触发情形及数据整改期限扫码核验真伪", cells])


def build_document(notice: Notice, seal_path: Path | None = None) -> NoticeDocument:
    """Build the PDF context of a stored notice (only frozen notice data, so re-renders are identical)."""
    dept = notice.department
    annex = []
    if len(notice.items) > 1:
        annex = [{"code": it.asset_code, "name": it.asset_name, "location": it.asset_location,
                  "citation": it.citation, "explanation": it.explanation, "deadline": full_date(it.deadline)}
                 for it in notice.items]
    return NoticeDocument(
        authority=f"{dept.full_name}文件", authority_pt=authority_size_pt(f"{dept.full_name}文件"),
        number=notice.number, title=notice.title, addressee=notice.owner_unit.name,
        paragraphs=[p.strip() for p in notice.body.splitlines() if p.strip()],
        signer=dept.full_name, date_text=full_date(notice.issued_on),
        qr_data_uri=qr_data_uri(verify_url(notice.token)),
        seal_uri=seal_path.as_uri() if seal_path else None, annex=annex,
    )

"""Turn a stored Notice into the context the PDF template formats (Python decides, the template prints)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from markupsafe import Markup, escape

from registry.enums import RuleOutcome
from registry.notices.models import Notice
from registry.notices.texts import split_citation
from registry.qr import public_url, qr_data_uri


# What a draft's preview prints where the signed notice has its number, date and QR link.
DRAFT_NUMBER = "（拟稿，签发时编号）"
DRAFT_DATE = "（签发日期）"
DRAFT_QR = "拟稿预览，尚未签发，无效"


def full_date(d: date | None) -> str:
    """Write a date in full, no leading zeros: 2025年7月16日."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


# Runs that must not break across lines: dates, clauses, ages and quantities, and ASCII runs (asset
# codes, phone numbers, standard numbers). Earlier alternatives win. Document numbers are known
# exactly (the notice's own and its citations'), so they are passed in rather than guessed.
_UNBREAKABLE = [
    r"\d{4}年\d{1,2}月\d{1,2}日",
    r"[一二三四五六七八九十]+（[一二三四五六七八九十]+）\d+(?:、\d+)*",
    r"\d+(?:\.\d+)?\s*年(?:\s*\d+\s*个月)?",
    r"\d+(?:\.\d+)?\s*(?:个月|日|天|台|次|项|公里|万元|kN·m|%)",
    r"[0-9A-Za-z][0-9A-Za-z\-/._·:]*[0-9A-Za-z]",
]


def _pattern(keep: tuple[str, ...]) -> re.Pattern:
    known = [re.escape(k) for k in sorted(set(keep), key=len, reverse=True) if k]
    return re.compile("|".join([*known, *_UNBREAKABLE]))


def unbreakable(text: str, keep: tuple[str, ...] = ()) -> Markup:
    """Escape `text`, wrapping figures, dates, codes and the `keep` strings in no-break spans."""
    out, pos = [], 0
    for m in _pattern(tuple(keep)).finditer(text):
        out.append(escape(text[pos:m.start()]))
        out.append(Markup('<span class="nw">%s</span>') % m.group(0))
        pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def verify_url(token: str) -> str:
    """Return the public verification address printed in the QR code."""
    return public_url(f"/verify/{token}")


def authority_size_pt(text: str) -> float:
    """Size the red issuing-authority header to fit the 156 mm text block (at most 36 pt)."""
    usable_pt = 156 / 25.4 * 72 * 0.94
    return round(min(36.0, usable_pt / max(len(text), 1)), 1)


@dataclass
class NoticeDocument:
    """Everything the notice PDF shows, already formatted (paragraphs and cells as safe markup)."""

    authority: str
    authority_pt: float
    number: str
    title: str
    addressee: str
    paragraphs: list[Markup]  # the body before its last paragraph
    tail: list[Markup]  # the last paragraph: printed together with the signature, date, seal and QR
    signer: str
    date_text: str
    qr_data_uri: str
    seal_uri: str | None = None
    annex: list[dict] = field(default_factory=list)
    annex_title: str = "设备清单"

    @property
    def text(self) -> str:
        """All visible text (used to check glyph coverage before rendering)."""
        cells = " ".join(" ".join(Markup(str(v)).striptags() for v in row.values()) for row in self.annex)
        body = [Markup(p).striptags() for p in (*self.paragraphs, *self.tail)]
        return " ".join([self.authority, self.number, self.title, self.addressee, *body,
                         self.signer, self.date_text, self.annex_title, "附件序号设备编号名称所在位置依据条款"
                         "触发情形及数据整改期限扫码核验真伪", cells])


def deadline_cell(item) -> Markup:
    """Return an annex deadline: the date, and below it the rule's passed date when that is why it was set."""
    due = unbreakable(full_date(item.deadline))
    if item.rule_deadline is None:
        return due
    return due + Markup('<br><span class="reason">原定%s已过</span>') % full_date(item.rule_deadline)


def _annex_row(item, keep: tuple[str, ...]) -> dict:
    findings = item.all_findings
    lines = [f["explanation"] for f in findings]
    if len(findings) > 1:
        lines = [f"（{n}）{RuleOutcome(f['outcome']).label}：{f['explanation']}" for n, f in enumerate(findings, 1)]
    return {"code": item.asset_code, "name": unbreakable(item.asset_name),
            "location": unbreakable(item.asset_location), "citation": unbreakable(item.citation, keep),
            "explanation": Markup("<br>").join(unbreakable(line, keep) for line in lines),
            "deadline": deadline_cell(item)}


def documents_named(notice: Notice) -> tuple[str, ...]:
    """Return the document numbers a notice prints: its own and those its findings cite."""
    cited = {split_citation(f["citation"])[0] for it in notice.items for f in it.all_findings if f.get("citation")}
    return (notice.number or "", *sorted(cited))  # a draft has no number yet


def build_document(notice: Notice, seal_path: Path | None = None) -> NoticeDocument:
    """Build the PDF context of a stored notice (only frozen notice data, so re-renders are identical)."""
    dept = notice.department
    keep = documents_named(notice)
    annex = [_annex_row(it, keep) for it in notice.items] if len(notice.items) > 1 else []
    paragraphs = [unbreakable(p.strip(), keep) for p in notice.body.splitlines() if p.strip()]
    return NoticeDocument(
        authority=f"{dept.full_name}文件", authority_pt=authority_size_pt(f"{dept.full_name}文件"),
        number=notice.number or DRAFT_NUMBER, title=notice.title, addressee=notice.owner_unit.name,
        paragraphs=paragraphs[:-1], tail=paragraphs[-1:],
        signer=dept.full_name, date_text=full_date(notice.issued_on) if notice.number else DRAFT_DATE,
        # A draft's preview must not verify as genuine: its QR says so instead of linking anywhere.
        qr_data_uri=qr_data_uri(verify_url(notice.token) if notice.token else DRAFT_QR),
        seal_uri=seal_path.as_uri() if seal_path else None, annex=annex,
    )

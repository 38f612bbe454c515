"""Search and export the audit log for the audit administrator."""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from registry.audit import services as audit
from registry.audit.models import AuditRecord
from registry.errors import ValidationFailed
from registry.extensions import db

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
OUTCOMES = {"success": "成功", "failure": "失败", "denied": "拒绝"}
TEXT_FILTERS = {"username": "用户", "action": "操作", "object_type": "对象类型", "object_id": "对象编号"}


@dataclass(frozen=True)
class AuditFilter:
    """Validated search criteria; every text filter is an exact match bound as a parameter."""

    start: date | None = None
    end: date | None = None
    username: str = ""
    action: str = ""
    outcome: str = ""
    object_type: str = ""
    object_id: str = ""

    def as_query(self) -> dict[str, str]:
        """Return the non-empty criteria as URL query arguments."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_time(value: datetime) -> str:
    """Format a stored UTC time in the registry's time zone."""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(_tz()).strftime("%Y-%m-%d %H:%M:%S")


def parse_filters(args) -> AuditFilter:
    """Read criteria from query arguments; raise ValidationFailed naming each bad field."""
    errors: dict[str, list[str]] = {}
    dates: dict[str, date | None] = {}
    for key, label in (("start", "开始日期"), ("end", "结束日期")):
        raw = (args.get(key) or "").strip()
        try:
            dates[key] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[label] = [f"「{raw[:32]}」不是有效日期，格式为 YYYY-MM-DD"]
            dates[key] = None
    if dates["start"] and dates["end"] and dates["start"] > dates["end"]:
        errors["结束日期"] = ["结束日期早于开始日期"]
    texts = {}
    for key, label in TEXT_FILTERS.items():
        texts[key] = (args.get(key) or "").strip()
        if len(texts[key]) > 64:
            errors[label] = ["不超过 64 个字符"]
        elif any(ord(ch) < 32 for ch in texts[key]):
            errors[label] = ["含有不允许的控制字符"]
    outcome = (args.get("outcome") or "").strip()
    if outcome and outcome not in OUTCOMES:
        errors["结果"] = [f"「{outcome[:32]}」不是有效的结果"]
    if errors:
        raise ValidationFailed("查询条件有误", errors)
    return AuditFilter(start=dates["start"], end=dates["end"], outcome=outcome, **texts)


def _conditions(f: AuditFilter) -> list:
    conds = []
    if f.start:
        conds.append(AuditRecord.at >= datetime.combine(f.start, time.min, _tz()).astimezone(timezone.utc))
    if f.end:
        end = datetime.combine(f.end + timedelta(days=1), time.min, _tz()).astimezone(timezone.utc)
        conds.append(AuditRecord.at < end)
    for key in TEXT_FILTERS:
        if getattr(f, key):
            conds.append(getattr(AuditRecord, key) == getattr(f, key))
    if f.outcome:
        conds.append(AuditRecord.outcome == f.outcome)
    return conds


def search(f: AuditFilter, before_id: int | None = None, limit: int = PAGE_SIZE) -> tuple[list[AuditRecord], int | None]:
    """Return one page, newest first, and the id to pass as `before` for the next page (keyset)."""
    query = sa.select(AuditRecord).where(*_conditions(f)).order_by(AuditRecord.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


HEADERS = ["编号", "时间", "用户", "IP", "操作", "对象类型", "对象编号", "结果", "详情", "哈希"]


def _export_rows(f: AuditFilter):
    table = AuditRecord.__table__
    query = sa.select(table).where(*_conditions(f)).order_by(table.c.id.desc()).limit(EXPORT_LIMIT)
    tz = _tz()
    for row in db.session.execute(query):
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=timezone.utc)
        yield (row.id, at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), row.username or "", row.ip or "", row.action, row.object_type or "",
               row.object_id or "", OUTCOMES.get(row.outcome, row.outcome), row.details or "", row.hash)


def _audit_export(f: AuditFilter, actor, count: int, fmt: str) -> None:
    audit.record("audit.export", object_type="audit_records", user=actor,
                 details={"filters": f.as_query(), "rows": count, "format": fmt})
    db.session.commit()


def export_xlsx(f: AuditFilter, actor) -> tuple[bytes, int]:
    """Build an .xlsx of the matching records (newest first, capped) and audit the export."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计日志")
    ws.append(HEADERS)
    count = 0
    for values in _export_rows(f):
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever a logged value starts with
            cells.append(cell)
        ws.append(cells)
        count += 1
    buf = io.BytesIO()
    wb.save(buf)
    _audit_export(f, actor, count, "xlsx")
    return buf.getvalue(), count


def _csv_safe(value):
    # A spreadsheet opening the CSV must not evaluate a logged value as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(f: AuditFilter, actor) -> tuple[bytes, int]:
    """Build a UTF-8 (BOM, for Excel) CSV of the matching records and audit the export."""
    import csv
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    count = 0
    for values in _export_rows(f):
        writer.writerow([_csv_safe(v) for v in values])
        count += 1
    _audit_export(f, actor, count, "csv")
    return ("\ufeff" + buf.getvalue()).encode("utf-8"), count

"""Search and export the audit log for the audit administrator."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from registry import clock
from registry.audit import services as audit
from registry.audit.models import AuditRecord
from registry.audit.names import action_label, actions_named, details_text, object_label
from registry.cells import csv_value, openpyxl_row
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.sheet_layout import PrintableWorkbook

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
OUTCOMES = {"success": "成功", "failure": "失败", "denied": "拒绝"}
DATE_RANGE = (date(1900, 1, 1), date(9998, 12, 31))
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


def local_time(value: datetime) -> str:
    """Format a stored UTC time in the registry's time zone."""
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M:%S")


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
        # Local midnight of 0001-01-01 falls before year 1 in UTC (and 9999-12-31 has no next day).
        if dates[key] and not DATE_RANGE[0] <= dates[key] <= DATE_RANGE[1]:
            errors[label] = [f"应在 {DATE_RANGE[0]} 到 {DATE_RANGE[1]} 之间"]
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
        conds.append(AuditRecord.at >= clock.local_midnight(f.start))
    if f.end:
        conds.append(AuditRecord.at < clock.local_midnight(f.end + timedelta(days=1)))
    for key in TEXT_FILTERS:
        if key == "action" and f.action:  # the code (login) or the Chinese name (登录, 通知书)
            conds.append(AuditRecord.action.in_(actions_named(f.action)))
        elif getattr(f, key):
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


# 操作代码 and 原始详情 keep the stored values, so the hash chain can be recomputed from an export.
HEADERS = ["编号", "时间", "用户", "IP", "操作", "操作代码", "对象类型", "对象编号", "结果", "详情", "原始详情", "哈希"]


def _export_rows(f: AuditFilter):
    table = AuditRecord.__table__
    query = sa.select(table).where(*_conditions(f)).order_by(table.c.id.desc()).limit(EXPORT_LIMIT)
    for row in db.session.execute(query):
        yield (row.id, local_time(row.at), row.username or "", row.ip or "", action_label(row.action), row.action,
               object_label(row.object_type), row.object_id or "", OUTCOMES.get(row.outcome, row.outcome),
               details_text(row.details), row.details or "", row.hash)


def _audit_export(f: AuditFilter, actor, count: int, fmt: str) -> None:
    audit.record("audit.export", object_type="audit_records", user=actor,
                 details={"filters": f.as_query(), "rows": count, "format": fmt})
    db.session.commit()


def export_xlsx(f: AuditFilter, actor) -> tuple[bytes, int]:
    """Build an .xlsx of the matching records (newest first, capped) and audit the export."""
    wb = PrintableWorkbook()
    ws = wb.sheet("审计日志")
    ws.append(openpyxl_row(ws, HEADERS))
    count = 0
    for values in _export_rows(f):
        ws.append(openpyxl_row(ws, values))  # never a formula, never a character openpyxl refuses
        count += 1
    data = wb.to_bytes()
    _audit_export(f, actor, count, "xlsx")
    return data, count


def export_csv(f: AuditFilter, actor) -> tuple[bytes, int]:
    """Build a UTF-8 (BOM, for Excel) CSV of the matching records and audit the export."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_value(v) for v in HEADERS])
    count = 0
    for values in _export_rows(f):
        writer.writerow([csv_value(v) for v in values])
        count += 1
    _audit_export(f, actor, count, "csv")
    return ("\ufeff" + buf.getvalue()).encode("utf-8"), count

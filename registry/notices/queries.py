"""The notice list: filters parsed once (page and API), keyset paging newest first (no OFFSET, no COUNT)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from registry.assets.queries import Page
from registry.db_types import as_id
from registry.enums import NoticeStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices.models import Notice, OPEN_STATUSES
from registry import clock
from registry.notices.services import notice_scope
from registry.orgs.models import Department, Unit
from registry.orgs.services import department_by_code

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class NoticeFilters:
    """What the user asked to see; built by `parse_filters` from query parameters."""

    status: NoticeStatus | None = None
    department: str | None = None  # department code
    unit: str | None = None  # part of the owner unit's name
    township: str | None = None
    date_from: date | None = None  # 发文日期 from … to, inclusive
    date_to: date | None = None
    overdue: bool = False  # deadline passed while still open (or already marked 已逾期)
    q: str | None = None  # part of the 文号
    errors: dict = field(default_factory=dict)

    def query_args(self) -> dict:
        """Return the filters as query parameters (for links), without empty ones."""
        out = {"status": self.status.value if self.status else None, "department": self.department,
               "unit": self.unit, "township": self.township,
               "date_from": self.date_from.isoformat() if self.date_from else None,
               "date_to": self.date_to.isoformat() if self.date_to else None,
               "overdue": "1" if self.overdue else None, "q": self.q}
        return {k: v for k, v in out.items() if v not in (None, "")}


def _text(args, name: str, label: str, limit: int, errors: dict) -> str | None:
    value = (args.get(name) or "").strip()
    if len(value) > limit:
        errors[name] = [f"{label}：不能超过 {limit} 个字符"]
        return None
    return value or None


def _date(args, name: str, label: str, errors: dict) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [f"{label}：“{raw[:40]}”不是有效日期，应为 2025-07-16 这样的格式"]
        return None


def parse_filters(args) -> NoticeFilters:
    """Read list filters from query parameters; raise ValidationFailed (Chinese, per field) on bad ones."""
    errors: dict[str, list[str]] = {}
    f = NoticeFilters()
    raw_status = (args.get("status") or "").strip()
    if raw_status:
        try:
            f.status = NoticeStatus.from_label(raw_status)
        except KeyError:
            errors["status"] = [f"状态：「{raw_status[:40]}」不是有效选项，可选 " + "、".join(NoticeStatus.labels())]
    f.department = _text(args, "department", "发文部门", 16, errors)
    if f.department and department_by_code(f.department) is None:
        errors["department"] = [f"发文部门：没有代码为「{f.department}」的部门"]
    f.unit = _text(args, "unit", "产权单位", 64, errors)
    f.township = _text(args, "township", "乡镇（街道）", 32, errors)
    f.q = _text(args, "q", "文号", 40, errors)
    f.date_from = _date(args, "date_from", "发文日期起", errors)
    f.date_to = _date(args, "date_to", "发文日期止", errors)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        errors["date_to"] = ["发文日期止：不能早于发文日期起"]
    raw_overdue = (args.get("overdue") or "").strip().lower()
    if raw_overdue not in ("", "0", "1", "true", "false", "on"):
        errors["overdue"] = [f"逾期：「{raw_overdue[:20]}」应为 1 或 0"]
    f.overdue = raw_overdue in ("1", "true", "on")
    if errors:
        raise ValidationFailed("筛选条件有误", errors)
    return f


def overdue_condition(as_of: date):
    """Return the SQL condition for 'overdue': marked 已逾期, or open with its deadline passed."""
    return sa.or_(Notice.status == NoticeStatus.OVERDUE,
                  sa.and_(Notice.status.in_(OPEN_STATUSES), Notice.deadline < as_of))


def conditions(f: NoticeFilters, user) -> list:
    """Return the WHERE conditions for `f` within what `user` may read."""
    where = [notice_scope(user)] if user is not None else []
    if f.status is not None:
        where.append(Notice.status == f.status)
    if f.department:
        where.append(Notice.department_id == sa.select(Department.id).where(Department.code == f.department)
                     .scalar_subquery())
    if f.unit:
        where.append(Notice.owner_unit_id.in_(sa.select(Unit.id).where(Unit.name.contains(f.unit, autoescape=True))))
    if f.township:
        where.append(Notice.township == f.township)
    if f.date_from:
        where.append(Notice.issued_on >= f.date_from)
    if f.date_to:
        where.append(Notice.issued_on <= f.date_to)
    if f.overdue:
        where.append(overdue_condition(clock.today()))
    if f.q:
        where.append(Notice.number.contains(f.q, autoescape=True))
    return where


def parse_cursor(cursor: str | None) -> int | None:
    """Return the id a cursor points after; raise ValidationFailed for anything that is not one."""
    if not cursor:
        return None
    value = as_id(cursor.strip())
    if value is None:
        raise ValidationFailed("分页参数无效，请从第一页重新浏览", {"cursor": ["分页参数无效"]})
    return value


def parse_limit(raw: str | None) -> int:
    """Return the page size asked for (1–200)."""
    if not raw:
        return DEFAULT_LIMIT
    value = as_id(raw.strip())
    if value is None or not 1 <= value <= MAX_LIMIT:
        raise ValidationFailed("每页条数应为整数", {"limit": [f"每页条数：应为 1–{MAX_LIMIT} 之间的整数"]})
    return value


def list_notices(f: NoticeFilters, user, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page:
    """Return one page of notices matching `f`, newest first, from `cursor` (the last id seen)."""
    after = parse_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = sa.select(Notice).where(*conditions(f, user))
    if after is not None:
        stmt = stmt.where(Notice.id < after)
    rows = list(db.session.scalars(stmt.order_by(Notice.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None, None)

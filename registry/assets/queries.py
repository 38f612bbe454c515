"""Filtered, sorted, keyset-paginated asset lists (no COUNT(*) and no OFFSET per page)."""
from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, lazyload, selectinload

from registry.accounts.scoping import asset_scope
from registry.assets.models import Asset
from registry.db_types import as_id
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department, Unit

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# sort key -> (column, nullable, label)
SORTS = {
    "id": (Asset.id, False, "登记顺序"),
    "code": (Asset.code, False, "设备编码"),
    "commissioned_on": (Asset.commissioned_on, True, "投入使用日期"),
}


@dataclass
class ListFilters:
    """What the user asked to see; built by `parse_filters` from query parameters."""

    category: Category | None = None
    department: str | None = None
    unit: str | None = None
    township: str | None = None
    status: LifecycleStatus | None = None
    grade: ConditionGrade | None = None
    age_min: int | None = None
    age_max: int | None = None
    year: int | None = None
    q: str | None = None
    sort: str = "id"
    include_deleted: bool = False
    errors: dict = field(default_factory=dict)

    def query_args(self) -> dict:
        """Return the filters as query parameters (for links), without empty ones."""
        out = {"department": self.department, "unit": self.unit, "township": self.township,
               "status": self.status.value if self.status else None, "grade": self.grade.value if self.grade else None,
               "age_min": self.age_min, "age_max": self.age_max, "year": self.year, "q": self.q,
               "sort": None if self.sort == "id" else self.sort, "deleted": "1" if self.include_deleted else None}
        return {k: v for k, v in out.items() if v not in (None, "")}


@dataclass
class Page:
    """One page of results and the cursors around it."""

    items: list
    next_cursor: str | None
    prev_cursor: str | None


def _int(args, name: str, label: str, low: int, high: int, errors: dict) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if as_id(raw) is None or not low <= int(raw) <= high:
        errors[name] = [f"{label}：应为 {low}–{high} 之间的整数"]
        return None
    return int(raw)


def _enum(args, name: str, enum_cls, label: str, errors: dict):
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return enum_cls.from_label(raw)
    except KeyError:
        errors[name] = [f"{label}：「{raw}」不是有效选项"]
        return None


def parse_filters(args, category: Category | None = None) -> ListFilters:
    """Read list filters from query parameters; raise ValidationFailed (Chinese, per field) on bad ones."""
    errors: dict[str, list[str]] = {}
    f = ListFilters(category=category)
    if category is None and args.get("category"):
        f.category = _enum(args, "category", Category, "类别", errors)
    for name in ("department", "unit", "township", "q"):
        value = (args.get(name) or "").strip()[:120]
        setattr(f, name, value or None)
    f.status = _enum(args, "status", LifecycleStatus, "使用状态", errors)
    f.grade = _enum(args, "grade", ConditionGrade, "状况等级", errors)
    f.age_min = _int(args, "age_min", "使用年限下限", 0, 100, errors)
    f.age_max = _int(args, "age_max", "使用年限上限", 0, 100, errors)
    if f.age_min is not None and f.age_max is not None and f.age_min > f.age_max:
        errors["age_max"] = ["使用年限上限：不能小于下限"]
    f.year = _int(args, "year", "投入使用年份", 1900, date.today().year, errors)
    sort = (args.get("sort") or "id").strip()
    if sort.lstrip("-") not in SORTS:
        errors["sort"] = [f"排序：「{sort}」不是有效选项"]
        sort = "id"
    f.sort = sort
    f.include_deleted = args.get("deleted") in ("1", "true", "on")
    if errors:
        raise ValidationFailed("筛选条件有误", errors)
    return f


def years_before(day: date, years: int) -> date:
    """Return the same calendar day `years` earlier (29 February falls on the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February: the period ends on the last day of that month
        return day.replace(year=day.year - years, day=28)


def age_start_expr(category: Category | None):
    """Return the SQL date an asset's age counts from (cars: registration, else commissioning)."""
    car_start = sa.func.coalesce(Asset.registered_on, Asset.commissioned_on)
    if category is Category.OFFICIAL_CAR:
        return car_start
    if category is None:
        return sa.case((Asset.category == Category.OFFICIAL_CAR, car_start), else_=Asset.commissioned_on)
    return Asset.commissioned_on


def conditions(f: ListFilters, user, as_of: date | None = None) -> list:
    """Return the SQL conditions for `f`, scoped to what `user` may read."""
    as_of = as_of or date.today()
    conds = [asset_scope(user)]
    if not f.include_deleted:
        conds.append(Asset.deleted_at.is_(None))
    if f.category is not None:
        conds.append(Asset.category == f.category)
    if f.department:
        dept_id = db.session.scalar(sa.select(Department.id).where(
            sa.or_(Department.code == f.department, Department.name == f.department)))
        conds.append(Asset.department_id == (dept_id or -1))
    if f.unit:
        conds.append(unit_condition(f.unit))
    if f.township:
        conds.append(Asset.township == f.township)
    if f.status is not None:
        conds.append(Asset.status == f.status)
    if f.grade is not None:
        conds.append(Asset.condition_grade == f.grade)
    start = age_start_expr(f.category)
    if (f.sort.lstrip("-") != "commissioned_on" and f.category not in (Category.OFFICIAL_CAR, None)
            and db.session.get_bind().dialect.name == "sqlite"):
        # SQLite (no histograms) picks the date index for any range, then collects and sorts thousands
        # of rows; walking the sort index and testing the date stops after one page. PostgreSQL
        # estimates the range from its statistics and needs no hint (the hint would spoil its estimate).
        start = sa.func.coalesce(Asset.commissioned_on, Asset.commissioned_on)
    if f.age_min is not None:  # at least N full years old on `as_of`
        conds.append(start <= years_before(as_of, f.age_min))
    if f.age_max is not None:  # not yet N+1 years old
        conds.append(start > years_before(as_of, f.age_max + 1))
    if f.year is not None:
        conds.append(start.between(date(f.year, 1, 1), date(f.year, 12, 31)))
    if f.q:
        conds.append(keyword_condition(f.q))
    return conds


FEW_UNITS = 20


def unit_condition(text: str):
    """Owner or user unit whose name contains `text`; the plan depends on how many units match.

    Few units: look their assets up through the unit indexes and sort that small set. Many units
    (a word like 合作社): their assets are common, so walk the sort index and test membership.
    """
    matching = sa.select(Unit.id).where(Unit.name.contains(text, autoescape=True))
    ids = list(db.session.scalars(matching.limit(FEW_UNITS + 1)))
    if not ids:
        return sa.false()
    if len(ids) <= FEW_UNITS:
        return sa.or_(Asset.owner_unit_id.in_(ids), Asset.user_unit_id.in_(ids))
    units = matching.scalar_subquery()
    return sa.or_(sa.func.coalesce(Asset.owner_unit_id, 0).in_(units),
                  sa.func.coalesce(Asset.user_unit_id, 0).in_(units))


def keyword_condition(q: str):
    """Match a code prefix (index range, fast) for ASCII input, else a substring of the name (a scan).

    Codes are typed from labels (XZ-DT-0000123), names in Chinese; a substring search cannot use
    a B-tree index, so only the name search pays for a scan. The range relies on byte order
    (SQLite BINARY, PostgreSQL C/C.UTF-8 collation, as scripts/pg-setup.sh creates).
    """
    q = q.strip()
    if q.isascii():
        prefix = q.upper()
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return sa.and_(Asset.code >= prefix, Asset.code < upper)
    return Asset.name.contains(q, autoescape=True)


def encode_cursor(direction: str, phase: int, value, asset_id: int) -> str:
    """Encode a page position as an opaque URL-safe string."""
    if isinstance(value, date):
        value = value.isoformat()
    raw = json.dumps([direction, phase, value, asset_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[str, int, object, int]:
    """Decode a cursor from `encode_cursor`; raise ValidationFailed if it was tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, phase, value, asset_id = json.loads(raw)
        assert direction in ("n", "p") and phase in (0, 1) and isinstance(asset_id, int)
        if value is not None and sort.lstrip("-") == "commissioned_on":
            value = date.fromisoformat(value)
        elif value is not None and sort.lstrip("-") == "id":
            value = int(value)
        return direction, phase, value, asset_id
    except Exception:  # noqa: BLE001 - any malformed cursor is the same user error
        raise ValidationFailed("分页参数无效，请从第一页重新浏览", {"cursor": ["分页参数无效"]}) from None


def _position(asset: Asset, col_name: str) -> tuple[int, object]:
    value = getattr(asset, col_name)
    return (1 if value is None else 0), value


def list_assets(f: ListFilters, user, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                as_of: date | None = None, with_detail: bool = False, summary: bool = False) -> Page:
    """Return one page of assets matching `f`, walking an index in sort order from `cursor`.

    `summary=True` returns light rows (the list page's columns plus unit names) instead of ORM
    objects: building 50 full ORM graphs costs several times the query itself.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    col, nullable, _label = SORTS[f.sort.lstrip("-")]
    desc = f.sort.startswith("-")
    base = conditions(f, user, as_of)
    direction, phase, value, last_id = decode_cursor(cursor, f.sort) if cursor else ("n", 0, None, None)
    backwards = direction == "p"
    select = _summary_select() if summary else sa.select(Asset).options(*_load_options(with_detail, f.category))
    rows = _walk(select, not summary, base, col, nullable, desc, backwards, phase, value, last_id, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    name = col.key
    next_cursor = prev_cursor = None
    if rows:
        if more or backwards:
            next_cursor = encode_cursor("n", *_position(rows[-1], name), rows[-1].id)
        if (more and backwards) or (not backwards and cursor):
            prev_cursor = encode_cursor("p", *_position(rows[0], name), rows[0].id)
    return Page(rows, next_cursor, prev_cursor)


def _load_options(with_detail: bool, category: Category | None) -> list:
    """Load units and department in the same query; category details only when asked (the API shows them)."""
    opts = [joinedload(Asset.department).lazyload(Department.categories)]
    for c in Category:
        rel = getattr(Asset, c.value)
        wanted = with_detail and category in (None, c)  # one extra query for the listed category only
        opts.append(selectinload(rel) if wanted else lazyload(rel))
    return opts


_OWNER, _USER_UNIT = aliased(Unit, name="owner_unit"), aliased(Unit, name="user_unit")


@functools.cache
def _summary_select():
    owner, user_unit = _OWNER, _USER_UNIT
    return (sa.select(Asset.id, Asset.code, Asset.name, Asset.category, Asset.township, Asset.commissioned_on,
                      Asset.registered_on, Asset.condition_grade, Asset.condition_assessed_on, Asset.status,
                      Asset.deleted_at, owner.name.label("owner_name"), user_unit.name.label("user_name"))
            .join(owner, owner.id == Asset.owner_unit_id).outerjoin(user_unit, user_unit.id == Asset.user_unit_id))


def age_start(row) -> date | None:
    """Return the date a list row's age counts from (registration for cars), like Asset.age_start."""
    if row.category is Category.OFFICIAL_CAR:
        return row.registered_on or row.commissioned_on
    return row.commissioned_on


def _walk(select, entities: bool, base, col, nullable, desc, backwards, phase, value, last_id, want) -> list:
    """Fetch up to `want` rows after (or before) a position; NULL sort values come last in both directions."""
    forward_desc = desc != backwards  # walking backwards reverses the order
    order_col = col.desc() if forward_desc else col.asc()
    order_id = Asset.id.desc() if forward_desc else Asset.id.asc()
    cmp = (lambda a, b: a < b) if forward_desc else (lambda a, b: a > b)
    rows: list[Asset] = []
    # Phase order is non-null values (0) then nulls (1) going forward; the reverse going backwards.
    phases = (0, 1) if not backwards else (1, 0)
    if last_id is not None:
        phases = phases[phases.index(phase):]
    for ph in phases:
        if ph == 1 and not nullable:
            continue
        conds = list(base)
        if ph == 0:
            if nullable:
                conds.append(col.is_not(None))
            if last_id is not None and ph == phase:
                conds.append(cmp(col, value) if col is Asset.id else cmp(sa.tuple_(col, Asset.id), sa.tuple_(value, last_id)))
            order = (order_col,) if col is Asset.id else (order_col, order_id)
        else:
            conds.append(col.is_(None))
            if last_id is not None and ph == phase:
                conds.append(cmp(Asset.id, last_id))
            order = (order_id,)
        query = select.where(*conds).order_by(*order).limit(want - len(rows))
        result = db.session.execute(query)
        rows.extend(result.scalars() if entities else result.all())
        if len(rows) >= want:
            break
    return rows


def count_assets(f: ListFilters, user, as_of: date | None = None) -> int:
    """Count matching assets (only on request: a full count is what the list avoids)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(*conditions(f, user, as_of)))

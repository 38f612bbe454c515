"""The asset list filters: one parser, one set of limits, one set of SQL conditions.

The list page (``registry.assets.views``), the list API (``registry.assets.api``) and every
export (``registry.transfer``: web, API, CLI) read their query parameters through
`parse_filters` and select with `filter_conditions`, so one query string means the same rows
everywhere.

Query parameters (all optional, all combinable):

===============  ==============================================================
category         category value or label: ``elevator`` / 电梯 (the list page takes it from its path;
                 exports require it)
department       department code or short name: ``zjj`` / 住建局
owner_unit       owner unit: id, or its exact name
user_unit        user unit: id, or its exact name
unit             owner or user unit whose name contains this text
township         township / street, exact name
status           lifecycle status value or label: ``in_use`` / 在用
grade            condition grade value or label: ``poor`` / 较差
age_min          age in whole years, at least; 0–100 (counted from commissioning, registration for cars)
age_max          age in whole years, at most; 0–100, not below ``age_min``
year             commissioning (cars: registration) year; 1900 to the current year in Asia/Shanghai
q                keyword: ASCII = start of the code (any case), otherwise part of the name, the
                 address, the elevator's 小区 or the owner/user unit's name
missing          a field left empty: ``commissioned_on``, a detail field of the category, or
                 ``age_start`` (the date age counts from); the Chinese label works too
stale            ``1``: the condition grade is older than REGISTRY_CONDITION_STALE_DAYS
finding          the latest evaluation's verdict: ``mandatory`` / ``advisory`` / ``undetermined``
                 (has such a finding) or ``none`` (no finding at all); or 强制/建议/无法判定/无.
                 The rules engine hands the condition down (``FINDINGS_EXTENSION``): assets sit
                 below rules (docs/architecture.md)
sort             ``id`` / ``code`` / ``commissioned_on``, ``-`` in front for descending; NULLs last.
                 Exports write their rows in this order too.
deleted          ``1`` = include soft-deleted assets (list page and list API only: exports never
                 write deleted assets and ignore it)
===============  ==============================================================

Integers are short ASCII digit strings only (``²`` or a 5,000-digit string is refused before
``int()``); text is at most 100 characters. Bad values raise ValidationFailed whose errors map
each parameter name to a Chinese message that starts with the parameter's Chinese name.
Department scoping is not applied here: add ``registry.assets.scoping.asset_scope(user)``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from registry import clock
from registry.assets.fields import COMMON_FIELDS, fields_for
from registry.assets.models import DETAIL_MODELS, Asset
from registry.assets.search import text_condition, unit_condition
from registry.db_types import as_id
from registry.enums import Category, ConditionGrade, LabeledEnum, LifecycleStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department, Unit

FILTER_LABELS = {
    "category": "类别", "department": "主管部门", "owner_unit": "产权单位", "user_unit": "使用单位",
    "unit": "产权/使用单位", "township": "乡镇/街道", "status": "使用状态", "grade": "状况等级",
    "age_min": "使用年限下限", "age_max": "使用年限上限", "year": "投入使用年份", "q": "关键词",
    "sort": "排序", "deleted": "含已删除", "missing": "缺少数据", "stale": "状况等级已过期", "finding": "规则结论",
}
# What each parameter takes, for the OpenAPI documents (registry.assets.schemas.filter_arg_fields).
FILTER_HELP = {
    "category": "值或中文名称，如 elevator / 电梯", "department": "部门代码或简称，如 zjj / 住建局",
    "owner_unit": "单位 id 或全称", "user_unit": "单位 id 或全称", "unit": "单位名称（包含匹配，产权或使用单位）",
    "township": "乡镇/街道全称", "status": "值或中文，如 in_use / 在用", "grade": "值或中文，如 poor / 较差",
    "age_min": "整数年，0–100（公务用车自登记日期起算）", "age_max": "整数年，0–100，不小于下限",
    "year": "投入使用（公务用车为登记）年份，1900 至今年", "q": "ASCII 按设备编码开头匹配；含中文按名称、地址、小区、产权或使用单位包含匹配",
    "sort": "id、-id、code、-code、commissioned_on、-commissioned_on（空值排最后）", "deleted": "1 = 含已删除",
    "missing": "字段名或中文名称，如 commissioned_on / 投入使用日期", "stale": "1 = 状况等级已过期",
    "finding": "mandatory / advisory / undetermined / none，或 强制 / 建议 / 无法判定 / 无",
}
# finding=… : what the latest evaluation says about an asset (the ledger's 规则结论 column).
FINDING_KINDS = {"mandatory": "强制", "advisory": "建议", "undetermined": "无法判定", "none": "无"}
# The field `missing=age_start` names: the date age counts from (Asset.age_start).
AGE_START = ("age_start", "投入使用（登记）日期")
# The rules engine registers a FindingsProvider here (create_app); assets cannot import rules.
FINDINGS_EXTENSION = "registry.ledger_findings"
AGE_RANGE = (0, 100)
FIRST_YEAR = 1900
MAX_TEXT = 100
# sort key -> (column, nullable, label)
SORTS = {
    "id": (Asset.id, False, "登记顺序"),
    "code": (Asset.code, False, "设备编码"),
    "commissioned_on": (Asset.commissioned_on, True, "投入使用日期"),
}
_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class FindingsProvider:
    """What the rules engine hands down to the ledger: the finding filter and the 规则结论 column."""

    condition: Callable[[str, Category | None], object]  # (kind, category) -> SQL condition on Asset
    summaries: Callable[[list[int], Category | None], dict]  # (asset ids, category) -> {id: [(kind, codes)]}


def findings_provider() -> FindingsProvider | None:
    """Return the provider the rules engine registered on the app, or None outside a full app."""
    return current_app.extensions.get(FINDINGS_EXTENSION)


def limits() -> dict[str, tuple[int, int]]:
    """Return the accepted ranges of the integer filters (for forms and messages)."""
    # The year is the local one: users are in Asia/Shanghai, the servers in UTC.
    return {"age_min": AGE_RANGE, "age_max": AGE_RANGE, "year": (FIRST_YEAR, clock.today().year)}


@dataclass(frozen=True)
class AssetFilters:
    """Parsed, validated list filters; None means "not filtered"."""

    category: Category | None = None
    department: str | None = None
    owner_unit: int | str | None = None
    user_unit: int | str | None = None
    unit: str | None = None
    township: str | None = None
    status: LifecycleStatus | None = None
    grade: ConditionGrade | None = None
    age_min: int | None = None
    age_max: int | None = None
    year: int | None = None
    q: str | None = None
    missing: str | None = None
    stale: bool | None = None
    finding: str | None = None
    sort: str = "id"
    include_deleted: bool = False

    def as_args(self) -> dict[str, str]:
        """Return the non-default filters as query parameters (for links and audit records)."""
        out = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "sort":
                if value != "id":
                    out["sort"] = value
            elif spec.name == "include_deleted":
                if value:
                    out["deleted"] = "1"
            elif value is True:
                out[spec.name] = "1"
            elif value is not None:
                out[spec.name] = value.value if isinstance(value, LabeledEnum) else str(value)
        return out

    def describe(self) -> dict[str, str]:
        """Return the active filters with Chinese names and labels (for sheets and pages)."""
        out = {}
        for key, text in self.as_args().items():
            if key == "sort":
                text = f"{SORTS[self.sort.lstrip('-')][2]}{'降序' if self.sort.startswith('-') else '升序'}"
            elif key in ("deleted", "stale"):
                text = "是"
            elif key == "missing":
                text = missing_fields(self.category).get(text, text)
            elif key == "finding":
                text = FINDING_KINDS.get(text, text)
            else:
                text = getattr(getattr(self, key), "label", text)
            out[FILTER_LABELS[key]] = text
        return out


def _shown(raw: str) -> str:
    return raw if len(raw) <= 20 else raw[:20] + "…"


def _enum(enum_cls, raw: str, key: str, errors: dict):
    try:
        return enum_cls.from_label(raw)
    except KeyError:
        errors[key] = [f"{FILTER_LABELS[key]}：「{_shown(raw)}」不是有效选项，可选：{'、'.join(enum_cls.labels())}"]
        return None


def _int(raw: str, key: str, errors: dict, low: int, high: int) -> int | None:
    """Return `raw` as an integer within low..high; only short ASCII digit strings reach int()."""
    expected = f"{FILTER_LABELS[key]}：应为 {low}–{high} 之间的整数"
    if not _INTEGER.fullmatch(raw):  # also refuses "²", which str.isdigit() accepts and int() does not
        errors[key] = [f"{expected}，「{_shown(raw)}」不是整数"]
        return None
    if len(raw) > 5 or not low <= int(raw) <= high:
        errors[key] = [f"{expected}，「{_shown(raw)}」超出范围"]
        return None
    return int(raw)


def _unit(raw: str) -> int | str:
    """Return a unit id (ASCII digits within the id range) or the unit's name."""
    number = as_id(raw)
    return raw if number is None else number


# --- missing / stale / finding: the work lists' filters, one definition for the list and exports ---
WORKLIST_KEYS = ("missing", "stale", "finding")


def missing_fields(category: Category | None) -> dict[str, str]:
    """Return the fields `missing=` accepts for `category` (name -> label); detail fields need a category."""
    specs = fields_for(category) if category is not None else COMMON_FIELDS
    names = {s.name: s.label for s in specs if not s.required}
    names[AGE_START[0]] = AGE_START[1]
    return names


def parse_worklist(args: Mapping[str, str], category: Category | None) -> tuple[dict, dict[str, str]]:
    """Parse missing / stale / finding; return (values, {param: [Chinese message naming the parameter]})."""
    values, errors = {}, {}
    missing = str(args.get("missing") or "").strip()
    if missing:
        fields = missing_fields(category)
        if missing in fields:
            values["missing"] = missing
        else:
            label = next((name for name, text in fields.items() if text == missing), None)
            if label:
                values["missing"] = label
            else:
                errors["missing"] = [f"{FILTER_LABELS['missing']}：「{_shown(missing)}」不是可筛选的字段"]
    stale = str(args.get("stale") or "").strip()
    if stale:
        if stale in ("1", "true", "on", "是"):
            values["stale"] = True
        elif stale not in ("0", "false", "否"):
            errors["stale"] = [f"{FILTER_LABELS['stale']}：「{_shown(stale)}」应为 1 或 0"]
    finding = str(args.get("finding") or "").strip()
    if finding:
        kind = finding if finding in FINDING_KINDS else next(
            (k for k, text in FINDING_KINDS.items() if text == finding), None)
        if kind:
            values["finding"] = kind
        else:
            errors["finding"] = [f"{FILTER_LABELS['finding']}：「{_shown(finding)}」不是有效选项，"
                                  f"可选：{'、'.join(FINDING_KINDS.values())}"]
    return values, errors


def stale_grade_condition(today: date, stale_days: int):
    """Grade older than `stale_days`, or without an assessment date: SQL twin of assessments.is_grade_stale."""
    return sa.and_(Asset.condition_grade.is_not(None), sa.or_(
        Asset.condition_assessed_on.is_(None), Asset.condition_assessed_on < today - timedelta(days=stale_days)))


def missing_condition(name: str, category: Category | None):
    """Assets whose field `name` is empty (a missing detail row counts as empty)."""
    if name == AGE_START[0]:
        return age_start_expr(category).is_(None)
    if name in Asset.__table__.columns:
        return getattr(Asset, name).is_(None)
    if name in ("owner_unit", "user_unit"):
        return getattr(Asset, f"{name}_id").is_(None)
    detail = DETAIL_MODELS[category]
    return Asset.id.not_in(sa.select(detail.asset_id).where(getattr(detail, name).is_not(None)))


def worklist_conditions(values: Mapping, category: Category | None, today: date) -> list:
    """Return the SQL conditions for parsed missing / stale / finding values."""
    conds = []
    if values.get("missing"):
        conds.append(missing_condition(values["missing"], category))
    if values.get("stale"):
        conds.append(stale_grade_condition(today, current_app.config["CONDITION_STALE_DAYS"]))
    if values.get("finding"):
        provider = findings_provider()
        if provider is None:
            raise ValidationFailed("规则引擎未启用，无法按规则结论筛选", {"finding": ["规则引擎未启用"]})
        conds.append(provider.condition(values["finding"], category))
    return conds


def parse_filters(args: Mapping[str, str], category: Category | None = None) -> AssetFilters:
    """Parse list filters from query parameters (`category` from a path wins); raise ValidationFailed per parameter."""
    raw = {k: str(args.get(k) or "").strip() for k in FILTER_LABELS}
    errors: dict[str, list[str]] = {}
    values: dict = {"category": category}
    if category is None and raw["category"]:
        values["category"] = _enum(Category, raw["category"], "category", errors)
    if raw["status"]:
        values["status"] = _enum(LifecycleStatus, raw["status"], "status", errors)
    if raw["grade"]:
        values["grade"] = _enum(ConditionGrade, raw["grade"], "grade", errors)
    for key, (low, high) in limits().items():
        if raw[key]:
            values[key] = _int(raw[key], key, errors, low, high)
    for key in ("department", "owner_unit", "user_unit", "unit", "township", "q"):
        if len(raw[key]) > MAX_TEXT:
            errors[key] = [f"{FILTER_LABELS[key]}：不能超过 {MAX_TEXT} 个字符"]
        elif raw[key]:
            values[key] = _unit(raw[key]) if key in ("owner_unit", "user_unit") else raw[key]
    if values.get("age_min") is not None and values.get("age_max") is not None \
            and values["age_min"] > values["age_max"]:
        errors["age_max"] = ["使用年限上限：不能小于下限"]
    sort = raw["sort"] or "id"
    if sort.lstrip("-") not in SORTS:
        options = "、".join(f"{k}、-{k}" for k in SORTS)
        errors["sort"] = [f"排序：「{_shown(sort)}」不是有效选项，可选：{options}"]
    values["sort"] = sort
    values["include_deleted"] = raw["deleted"] in ("1", "true", "on")
    work, work_errors = parse_worklist(args, values["category"])
    values.update(work)
    errors.update(work_errors)
    if errors:
        raise ValidationFailed("筛选条件有误", errors)
    return AssetFilters(**values)


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


def filter_conditions(filters: AssetFilters, as_of: date | None = None) -> list:
    """Return the SQL conditions for `filters` (AND them), ages counted on `as_of` (default: local today)."""
    return filter_plans(filters, as_of).walk


@dataclass(frozen=True)
class FilterPlans:
    """`filters`' conditions for the ways a list page reads them (registry.assets.queries)."""

    frame: list  # the category, and a date range the sort index serves: what the sort indexes test themselves
    walk: list  # every condition, for a walk of the sort index that tests each row
    collect: list  # the same rows, for collecting sparse matches through the filters' own indexes
    filtered: bool  # whether anything beyond the frame and deletion is tested
    category: Category | None = None
    # (column, value): filters each answered in id order by one index of (category, column, id)
    # (department: (department_id, category, id)) without reading a row.
    equal: list = field(default_factory=list)
    dates: list = field(default_factory=list)  # the age or year range, on (category, age start, id)
    unarmed: list = field(default_factory=list)  # the conditions of `collect` beyond `equal` and `dates`

    def arms(self) -> list:
        """Return (condition, index columns) for each filter one index answers alone (with a category only)."""
        if self.category is None:
            return []
        arms = [(sa.and_(Asset.category == self.category, column == value),
                 (column, Asset.category, Asset.id) if column is Asset.department_id
                 else (Asset.category, column, Asset.id)) for column, value in self.equal]
        if self.dates:
            start = age_start_expr(self.category)
            arms.append((sa.and_(Asset.category == self.category, *self.dates), (Asset.category, start, Asset.id)))
        return arms


def filter_plans(filters: AssetFilters, as_of: date | None = None) -> FilterPlans:
    """Return `filters`' conditions for a walk of the sort index and for collecting by the filters' indexes.

    The walk and the collection select the same rows and differ only in SQLite's hint on the date
    range: a walk wants the date index out of the way, a collection of sparse matches wants it.
    Lookups the conditions need (department, units, keyword probes) run once for both.
    """
    as_of = as_of or clock.today()
    category = [] if filters.category is None else [Asset.category == filters.category]
    conds = list(category)
    if not filters.include_deleted:
        conds.append(Asset.deleted_at.is_(None))
    unfiltered = len(conds)
    equal, armed = [], set()
    if filters.department:
        dept_id = db.session.scalar(sa.select(Department.id).where(
            sa.or_(Department.code == filters.department, Department.name == filters.department)))
        equal.append((Asset.department_id, dept_id or -1))
    if filters.owner_unit is not None:
        conds.append(_exact_unit(Asset.owner_unit_id, filters.owner_unit))
    if filters.user_unit is not None:
        conds.append(_exact_unit(Asset.user_unit_id, filters.user_unit))
    if filters.unit:
        conds.append(unit_condition(filters.unit))
    equal += [(column, value) for value, column in ((filters.township, Asset.township),
                                                     (filters.status, Asset.status),
                                                     (filters.grade, Asset.condition_grade)) if value is not None]
    for column, value in equal:
        conds.append(column == value)
        armed.add(id(conds[-1]))
    start = age_start_expr(filters.category)
    collect = _age_conditions(filters, as_of, start)
    walk = collect
    if (filters.sort.lstrip("-") != "commissioned_on" and filters.category not in (Category.OFFICIAL_CAR, None)
            and db.session.get_bind().dialect.name == "sqlite"):
        # SQLite (no histograms) picks the date index for any range, then collects and sorts thousands
        # of rows; walking the sort index and testing the date stops after one page. PostgreSQL
        # estimates the range from its statistics and needs no hint (the hint would spoil its estimate).
        walk = _age_conditions(filters, as_of, sa.func.coalesce(Asset.commissioned_on, Asset.commissioned_on))
    frame = list(category)
    if collect and filters.sort.lstrip("-") == "commissioned_on" and start is Asset.commissioned_on and category:
        frame += collect  # the sort index walks the range itself
    rest = worklist_conditions({"missing": filters.missing, "stale": filters.stale, "finding": filters.finding},
                               filters.category, as_of)
    if filters.q:  # last: the keyword's plan asks its indexes for matches among the rows the others let through
        rest.append(keyword_condition(filters.q, conds + walk + rest, filters.category))
    filtered = len(conds) > unfiltered or bool(rest) or (bool(walk) and len(frame) == len(category))
    return FilterPlans(frame, conds + walk + rest, conds + collect + rest, filtered, filters.category, equal,
                       collect, [c for c in conds + rest if id(c) not in armed])


def _age_conditions(filters: AssetFilters, as_of: date, start) -> list:
    """Return the age and year conditions of `filters` on the date expression `start`."""
    conds = []
    if filters.age_min is not None:  # at least N full years old on `as_of`
        conds.append(start <= years_before(as_of, filters.age_min))
    if filters.age_max is not None:  # not yet N+1 years old
        conds.append(start > years_before(as_of, filters.age_max + 1))
    if filters.year is not None:
        conds.append(start.between(date(filters.year, 1, 1), date(filters.year, 12, 31)))
    return conds


def sort_order(sort: str) -> tuple:
    """Return the ORDER BY of `sort` as the list pages walk it: NULLs last, then by id, both reversed by `-`."""
    col, nullable, _label = SORTS[sort.lstrip("-")]
    desc = sort.startswith("-")
    keys = [col.is_(None)] if nullable else []  # false (a value) before true (NULL) in both directions
    if col is not Asset.id:
        keys.append(col.desc() if desc else col.asc())
    keys.append(Asset.id.desc() if desc else Asset.id.asc())
    return tuple(keys)


def _exact_unit(column, value: int | str):
    if isinstance(value, int):
        return column == value
    return column.in_(sa.select(Unit.id).where(Unit.name == value))


def keyword_condition(q: str, within=(), category: Category | None = None):
    """Match a code prefix (index range, fast) for ASCII input, else a substring of the words around an asset.

    Codes are typed from labels (XZ-DT-0000123); Chinese words are part of the name, the address,
    the elevator's 小区, or the owner/user unit's name, found through the trigram indexes of
    `registry.assets.search` among the rows the list's other conditions `within` (of `category`)
    let through. The range relies on byte order (SQLite BINARY, PostgreSQL
    C/C.UTF-8 collation, as scripts/pg-setup.sh creates).
    """
    q = q.strip()
    if q.isascii():
        prefix = q.upper()
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return sa.and_(Asset.code >= prefix, Asset.code < upper)
    return text_condition(q, within, category)

"""The asset list filters, parsed once and shared by the list page, the API and every export.

Query parameters (all optional, all combinable):

===============  ==============================================================
category         category value, e.g. ``elevator`` (or its label 电梯)
department       department code, e.g. ``zjj`` (or its short name 住建局)
owner_unit       owner unit id, or its exact name
user_unit        user unit id, or its exact name
township         township / street name, exact
status           lifecycle status value or label (``in_use`` / 在用)
grade            condition grade value or label (``poor`` / 较差)
age_min          age in whole years, at least (age counted from ``Asset.age_start``)
age_max          age in whole years, at most
year             commissioning year, e.g. 2012
q                keyword: part of the code or the name
===============  ==============================================================

Bad values raise ValidationFailed with a Chinese message per parameter. Soft-deleted
assets are never listed. Department scoping is NOT applied here: combine with
``registry.accounts.scoping.asset_scope(user)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Mapping

import sqlalchemy as sa

from registry.assets import queries
from registry.assets.models import Asset
from registry.db_types import as_id
from registry.enums import Category, ConditionGrade, LabeledEnum, LifecycleStatus
from registry.errors import ValidationFailed
from registry.orgs.models import Department, Unit

FILTER_LABELS = {
    "category": "类别", "department": "主管部门", "owner_unit": "产权单位", "user_unit": "使用单位",
    "township": "乡镇/街道", "status": "使用状态", "grade": "状况等级", "age_min": "使用年限下限",
    "age_max": "使用年限上限", "year": "投入使用年份", "q": "关键词", "unit": "产权/使用单位",
}


@dataclass(frozen=True)
class AssetFilters:
    """Parsed, validated list filters; None means "not filtered"."""

    category: Category | None = None
    department: str | None = None
    owner_unit: int | str | None = None
    user_unit: int | str | None = None
    township: str | None = None
    status: LifecycleStatus | None = None
    grade: ConditionGrade | None = None
    age_min: int | None = None
    age_max: int | None = None
    year: int | None = None
    q: str | None = None
    unit: str | None = None  # owner or user unit whose name contains this (as on the list page)

    def as_args(self) -> dict[str, str]:
        """Return the filters as query parameters (for links and audit records)."""
        out = {}
        for key, value in asdict(self).items():
            if value is not None:
                out[key] = value.value if isinstance(value, LabeledEnum) else str(value)
        return out

    def describe(self) -> dict[str, str]:
        """Return the active filters with Chinese names and labels (for sheets and pages)."""
        return {FILTER_LABELS[k]: getattr(getattr(self, k), "label", v) for k, v in self.as_args().items()}


def _enum(enum_cls, raw: str, key: str, errors: dict):
    try:
        return enum_cls.from_label(raw)
    except KeyError:
        errors[key] = [f"「{raw}」不是有效的{FILTER_LABELS[key]}，可选：{'、'.join(enum_cls.labels())}"]
        return None


def _int(raw: str, key: str, errors: dict, low: int, high: int) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        errors[key] = [f"「{raw}」不是整数"]
        return None
    if not low <= value <= high:
        errors[key] = [f"应在 {low} 到 {high} 之间"]
        return None
    return value


def _unit(raw: str) -> int | str:
    """Return a unit id (ASCII digits within the id range) or the unit's name."""
    number = as_id(raw)
    return raw if number is None else number


def parse_filters(args: Mapping[str, str]) -> AssetFilters:
    """Parse list filters from query parameters; raise ValidationFailed naming each bad parameter."""
    raw = {k: str(args.get(k, "")).strip() for k in FILTER_LABELS}
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if raw["category"]:
        values["category"] = _enum(Category, raw["category"], "category", errors)
    if raw["status"]:
        values["status"] = _enum(LifecycleStatus, raw["status"], "status", errors)
    if raw["grade"]:
        values["grade"] = _enum(ConditionGrade, raw["grade"], "grade", errors)
    for key in ("age_min", "age_max"):
        if raw[key]:
            values[key] = _int(raw[key], key, errors, 0, 200)
    if raw["year"]:
        values["year"] = _int(raw["year"], "year", errors, 1900, 2100)
    for key in ("owner_unit", "user_unit"):
        if raw[key]:
            values[key] = _unit(raw[key])
    for key in ("department", "township", "q", "unit"):
        if raw[key]:
            if len(raw[key]) > 100:
                errors[key] = ["不能超过 100 个字符"]
            else:
                values[key] = raw[key]
    if values.get("age_min") is not None and values.get("age_max") is not None \
            and values["age_min"] > values["age_max"]:
        errors["age_max"] = ["使用年限上限不能小于下限"]
    if errors:
        raise ValidationFailed("筛选条件有误", {FILTER_LABELS[k]: v for k, v in errors.items()})
    return AssetFilters(**values)


def _unit_condition(column, value: int | str):
    if isinstance(value, int):
        return column == value
    return column.in_(sa.select(Unit.id).where(Unit.name == value))


def filter_conditions(filters: AssetFilters, today: date | None = None) -> list:
    """Return the SQL conditions for `filters` (AND them); soft-deleted assets are always excluded."""
    today = today or date.today()
    conds = [Asset.deleted_at.is_(None)]
    if filters.category is not None:
        conds.append(Asset.category == filters.category)
    if filters.department:
        conds.append(Asset.department_id.in_(sa.select(Department.id).where(
            sa.or_(Department.code == filters.department, Department.name == filters.department))))
    if filters.owner_unit is not None:
        conds.append(_unit_condition(Asset.owner_unit_id, filters.owner_unit))
    if filters.user_unit is not None:
        conds.append(_unit_condition(Asset.user_unit_id, filters.user_unit))
    if filters.township:
        conds.append(Asset.township == filters.township)
    if filters.status is not None:
        conds.append(Asset.status == filters.status)
    if filters.grade is not None:
        conds.append(Asset.condition_grade == filters.grade)
    # Age, year, keyword and unit mean exactly what they mean on the list page (registry.assets.queries).
    start = queries.age_start_expr(filters.category)
    if filters.age_min is not None:  # at least N whole years old
        conds.append(start <= queries.years_before(today, filters.age_min))
    if filters.age_max is not None:  # not yet N+1 years old
        conds.append(start > queries.years_before(today, filters.age_max + 1))
    if filters.year is not None:
        conds.append(start.between(date(filters.year, 1, 1), date(filters.year, 12, 31)))
    if filters.q:
        conds.append(queries.keyword_condition(filters.q))
    if filters.unit:
        conds.append(queries.unit_condition(filters.unit))
    return conds

"""The 2023 baselines the task force enters: equipment investment per department and sector, scrapped cars recycled.

A baseline is keyed by (measure, department, sector, year); the year is always 2023, the plan's base
year (新政〔2024〕3号 一(二)). Creating one that exists, or changing one with a stale version, is a
409 and writes nothing; every change is audited with its before and after.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from registry.audit import services as audit
from registry.disposals.models import Baseline
from registry.disposals.queries import VEHICLE_CATEGORIES
from registry.enums import BaselineMeasure, Category, Role
from registry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.inputs import NumberError, parse_number, show
from registry.orgs.models import Department
from registry.orgs.services import department_by_code
from registry.transactions import atomic

BASE_YEAR = 2023
# Per department and sector: the whole city's yearly equipment investment is far below 100 亿元, so a
# larger figure is a unit slip (分 or 万元 typed as 元); a city scraps a few thousand cars a year.
MAX_INVESTMENT = Decimal("10000000000")
MAX_CARS = 100_000
UNITS = {BaselineMeasure.INVESTMENT: "元", BaselineMeasure.SCRAPPED_CARS: "辆"}


def sectors_of(department: Department, measure: BaselineMeasure) -> list[str]:
    """Return the sectors a department may have a baseline for: its categories, or "" for scrapped cars."""
    if measure is BaselineMeasure.SCRAPPED_CARS:
        return [""] if department.category_values & {c.value for c in VEHICLE_CATEGORIES} else []
    return [c.value for c in Category if c.value in department.category_values]


def sector_label(sector: str) -> str:
    """Return the Chinese name of a sector ("合计" for the blank sector of scrapped cars)."""
    return Category(sector).label if sector else "（车辆）"


def _value(raw, measure: BaselineMeasure | None, errors: dict) -> Decimal | None:
    label = f"2023 年基数（{UNITS.get(measure, '')}）" if measure else "2023 年基数"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors["value"] = [f"{label}：不能为空"]
        return None
    try:
        value = parse_number(raw, integer=measure is BaselineMeasure.SCRAPPED_CARS)
    except NumberError as exc:
        errors["value"] = [f"{label}：{exc.message}"]
        return None
    value = Decimal(value)
    if value < 0:
        errors["value"] = [f"{label}：不能为负数（当前：{show(raw)}）"]
    elif measure is BaselineMeasure.INVESTMENT and value > MAX_INVESTMENT:
        errors["value"] = [f"{label}：「{value:,.2f}」超过 100 亿元，请核对单位（元，不是分或万元）"]
    elif measure is BaselineMeasure.SCRAPPED_CARS and value > MAX_CARS:
        errors["value"] = [f"{label}：「{value:,.0f}」超过 {MAX_CARS:,} 辆，请核对"]
    elif value != value.quantize(Decimal("0.01")):
        errors["value"] = [f"{label}：最多两位小数（分）"]
    else:
        return value.quantize(Decimal("0.01"))
    return None


def _note(raw, errors: dict) -> str:
    if raw is not None and not isinstance(raw, str):
        errors["note"] = ["数据来源：应为文本"]
        return ""
    text = (raw or "").strip()
    if len(text) > 200:
        errors["note"] = ["数据来源：不能超过 200 个字符"]
    return text


def parse_baseline(raw: dict) -> dict:
    """Parse a new baseline (measure, department code, sector, year, value, note); raise ValidationFailed."""
    errors: dict[str, list[str]] = {}
    measure = None
    try:
        measure = BaselineMeasure.from_label(raw.get("measure") if isinstance(raw.get("measure"), str) else "")
    except KeyError:
        errors["measure"] = [f"指标：请选择 {'/'.join(BaselineMeasure.labels())} 之一"]
    code = raw.get("department")
    department = department_by_code(code.strip()) if isinstance(code, str) and code.strip() else None
    if department is None:
        errors["department"] = [f"主管部门：「{show(code if code is not None else '')}」不存在"]
    sector = raw.get("sector") if raw.get("sector") is not None else ""
    if not isinstance(sector, str):
        errors["sector"] = ["领域：应为文本"]
        sector = ""
    sector = sector.strip()
    if sector:
        try:
            sector = Category.from_label(sector).value
        except KeyError:
            errors["sector"] = [f"领域：「{show(sector)}」不是设备类别"]
    if measure is not None and department is not None and "sector" not in errors:
        allowed = sectors_of(department, measure)
        if sector not in allowed:
            errors["sector"] = [f"领域：{department.name}没有「{sector_label(sector)}」的{measure.label}基数"
                                + (f"（可填：{'、'.join(sector_label(s) for s in allowed)}）" if allowed else "")]
    year = raw.get("year", BASE_YEAR)
    if str(year).strip() != str(BASE_YEAR):
        errors["year"] = [f"基准年度：方案以 {BASE_YEAR} 年为基期，只能录入 {BASE_YEAR} 年基数（当前：{show(year)}）"]
    values = {"measure": measure, "department_id": department.id if department else None, "sector": sector,
              "year": BASE_YEAR, "value": _value(raw.get("value"), measure, errors), "note": _note(raw.get("note"), errors)}
    if errors:
        raise ValidationFailed("基数有误，未保存", errors)
    return values


def parse_change(raw: dict, measure: BaselineMeasure) -> dict:
    """Parse a change to an existing baseline (value and/or note); raise ValidationFailed."""
    errors: dict[str, list[str]] = {}
    out = {}
    if "value" in raw:
        out["value"] = _value(raw.get("value"), measure, errors)
    if "note" in raw:
        out["note"] = _note(raw.get("note"), errors)
    if not out and not errors:
        errors["value"] = ["请填写 2023 年基数或数据来源"]
    if errors:
        raise ValidationFailed("基数有误，未保存", errors)
    return out


def _require_taskforce(user) -> None:
    if user is not None and getattr(user, "role", None) is not Role.TASKFORCE:
        raise PermissionDenied("只有工作专班可以录入 2023 年基数")


def _snapshot(row: Baseline) -> dict:
    return {"measure": row.measure.value, "department": row.department.code, "sector": row.sector, "year": row.year,
            "value": str(row.value), "note": row.note, "version": row.version}


def all_baselines(department_id: int | None = None) -> list[Baseline]:
    """Return the baselines (of one department if given), by department, measure and sector."""
    stmt = sa.select(Baseline).order_by(Baseline.department_id, Baseline.measure, Baseline.sector)
    if department_id is not None:
        stmt = stmt.where(Baseline.department_id == department_id)
    return list(db.session.scalars(stmt))


def baseline_values() -> dict[tuple[str, int, str], Decimal]:
    """Return {(measure value, department_id, sector): 2023 value} of every baseline."""
    rows = db.session.execute(sa.select(Baseline.measure, Baseline.department_id, Baseline.sector, Baseline.value)
                              .where(Baseline.year == BASE_YEAR)).all()
    return {(BaselineMeasure(m).value, d, s): Decimal(v) for m, d, s, v in rows}


def get_baseline(baseline_id: int) -> Baseline:
    """Return one baseline or raise NotFound."""
    row = db.session.get(Baseline, baseline_id)
    if row is None:
        raise NotFound(f"基数 {baseline_id} 不存在")
    return row


@atomic
def create_baseline(values: dict, user=None) -> Baseline:
    """Enter a 2023 baseline (task force only); 409 when that department and sector already has one. Commit."""
    _require_taskforce(user)
    existing = db.session.scalar(sa.select(Baseline).where(
        Baseline.measure == values["measure"], Baseline.department_id == values["department_id"],
        Baseline.sector == values["sector"], Baseline.year == values["year"]))
    if existing is not None:
        raise Conflict(f"{existing.department.name}的{existing.measure.label}（{sector_label(existing.sector)}）"
                       f"已有 2023 年基数（版本 {existing.version}），请刷新后修改")
    row = Baseline(**values, version=1, updated_by_id=getattr(user, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record("plan.baseline.create", object_type="plan_baseline", object_id=row.id, user=user,
                 details={"after": _snapshot(row)})
    db.session.commit()
    return row


@atomic
def update_baseline(baseline_id: int, raw: dict, user, expected_version) -> Baseline:
    """Change a baseline's value or note if `expected_version` is current (else 409, nothing changed). Commit."""
    _require_taskforce(user)
    row = get_baseline(baseline_id)
    if expected_version != row.version:
        raise Conflict(f"该基数已被他人修改（当前版本 {row.version}，您提交的版本 {show(expected_version)}），"
                       "请刷新后重试")
    changes = parse_change(raw, row.measure)
    before = _snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    if _snapshot(row) == before:
        return row  # nothing changed: no new version, no audit record
    row.version += 1
    row.updated_by_id = getattr(user, "id", None)
    audit.record("plan.baseline.update", object_type="plan_baseline", object_id=row.id, user=user,
                 details={"before": before, "after": _snapshot(row)})
    db.session.commit()
    return row

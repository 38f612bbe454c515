"""Edit plan targets and replacement cost estimates (validated, audited)."""
from __future__ import annotations

import math
from decimal import Decimal

import sqlalchemy as sa

from registry.audit import services as audit
from registry.db_types import as_id
from registry.enums import TargetMeasure
from registry.errors import NotFound, ValidationFailed
from registry.extensions import db
from registry.inputs import NumberError, parse_number, show
from registry.planning.inputs import PLAN_PERIOD, parse_cost
from registry.planning.models import PlanTarget, ReplacementCost

EDITABLE = ("measure", "value", "start_year", "deadline_year", "citation", "title")
MAX_VALUE = Decimal("9999999999.99")  # plan_targets.value is NUMERIC(12, 2)


def target_count(target: PlanTarget, flagged: int, done: int = 0) -> int:
    """Return the number of assets a target asks for: its count, or its percentage of flagged + already done."""
    if target.measure.value == "percentage":
        return math.ceil(float(target.value) * (flagged + done) / 100)
    return int(target.value)


def all_targets() -> list[PlanTarget]:
    """Return every plan target, by code."""
    return list(db.session.scalars(sa.select(PlanTarget).order_by(PlanTarget.code)))


def all_costs() -> list[ReplacementCost]:
    """Return every replacement cost estimate, by category and type."""
    return list(db.session.scalars(sa.select(ReplacementCost).order_by(ReplacementCost.category,
                                                                        ReplacementCost.asset_type)))


def _snapshot(t: PlanTarget) -> dict:
    return {"measure": t.measure.value, "value": str(t.value), "start_year": t.start_year,
            "deadline_year": t.deadline_year, "citation": t.citation, "title": t.title}


def update_target(target_id: int, data, user=None) -> PlanTarget:
    """Apply the given fields to a target; raise ValidationFailed (nothing saved) on bad values."""
    target = db.session.get(PlanTarget, target_id)
    if target is None:
        raise NotFound(f"目标 {target_id} 不存在")
    errors: dict = {}
    values = _snapshot(target)
    values.update({k: data[k] for k in EDITABLE if k in data and data[k] is not None})
    try:
        measure = TargetMeasure.from_label(values["measure"])
    except KeyError:
        errors["measure"] = ["计量方式须为 数量 或 百分比"]
        measure = None
    try:
        value = parse_number(values["value"])
        if not 0 <= value <= MAX_VALUE:
            raise NumberError("out of range")
    except NumberError:
        errors["value"] = [f"目标值须为 0 到 {MAX_VALUE} 之间的数字（当前：{show(values['value'])}）"]
        value = None
    if measure is TargetMeasure.PERCENTAGE and value is not None and value > 100:
        errors["value"] = [f"百分比目标不能超过 100（当前：{value}）"]
    years = {}
    for key, label in (("start_year", "起始年度"), ("deadline_year", "期限年度")):
        text = str(values[key]).strip()
        if as_id(text) is None or not PLAN_PERIOD[0] <= int(text) <= PLAN_PERIOD[1]:
            errors[key] = [f"{label}须为 {PLAN_PERIOD[0]}—{PLAN_PERIOD[1]} 之间的年份（当前：{show(text)}）"]
        else:
            years[key] = int(text)
    if len(years) == 2 and years["start_year"] > years["deadline_year"]:
        errors["deadline_year"] = ["期限年度早于起始年度"]
    citation, title = str(values["citation"]).strip(), str(values["title"]).strip()
    if not citation:
        errors["citation"] = ["请填写依据（文件及条款）"]
    if not title:
        errors["title"] = ["请填写目标名称"]
    if errors:
        raise ValidationFailed("目标有误，未保存", errors)
    before = _snapshot(target)
    target.measure, target.value, target.citation, target.title = measure, value, citation[:200], title[:200]
    target.start_year, target.deadline_year = years["start_year"], years["deadline_year"]
    target.updated_by = getattr(user, "id", None)
    audit.record("plan.target.update", object_type="plan_target", object_id=target.code, user=user,
                 details={"before": before, "after": _snapshot(target)})
    db.session.commit()
    return target


def update_cost(cost_id: int, value, user=None) -> ReplacementCost:
    """Set an estimated replacement cost (whole 元, not negative)."""
    cost = db.session.get(ReplacementCost, cost_id)
    if cost is None:
        raise NotFound(f"估算费用 {cost_id} 不存在")
    amount = parse_cost(value, "估算费用（元）")
    before = cost.unit_cost
    cost.unit_cost, cost.updated_by = amount, getattr(user, "id", None)
    audit.record("plan.cost.update", object_type="replacement_cost", object_id=cost.id, user=user,
                 details={"category": cost.category.value, "asset_type": cost.asset_type, "before": before,
                          "after": amount})
    db.session.commit()
    return cost

"""Create and build plans, pin assets to years. Each public function owns its transaction."""
from __future__ import annotations

import sqlalchemy as sa

from registry.accounts.scoping import can_read_asset
from registry.assets.models import Asset
from registry.audit import services as audit
from registry.bulk import bulk_insert
from registry.db_types import as_id, utcnow
from registry.enums import PlanStatus
from registry.errors import Conflict, NotFound, ValidationFailed
from registry.extensions import db
from registry.inputs import show
from registry.orgs.models import Department
from registry.planning import access
from registry.planning import candidates as source
from registry.planning.builder import Settings, build
from registry.planning.inputs import parse_budgets, parse_pin_year, parse_quotas, parse_years
from registry.planning.models import Plan, PlanEvent, PlanPin, PlanPlacement
from registry.planning.summary import summarize
from registry.transactions import atomic

PLACEMENT_COLUMNS = ("plan_id", "asset_id", "year", "rank", "category", "department_id", "outcome", "mandatory",
                     "overdue_months", "years_beyond", "condition_rank", "rule_code", "est_cost", "pinned",
                     "explanation")


def visible_plans(user) -> list[Plan]:
    """Return the plans `user` may read, newest first (deciders see every department's)."""
    return list(db.session.scalars(sa.select(Plan).where(access.plan_scope(user)).order_by(Plan.id.desc())))


def get_plan(plan_id: int, user=None, *, lock: bool = False) -> Plan:
    """Return the plan or raise NotFound; check `user` may read it; `lock` holds its row until commit."""
    query = sa.select(Plan).where(Plan.id == plan_id)
    if lock:
        # Serialise concurrent builds and workflow steps on one plan (FOR UPDATE OF plans only).
        query = query.with_for_update(of=Plan.__table__).execution_options(populate_existing=True)
    plan = db.session.scalar(query)
    if plan is None:
        raise NotFound(f"计划 {plan_id} 不存在")
    access.require_view(user, plan)
    return plan


def department_id_for(code: str | None) -> int | None:
    """Return the id of the department with `code` (None for citywide), or raise ValidationFailed."""
    if not code:
        return None
    dept_id = db.session.scalar(sa.select(Department.id).where(Department.code == code))
    if dept_id is None:
        raise ValidationFailed("主管部门有误", {"department": [f"未知的部门代码：{code}"]})
    return dept_id


@atomic
def create_plan(*, year_from, year_to, department_code: str | None = None, quotas=None, budgets=None,
                name: str | None = None, user=None) -> Plan:
    """Validate the request, create a draft plan and build it from the latest evaluation."""
    start, end = parse_years(year_from, year_to)
    years = list(range(start, end + 1))
    clean_quotas, clean_budgets = parse_quotas(quotas, years), parse_budgets(budgets, years)
    dept_id = access.department_for_new_plan(user, department_id_for(department_code))
    if source_evaluation() is None:
        raise Conflict("尚无规则评估结果：请先运行全库评估，再编制计划")
    dept = db.session.get(Department, dept_id) if dept_id else None
    plan = Plan(name=(name or "").strip()[:120] or f"{start}—{end}年{dept.name if dept else '全市'}设备更新计划",
                year_from=start, year_to=end, department_id=dept_id, quotas=clean_quotas, budgets=clean_budgets,
                created_by=getattr(user, "id", None), status=PlanStatus.DRAFT)
    db.session.add(plan)
    db.session.flush()
    _build(plan, user)
    audit.record("plan.create", object_type="plan", object_id=plan.id, user=user,
                 details={"after": {"years": [start, end], "department_id": dept_id, "quotas": clean_quotas,
                                    "budgets": clean_budgets}})
    db.session.commit()
    return plan


def source_evaluation():
    """Return (id, as_of) of the evaluation plans are built from, or None."""
    return source.latest_evaluation()


def update_settings(plan_id: int, *, quotas=None, budgets=None, user=None) -> Plan:
    """Replace a draft's quotas and budgets and rebuild it."""
    plan = _draft(plan_id, user)
    clean_quotas, clean_budgets = parse_quotas(quotas, plan.years), parse_budgets(budgets, plan.years)
    before = {"quotas": plan.quotas, "budgets": plan.budgets}
    plan.quotas, plan.budgets = clean_quotas, clean_budgets
    _build(plan, user)
    audit.record("plan.settings", object_type="plan", object_id=plan.id, user=user,
                 details={"before": before, "after": {"quotas": clean_quotas, "budgets": clean_budgets}})
    db.session.commit()
    return plan


def rebuild(plan_id: int, user=None) -> Plan:
    """Rebuild a draft from the latest evaluation, keeping its pins."""
    plan = _draft(plan_id, user)
    _build(plan, user)
    audit.record("plan.rebuild", object_type="plan", object_id=plan.id, user=user,
                 details={"after": {"evaluation_id": plan.evaluation_id, "placed": plan.summary.get("placed")}})
    db.session.commit()
    return plan


def _draft(plan_id: int, user) -> Plan:
    plan = get_plan(plan_id, user, lock=True)
    access.require_propose(user, plan)
    if plan.status is not PlanStatus.DRAFT:
        raise Conflict(f"计划当前为「{plan.status.label}」，只有草稿可以调整；已锁定的计划请新建修订")
    return plan


def active_pins(plan_id: int) -> dict[int, int]:
    """Return {asset_id: year} of the plan's pins in force."""
    return dict(db.session.execute(sa.select(PlanPin.asset_id, PlanPin.year).where(
        PlanPin.plan_id == plan_id, PlanPin.removed_at.is_(None))).tuples().all())


def _settings(plan: Plan) -> Settings:
    quotas = {(cat, int(y)): n for cat, per in (plan.quotas or {}).items() for y, n in per.items()}
    budgets = {int(y): n for y, n in (plan.budgets or {}).items()}
    return Settings(years=plan.years, quotas=quotas, budgets=budgets, pins=active_pins(plan.id))


def _build(plan: Plan, user) -> None:
    evaluation = source.latest_evaluation()
    if evaluation is None:
        raise Conflict("尚无规则评估结果：请先运行全库评估，再编制计划")
    candidates = source.load_candidates(evaluation[0], plan.department_id)
    result = build(candidates, _settings(plan))
    # Placements of a draft are derived data, recomputed on every build.
    db.session.execute(sa.delete(PlanPlacement).where(PlanPlacement.plan_id == plan.id))
    pid = plan.id
    bulk_insert(PlanPlacement.__table__, PLACEMENT_COLUMNS, (
        (pid, c.asset_id, year, rank, c.category.value, c.department_id, c.outcome.value, c.mandatory,
         c.overdue_months, c.years_beyond, c.condition_rank, c.rule_code, c.est_cost, pinned, text)
        for c, year, rank, pinned, text in result.rows))
    plan.evaluation_id, plan.evaluation_as_of = evaluation
    plan.summary = summarize(plan, candidates, result)
    plan.built_at = utcnow()
    db.session.add(PlanEvent(plan_id=plan.id, user_id=getattr(user, "id", None), action="build",
                             comment=f"依据 {evaluation[1].isoformat()} 评估结果编制：列入 {plan.summary['placed']} 项，"
                                     f"未能列入 {plan.summary['unplaced']} 项"))


def _asset(ref, user) -> Asset:
    text = str(ref).strip()
    asset = None
    if as_id(text) is not None:  # an id; anything else may be a code
        asset = db.session.get(Asset, as_id(text))
    if asset is None:
        asset = db.session.scalar(sa.select(Asset).where(Asset.code == text))
    # Another department's asset gets the answer a missing one gets: neither its code nor its existence leaks.
    if asset is None or asset.deleted_at is not None or (user is not None and not can_read_asset(user, asset)):
        raise ValidationFailed("设备不存在或不在您的管辖范围内",
                               {"asset": [f"找不到设备或不在您的管辖范围内：{show(text)}"]})
    return asset


def pin_asset(plan_id: int, asset_ref, year, *, reason: str | None = None, user=None) -> Plan:
    """Pin (or move) an asset to a year of a draft plan and rebuild; the asset must have a finding."""
    plan = _draft(plan_id, user)
    pin_year = parse_pin_year(year, plan.years)
    if not str(asset_ref or "").strip():
        raise ValidationFailed("请填写设备", {"asset": ["请填写设备编号"]})
    asset = _asset(asset_ref, user)
    if plan.department_id is not None and asset.department_id != plan.department_id:
        raise ValidationFailed("设备不属于本计划的部门", {"asset": [f"设备 {asset.code} 不属于本计划的主管部门"]})
    if plan.evaluation_id is None or asset.id not in source.flagged_asset_ids(plan.evaluation_id, [asset.id]):
        raise ValidationFailed("该设备没有更新发现，不能列入计划",
                               {"asset": [f"设备 {asset.code} 在本计划依据的评估"
                                          f"（{plan.evaluation_as_of or '无'}）中没有需更新的发现，不能指定年度"]})
    pin = db.session.scalar(sa.select(PlanPin).where(PlanPin.plan_id == plan.id, PlanPin.asset_id == asset.id))
    before = None if pin is None or pin.removed_at else pin.year
    if pin is None:
        pin = PlanPin(plan_id=plan.id, asset_id=asset.id)
        db.session.add(pin)
    pin.year, pin.reason, pin.removed_at = pin_year, (reason or "").strip()[:200] or None, None
    pin.created_by = getattr(user, "id", None)
    db.session.flush()
    _build(plan, user)
    db.session.add(PlanEvent(plan_id=plan.id, user_id=getattr(user, "id", None), action="pin",
                             comment=f"设备 {asset.code} 指定列入 {pin_year} 年" + (f"：{pin.reason}" if pin.reason else "")))
    audit.record("plan.pin", object_type="plan", object_id=plan.id, user=user,
                 details={"asset": asset.code, "before": before, "after": pin_year, "reason": pin.reason})
    db.session.commit()
    return plan


def unpin_asset(plan_id: int, asset_id: int, user=None) -> Plan:
    """Remove a pin from a draft plan and rebuild."""
    plan = _draft(plan_id, user)
    pin = db.session.scalar(sa.select(PlanPin).where(PlanPin.plan_id == plan.id, PlanPin.asset_id == asset_id,
                                                     PlanPin.removed_at.is_(None)))
    if pin is None:
        raise NotFound("该设备没有人工指定的年度")
    pin.removed_at = utcnow()
    db.session.flush()
    _build(plan, user)
    db.session.add(PlanEvent(plan_id=plan.id, user_id=getattr(user, "id", None), action="unpin",
                             comment=f"取消设备 {asset_id} 的人工指定（原 {pin.year} 年）"))
    audit.record("plan.unpin", object_type="plan", object_id=plan.id, user=user,
                 details={"asset_id": asset_id, "before": pin.year, "after": None})
    db.session.commit()
    return plan

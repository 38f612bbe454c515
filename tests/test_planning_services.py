"""Plan services: building, bad input, pins, workflow, locking, revisions, targets, CLI and the yearly job."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry.assets.models import Asset, AssetChange
from registry.audit.models import AuditRecord
from registry.enums import Category, LifecycleStatus, PlanStatus, RuleOutcome
from registry.errors import Conflict, ValidationFailed
from registry.extensions import db
from registry.planning import services, workflow
from registry.planning.models import Plan, PlanPin, PlanPlacement, PlanTarget
from registry.planning.reference import ensure_planning_reference
from tests.planning_helpers import source  # noqa: F401  (fixture)


def _years(plan_id):
    return dict(db.session.execute(sa.select(PlanPlacement.asset_id, PlanPlacement.year)
                                   .where(PlanPlacement.plan_id == plan_id)).tuples().all())


def test_build_places_by_priority_with_quotas_and_reports_shortfall(ctx, source):
    ensure_planning_reference()
    late = source.flag(overdue=6)
    later = source.flag(overdue=9)
    soft = source.flag(outcome=RuleOutcome.SUGGESTED_RENEWAL, beyond=2.5)
    plan = services.create_plan(year_from=2025, year_to=2026, quotas={"official_car": {"2025": 1, "2026": 1}})
    assert _years(plan.id) == {later.id: 2025, late.id: 2026, soft.id: None}
    text = db.session.scalar(sa.select(PlanPlacement.explanation).where(PlanPlacement.asset_id == later.id))
    assert text == "列入2025年：强制更新，已逾期 9 个月"
    s = plan.summary
    assert (s["placed"], s["unplaced"], s["unplaced_mandatory"]) == (2, 1, 0)
    car = next(r for r in s["shortfalls"] if r["code"] == "XZ-T12")
    assert (car["target"], car["planned"], car["done"], car["shortfall"]) == (40, 2, 0, 38)
    elevator = next(r for r in s["shortfalls"] if r["code"] == "XZ-T7")
    assert elevator["shortfall"] is None and "加装" in elevator["note"]


def test_percentage_target_and_deadline_before_plan_start(ctx, source):
    ensure_planning_reference()
    for _ in range(3):
        source.flag(Category.PIPE)
    for _ in range(4):
        source.flag(Category.CONSTRUCTION_MACHINE)
    plan = services.create_plan(year_from=2025, year_to=2027, department_code="zjj",
                                quotas={"construction_machine": {"2025": 1}})
    pipe = next(r for r in plan.summary["shortfalls"] if r["code"] == "XZ-T9")
    # 100% of 3 flagged pipes by 2024, but the plan starts in 2025: all of it is a shortfall.
    assert (pipe["target"], pipe["planned"], pipe["shortfall"]) == (3, 0, 3)
    assert "早于计划起始年度" in pipe["note"]
    machines = next(r for r in plan.summary["shortfalls"] if r["code"] == "XZ-T8")
    assert (machines["target"], machines["planned"], machines["shortfall"]) == (4, 4, 0)
    assert "2025—2027 年每年约 2 台" in machines["note"]


@pytest.mark.parametrize("kwargs,field", [
    (dict(year_from=2027, year_to=2025), "year_to"),
    (dict(year_from=2023, year_to=2025), "year_from"),
    (dict(year_from=2025, year_to=2026, quotas={"official_car": {"2025": -1}}), "quotas.official_car.2025"),
    (dict(year_from=2025, year_to=2026, quotas={"official_car": {"2025": "abc"}}), "quotas.official_car.2025"),
    (dict(year_from=2025, year_to=2026, budgets={"2025": "-100"}), "budgets.2025"),
])
def test_bad_input_is_rejected_and_nothing_saved(ctx, source, kwargs, field):
    source.flag()
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    with pytest.raises(ValidationFailed) as exc:
        services.create_plan(**kwargs)
    assert field in exc.value.errors
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == audits


def test_no_evaluation_is_a_clear_conflict(ctx, source):
    source.evaluation = None
    with pytest.raises(Conflict, match="尚无规则评估结果"):
        services.create_plan(year_from=2025, year_to=2027)


def test_pins_survive_rebuild_and_unflagged_assets_cannot_be_pinned(ctx, source):
    first = source.flag(overdue=9)
    second = source.flag(overdue=3)
    plan = services.create_plan(year_from=2025, year_to=2027, quotas={"official_car": {"2025": 1, "2026": 1}})
    services.pin_asset(plan.id, second.code, 2025, reason="专班决定提前")
    assert _years(plan.id) == {second.id: 2025, first.id: 2026}
    services.rebuild(plan.id)
    assert _years(plan.id) == {second.id: 2025, first.id: 2026}
    assert "人工指定" in db.session.scalar(sa.select(PlanPlacement.explanation)
                                       .where(PlanPlacement.asset_id == second.id))

    from tests.factories import make_asset
    unflagged = make_asset(Category.OFFICIAL_CAR)
    with pytest.raises(ValidationFailed) as exc:
        services.pin_asset(plan.id, unflagged.code, 2026)
    assert "没有需更新的发现" in exc.value.errors["asset"][0]
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.pin_asset(plan.id, first.code, 2030)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanPin)) == 1

    services.unpin_asset(plan.id, second.id)
    assert _years(plan.id) == {first.id: 2025, second.id: 2026}


def test_workflow_lock_marks_assets_planned_and_revision_shows_differences(ctx, source):
    a = source.flag(overdue=9)
    b = source.flag(overdue=3)
    plan = services.create_plan(year_from=2025, year_to=2026, quotas={"official_car": {"2025": 1, "2026": 1}})
    with pytest.raises(Conflict):
        workflow.transition(plan.id, "approve")  # must be submitted first
    with pytest.raises(ValidationFailed):
        workflow.transition(plan.id, "fly")
    workflow.transition(plan.id, "submit", comment="请审定")
    with pytest.raises(ValidationFailed):
        workflow.transition(plan.id, "return")  # returning needs a comment
    workflow.transition(plan.id, "approve")
    workflow.transition(plan.id, "lock")
    assert db.session.get(Asset, a.id).status is LifecycleStatus.PLANNED
    changes = db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == a.id,
                                                              AssetChange.action == "plan")).all()
    assert [(c.field, c.before, c.after) for c in changes] == [("status", "在用", "已列入更新计划")]
    assert db.session.scalar(sa.select(AuditRecord.action).where(AuditRecord.action == "plan.lock"))
    with pytest.raises(Conflict, match="新建修订"):
        services.pin_asset(plan.id, a.code, 2026)

    child = workflow.revise(plan.id, comment="调整")
    assert child.revision == 2 and child.status is PlanStatus.DRAFT
    assert workflow.differences(child)["counts"] == {"added": 0, "removed": 0, "moved": 0}
    services.pin_asset(child.id, b.code, 2025)
    diff = workflow.differences(child)
    assert diff["counts"] == {"added": 0, "removed": 0, "moved": 2}
    assert {(r["code"], r["year"], r["other_year"]) for r in diff["moved"]} == {(b.code, 2025, 2026),
                                                                               (a.code, 2026, 2025)}
    for step in ("submit", "approve", "lock"):
        workflow.transition(child.id, step)
    assert db.session.get(Plan, plan.id).status is PlanStatus.SUPERSEDED


def test_new_revision_dropping_an_asset_returns_it_to_in_use(ctx, source):
    a = source.flag(overdue=9)
    b = source.flag(overdue=3)
    plan = services.create_plan(year_from=2025, year_to=2025)
    for step in ("submit", "approve", "lock"):
        workflow.transition(plan.id, step)
    child = workflow.revise(plan.id)
    services.update_settings(child.id, quotas={"official_car": {"2025": 1}})
    assert workflow.differences(child)["counts"]["removed"] == 1
    for step in ("submit", "approve", "lock"):
        workflow.transition(child.id, step)
    assert db.session.get(Asset, a.id).status is LifecycleStatus.PLANNED
    assert db.session.get(Asset, b.id).status is LifecycleStatus.IN_USE
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AssetChange)
                             .where(AssetChange.asset_id == b.id, AssetChange.action == "plan")) == 2


def test_targets_are_seeded_once_and_validated_on_edit(ctx):
    from registry.planning.targets import update_cost, update_target
    assert ensure_planning_reference() == (5, 15)
    assert ensure_planning_reference() == (0, 0)
    car = db.session.scalar(sa.select(PlanTarget).where(PlanTarget.code == "XZ-T12"))
    with pytest.raises(ValidationFailed) as exc:
        update_target(car.id, {"value": "-3", "deadline_year": "2030"})
    assert set(exc.value.errors) == {"value", "deadline_year"}
    db.session.rollback()
    update_target(car.id, {"value": "45"})
    assert db.session.get(PlanTarget, car.id).value == 45
    with pytest.raises(ValidationFailed):
        update_cost(1, "很贵")


def test_seed_reference_cli_loads_targets(runner, app):
    result = runner.invoke(args=["registry", "seed-reference"])
    assert result.exit_code == 0, result.output
    assert "5 项计划目标" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanTarget)) == 5


def test_plan_build_cli(runner, app, source):
    with app.app_context():
        source.flag(overdue=2)
    bad = runner.invoke(args=["registry", "plan", "build", "--from", "2027", "--to", "2025"])
    assert bad.exit_code != 0 and "年度范围颠倒" in bad.output
    bad_quota = runner.invoke(args=["registry", "plan", "build", "--from", "2025", "--to", "2027",
                                    "--quota", "official_car:2025=-2"])
    assert bad_quota.exit_code != 0 and "不能小于 0" in bad_quota.output
    ok = runner.invoke(args=["registry", "plan", "build", "--from", "2025", "--to", "2027", "--department", "jgsw",
                             "--quota", "official_car:2025=5", "--budget", "2025=1000000"])
    assert ok.exit_code == 0, ok.output
    assert "2025年：1 项，估算 180,000 元" in ok.output


def test_yearly_draft_job(ctx, source):
    from registry.planning.jobs import build_yearly_draft
    source.flag()
    plan_id = build_yearly_draft(date(2024, 12, 1))
    plan = db.session.get(Plan, plan_id)
    assert (plan.year_from, plan.year_to, plan.department_id) == (2025, 2027, None)
    assert build_yearly_draft(date(2024, 12, 2)) == plan_id
    assert build_yearly_draft(date(2027, 12, 1)) is None


def test_progress_counts_done_by_disposal_record_and_notified_by_status_change_year(ctx, source):
    from datetime import datetime, timezone

    from registry.disposals.models import Disposal
    from registry.enums import DisposalWay
    from registry.planning import progress
    ensure_planning_reference()
    renewed = source.flag()  # 已更新 by status alone, without a disposal record: not done
    notified = source.flag()
    disposed = source.flag()
    for asset, status, year in ((renewed, LifecycleStatus.RENEWED, 2025), (notified, LifecycleStatus.NOTIFIED, 2026),
                                (disposed, LifecycleStatus.SCRAPPED, 2026)):
        db.session.add(AssetChange(asset_id=asset.id, action="update", field="status", before="in_use",
                                   after=status.value, changed_at=datetime(year, 5, 1, tzinfo=timezone.utc)))
        asset.status = status
    # The disposal is dated 2025 although its status change was recorded in 2026: the record's date counts.
    db.session.add(Disposal(asset_id=disposed.id, way=DisposalWay.SCRAP_DISMANTLE, disposed_on=date(2025, 3, 2),
                            receiver="河南某报废机动车回收拆解公司", recycling_certificate_no="HS-T-1",
                            deregistration_no="ZX-T-1"))
    db.session.commit()
    rows = {(r.department.code, r.category): r for r in progress.dashboard()}
    car = rows[("jgsw", Category.OFFICIAL_CAR)]
    assert car.target == 40
    assert car.done == {2024: 0, 2025: 1, 2026: 0, 2027: 0}
    assert car.notified == {2024: 0, 2025: 0, 2026: 1, 2027: 0}
    assert car.cumulative("done") == [0, 1, 1, 1]
    ev = progress.evidence("done", disposed.department_id, Category.OFFICIAL_CAR, 2025)
    assert [r["code"] for r in ev] == [disposed.code]
    assert ev[0]["way"] is DisposalWay.SCRAP_DISMANTLE and ev[0]["at"] == date(2025, 3, 2)
    assert progress.evidence("done", disposed.department_id, Category.OFFICIAL_CAR, 2026) == []
    assert renewed.code not in [r["code"] for r in progress.evidence("done", renewed.department_id,
                                                                      Category.OFFICIAL_CAR)]


def test_the_member_who_submitted_a_plan_cannot_approve_it(ctx, source):
    from registry.errors import PermissionDenied
    from tests.factories import make_user
    source.flag(overdue=9)
    author, colleague = make_user(role="taskforce", department=None), make_user(role="taskforce", department=None)
    plan = services.create_plan(year_from=2025, year_to=2026, user=author)
    workflow.transition(plan.id, "submit", user=author)
    with pytest.raises(PermissionDenied, match="上报人不能审批"):
        workflow.transition(plan.id, "approve", user=author)
    db.session.rollback()
    assert db.session.get(Plan, plan.id).status is PlanStatus.SUBMITTED  # refused: nothing changed
    workflow.transition(plan.id, "approve", user=colleague)
    assert db.session.get(Plan, plan.id).status is PlanStatus.APPROVED


def test_addition_target_is_not_held_against_disposals_on_the_dashboard(ctx, source):
    """XZ-T7 (elevators added to existing homes) is not fed by disposals: no figure, no 'behind schedule'."""
    from registry.planning import progress
    ensure_planning_reference()
    source.flag(Category.ELEVATOR)  # an elevator with activity, so its row is listed
    rows = progress.dashboard()
    elevator = next(r for r in rows if r.category is Category.ELEVATOR and r.department.code == "zjj")
    assert [t.code for t in elevator.targets] == ["XZ-T7"]
    assert elevator.target is None and "加装" in (elevator.target_note or "")
    assert progress.expected_by(elevator, 2026) is None
    assert elevator not in [row for row, _, _ in progress.behind_schedule(rows, 2026)]
    car = next(r for r in rows if r.category is Category.OFFICIAL_CAR and r.department.code == "jgsw")
    assert car.target == 40  # a target fed by disposals keeps its figure

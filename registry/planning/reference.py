"""Seed data for planning: the plan's targets and estimated replacement costs (both editable afterwards)."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from registry.enums import Category, TargetMeasure
from registry.extensions import db
from registry.orgs.models import Department
from registry.planning.models import PlanTarget, ReplacementCost

PLAN = "新政〔2024〕3号"

# code, department, category, title, measure, value, start, deadline, citation, fed by findings, yearly, note
TARGETS = (
    ("XZ-T12", "jgsw", Category.OFFICIAL_CAR, "更新公务用车 40 辆", TargetMeasure.COUNT, 40, 2024, 2027,
     f"{PLAN} 二(四)12", True, False, None),
    ("XZ-T13", "nync", Category.FARM_MACHINE, "报废更新老旧农业机械 200 台", TargetMeasure.COUNT, 200, 2024, 2027,
     f"{PLAN} 二(五)13", True, False, None),
    ("XZ-T9", "zjj", Category.PIPE, "超过设计使用年限的管道设施 2024 年底前全部更新", TargetMeasure.PERCENTAGE, 100,
     2024, 2024, f"{PLAN} 二(三)9", True, False,
     "百分比以最新一次评估中被标记的管道设施数为基数。"),
    ("XZ-T8", "zjj", Category.CONSTRUCTION_MACHINE, "建筑工程机械分年度分批次淘汰，至 2027 年完成",
     TargetMeasure.PERCENTAGE, 100, 2024, 2027, f"{PLAN} 二(三)8", True, True,
     "百分比以最新一次评估中被标记的建筑工程机械数为基数，按年度分批。"),
    ("XZ-T7", "zjj", Category.ELEVATOR, "既有住宅加装电梯 20 部以上", TargetMeasure.COUNT, 20, 2024, 2027,
     f"{PLAN} 一(二)", False, False,
     "加装是新增电梯，不是对在册电梯的更新或报废，规则评估的发现不计入此目标；"
     "列入记录以便在进度看板中展示，完成数需按加装项目另行登记。"),
)

# Estimated replacement cost per asset (元). Rough, editable planning figures, NOT prices:
# category default ("") first, then per machine type where prices differ by an order of magnitude.
COSTS = (
    (Category.OFFICIAL_CAR, "", 180_000, "一般公务用车购置标准上限约 18 万元"),
    (Category.FARM_MACHINE, "", 60_000, "农机平均估算"),
    (Category.FARM_MACHINE, "tractor_large", 300_000, "大型轮式拖拉机"),
    (Category.FARM_MACHINE, "tractor_medium", 120_000, "中型轮式拖拉机"),
    (Category.FARM_MACHINE, "tractor_small", 20_000, "小型拖拉机"),
    (Category.FARM_MACHINE, "combine_harvester", 250_000, "自走式联合收割机"),
    (Category.FARM_MACHINE, "corn_harvester", 150_000, "玉米收获机"),
    (Category.CONSTRUCTION_MACHINE, "", 400_000, "建筑工程机械平均估算"),
    (Category.CONSTRUCTION_MACHINE, "tower_crane", 800_000, "塔式起重机"),
    (Category.CONSTRUCTION_MACHINE, "construction_hoist", 300_000, "施工升降机"),
    (Category.CONSTRUCTION_MACHINE, "excavator", 600_000, "挖掘机"),
    (Category.CONSTRUCTION_MACHINE, "truck_crane", 1_200_000, "汽车起重机"),
    (Category.ELEVATOR, "", 350_000, "住宅电梯整梯更新"),
    (Category.PIPE, "", 300_000, "每段管道/每处设施更新改造平均估算"),
    (Category.MEDICAL_DEVICE, "", 500_000, "医疗设备平均估算"),
)


def ensure_planning_reference() -> tuple[int, int]:
    """Insert the seeded targets and costs that are missing (edited rows are left alone); return (targets, costs)."""
    depts = dict(db.session.execute(sa.select(Department.code, Department.id)).all())
    have = set(db.session.scalars(sa.select(PlanTarget.code)))
    added_targets = 0
    for code, dept, cat, title, measure, value, start, end, citation, fed, yearly, note in TARGETS:
        if code in have or dept not in depts:
            continue
        db.session.add(PlanTarget(code=code, department_id=depts[dept], category=cat, title=title, measure=measure,
                                  value=Decimal(value), start_year=start, deadline_year=end, citation=citation,
                                  fed_by_findings=fed, yearly_batches=yearly, note=note))
        added_targets += 1
    costs = set(db.session.execute(sa.select(ReplacementCost.category, ReplacementCost.asset_type)).tuples())
    added_costs = 0
    for cat, kind, cost, note in COSTS:
        if (cat, kind) in costs:
            continue
        db.session.add(ReplacementCost(category=cat, asset_type=kind, unit_cost=cost, note=note))
        added_costs += 1
    db.session.commit()
    return added_targets, added_costs

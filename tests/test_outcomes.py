"""Outcomes against the plan: 2023 baselines (entry, validation, versions, audit), the dashboard's figures from
disposal and replacement records, and the exports (xlsx numbers via openpyxl, PDF text via pypdf)."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from registry.assets.scoping import asset_scope
from registry.audit.models import AuditRecord
from registry.disposals import baselines
from registry.disposals.models import Baseline
from registry.enums import BaselineMeasure, Category
from registry.errors import Conflict, PermissionDenied, ValidationFailed
from registry import clock
from registry.extensions import db
from registry.orgs.services import department_by_code
from registry.planning import exports, outcomes
from registry.planning.charts import outcome_charts
from registry.planning.reference import ensure_planning_reference
from tests.factories import make_user
from tests.outcome_helpers import build_world


# The 2027 cells of an export: blank while 2027 has not begun, a number afterwards.
LATER = None if clock.today().year < 2027 else 0


@pytest.fixture
def world(ctx, tmp_path):
    """The outcome world (tests/outcome_helpers.py) in an application context."""
    return build_world(ctx, tmp_path / "disposals")


def _row(rows, label):
    return next(r for r in rows if r.label == label)


def test_headline_figures_carry_the_baselines_per_year_and_department(world):
    o = outcomes.outcomes()
    inv = o.headline(BaselineMeasure.INVESTMENT)
    car = _row(inv, "机关事务中心 · 公务用车")
    assert car.baseline == Decimal("250000.00") and car.target == Decimal("325000.00")  # +30%
    assert [car.value(y) for y in o.years] == [0, Decimal("200000.00"), Decimal("150000.50"), 0]
    assert car.change(2025) == Decimal("-0.2") and car.reached(2025) is False
    machines = _row(inv, "住建局 · 建筑工程机械")
    assert machines.value(2025) == Decimal("800000.00") and machines.reached(2025) is True
    elevators = _row(inv, "住建局 · 电梯")
    assert elevators.baseline is None and elevators.target is None and elevators.change(2025) is None
    subtotal = _row(inv, "住建局 小计")
    assert subtotal.kind == "subtotal" and subtotal.baseline == Decimal("600000.00") and subtotal.complete is False
    total = inv[-1]
    assert (total.label, total.kind) == ("合计（全市）", "total")
    assert total.baseline == Decimal("850000.00") and total.value(2025) == Decimal("1000000.00")
    assert total.target == Decimal("1105000.00")
    cars = o.headline(BaselineMeasure.SCRAPPED_CARS)
    recycled = _row(cars, "机关事务中心")
    assert [recycled.value(y) for y in o.years] == [0, 1, 1, 0]  # the transfer is not recycled
    assert recycled.target == Decimal("1.90")  # +0.9x


def test_clause_targets_count_disposals_and_new_energy_comes_from_replacements(world):
    o = outcomes.outcomes()
    row = next(r for r in o.clauses if r.category is Category.OFFICIAL_CAR)
    assert row.target == 40 and row.done == {2024: 0, 2025: 2, 2026: 1, 2027: 0}
    share = next(r for r in o.new_energy if r.label == "机关事务中心")
    assert (share.vehicles(2025), share.new_energy(2025), share.share(2025)) == (1, 1, 1)
    assert (share.vehicles(2026), share.new_energy(2026), share.share(2026)) == (1, 0, 0)
    assert share.share(2024) is None and o.new_energy[-1].total() == (2, 1)


def test_one_department_and_the_readers_scope(world):
    zjj = department_by_code("zjj")
    o = outcomes.outcomes(zjj.id)
    inv = o.headline(BaselineMeasure.INVESTMENT)
    assert all(r.department is None or r.department.id == zjj.id for r in inv)
    assert inv[-1].label == "合计（住建局）" and inv[-1].value(2025) == Decimal("800000.00")
    assert "住建局 小计" not in [r.label for r in inv]  # the total already is the department's
    # A 住建局 maintainer's scope hides the cars even when the city is asked for.
    scoped = outcomes.outcomes(None, asset_scope(world["zjj"]))
    assert _row(scoped.headline(BaselineMeasure.INVESTMENT), "机关事务中心 · 公务用车").value(2025) == 0
    assert outcomes.as_dict(o)["headlines"][0]["rows"][-1]["values"] == [0.0, 800000.0, 0.0, 0.0]


def _counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Baseline)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)))


@pytest.mark.parametrize("raw,field,words", [
    ({"value": "-1"}, "value", "不能为负数"),
    ({"value": "20000000000"}, "value", "超过 100 亿元"),
    ({"value": "1e9"}, "value", "不是数字"),
    ({"value": "abc"}, "value", "不是数字"),
    ({"value": ""}, "value", "不能为空"),
    ({"value": "12.345"}, "value", "两位小数"),
    ({"year": 2024}, "year", "只能录入 2023 年"),
    ({"department": "nope"}, "department", "不存在"),
    ({"sector": "farm_machine"}, "sector", "没有「农业机械」"),
    ({"sector": "火箭"}, "sector", "不是设备类别"),
    ({"measure": "gdp"}, "measure", "请选择"),
    ({"note": "长" * 201}, "note", "200 个字符"),
    ({"measure": "scrapped_cars", "sector": "", "value": "1.5"}, "value", "应为整数"),
    ({"measure": "scrapped_cars", "sector": "", "value": "200000"}, "value", "超过 100,000 辆"),
    ({"measure": "scrapped_cars", "department": "nync", "sector": ""}, "sector", "没有"),
])
def test_bad_baselines_are_refused_in_chinese_and_nothing_is_written(ctx, raw, field, words):
    tf = make_user("taskforce", None)
    before = _counts()
    data = {"measure": "investment", "department": "jgsw", "sector": "official_car", "year": "2023",
            "value": "100", **raw}
    with pytest.raises(ValidationFailed) as exc:
        baselines.create_baseline(baselines.parse_baseline(data), tf)
    assert words in exc.value.errors[field][0]
    assert _counts() == before


def test_baselines_are_the_task_forces_audited_and_versioned(ctx):
    tf, other = make_user("taskforce", None), make_user("taskforce", None)
    values = baselines.parse_baseline({"measure": "设备投资额", "department": "jgsw", "sector": "公务用车",
                                       "value": "１２３４５６.7", "note": "市统计局 2023 年统计"})
    with pytest.raises(PermissionDenied):
        baselines.create_baseline(values, make_user("maintainer", "jgsw"))
    row = baselines.create_baseline(values, tf)
    assert (row.value, row.version, row.note) == (Decimal("123456.70"), 1, "市统计局 2023 年统计")
    before = _counts()
    with pytest.raises(Conflict, match="已有 2023 年基数"):
        baselines.create_baseline(values, other)
    assert _counts() == before
    row = baselines.update_baseline(row.id, {"value": "130000"}, other, 1)
    assert (row.value, row.version) == (Decimal("130000.00"), 2)
    with pytest.raises(Conflict, match="已被他人修改"):
        baselines.update_baseline(row.id, {"value": "1"}, tf, 1)  # the version tf read first is stale
    with pytest.raises(ValidationFailed):
        baselines.update_baseline(row.id, {"value": "-5"}, tf, 2)
    db.session.expire_all()
    assert db.session.get(Baseline, row.id).value == Decimal("130000.00")
    record = json.loads(db.session.scalars(sa.select(AuditRecord.details)
                                           .where(AuditRecord.action == "plan.baseline.update")).one())
    assert record["before"]["value"] == "123456.70" and record["after"]["value"] == "130000.00"
    assert baselines.update_baseline(row.id, {"value": "130000.00"}, tf, 2).version == 2  # no change, no version


def test_xlsx_holds_the_figures_as_numbers(world):
    o = outcomes.outcomes()
    wb = openpyxl.load_workbook(io.BytesIO(exports.progress_xlsx(o, world["tf"])))
    assert wb.sheetnames == ["设备投资", "报废汽车回收", "分条款目标", "新能源占比"]
    rows = {r[0]: r for r in wb["设备投资"].iter_rows(min_row=4, values_only=True)}
    car = rows["机关事务中心 · 公务用车"]
    # label, baseline, 2024..2027, change 2024..2027, target, attainment
    assert car[1] == 250000 and car[2:6] == (0, 200000, 150000.5, LATER)
    assert car[7] == pytest.approx(-0.2) and car[10] == 325000
    assert rows["住建局 · 电梯"][1] == "未录入"
    assert rows["合计（全市）"][1] == 850000 and rows["合计（全市）"][10] == 1105000
    recycled = {r[0]: r for r in wb["报废汽车回收"].iter_rows(min_row=4, values_only=True)}["机关事务中心"]
    assert recycled[1] == 1 and recycled[2:6] == (0, 1, 1, LATER) and recycled[10] == pytest.approx(1.9)
    clause = [r for r in wb["分条款目标"].iter_rows(min_row=3, values_only=True)
              if r[1] == "公务用车" and r[4].startswith("已完成")]
    assert clause[0][5:10] == (0, 2, 1, 0, 3)
    share = {r[0]: r for r in wb["新能源占比"].iter_rows(min_row=3, values_only=True)}["机关事务中心"]
    assert share[4:7] == (1, 1, 1) and share[7:10] == (1, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "progress.export")) == 1


def test_pdf_for_the_meeting_has_charts_and_tables(world):
    o = outcomes.outcomes()
    data = exports.progress_pdf(o, outcome_charts(o), world["tf"])
    reader = PdfReader(io.BytesIO(data))
    text = "".join(p.extract_text() for p in reader.pages)
    for words in ("新郑市设备更新工作进度", "设备投资规模较", "报废汽车回收量较", "新能源占比", "分条款目标",
                  "机关事务中心", "32.50", "20.00", "110.50", "1.9"):
        assert words.replace(" ", "") in text.replace(" ", ""), words
    assert len(reader.pages) >= 2


def test_demo_data_has_baselines_and_shows_progress(ctx):
    from registry.demo.inventory import seed_baselines, seed_demo
    ensure_planning_reference()
    seed_demo(600)
    rows = baselines.all_baselines()
    assert {b.measure for b in rows} == {BaselineMeasure.INVESTMENT, BaselineMeasure.SCRAPPED_CARS}
    assert all(b.note == "演示数据" and b.value > 0 for b in rows)
    assert seed_baselines() == 0  # idempotent: entered figures are never overwritten
    o = outcomes.outcomes()
    total = o.headline(BaselineMeasure.INVESTMENT)[-1]
    assert total.complete and total.baseline > 0
    assert sum(total.value(y) for y in (2024, 2025, 2026)) > 3 * total.baseline  # the demo shows growth

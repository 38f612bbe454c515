"""Plan exports: an .xlsx workbook (every placement) and a PDF report (summary and leading rows);
the progress dashboard as a workbook (every figure a number, investment in 元) and a PDF for the 专班 meeting."""
from __future__ import annotations

from registry.audit import services as audit
from registry.cells import openpyxl_row
from registry.enums import BaselineMeasure, Category, ConditionGrade, LifecycleStatus, RuleOutcome
from registry.extensions import db
from registry.pdf import render_pdf
from registry.planning import report
from registry.planning.models import Plan
from registry.planning.outcomes import Outcomes
from registry.planning.progress import SERIES_LABELS
from registry.planning.workflow import events
from registry.sheet_layout import PrintableWorkbook

HEADERS = ("优先序", "计划年度", "设备编号", "设备名称", "类别", "主管部门", "乡镇（街道）", "评估结论", "逾期月数",
           "超过年限（年）", "状况", "依据规则", "估算费用（元）", "人工指定", "说明", "当前状态")
PDF_ROWS = 50  # per section: the PDF is a report (WeasyPrint is slow on long tables); the workbook holds every row
_GRADE = {g.rank: g.label for g in ConditionGrade}


def _label(enum_cls, value):
    return enum_cls(value.value if hasattr(value, "value") else value).label


def _row(r, depts) -> tuple:
    return (r.rank, r.year or "未能列入", r.code, r.name, _label(Category, r.category), depts.get(r.department_id, ""),
            r.township, _label(RuleOutcome, r.outcome), r.overdue_months or 0,
            r.years_beyond if r.years_beyond is not None else "", _GRADE.get(r.condition_rank, ""), r.rule_code,
            r.est_cost if r.est_cost is not None else "", "是" if r.pinned else "", r.explanation,
            _label(LifecycleStatus, r.status))


def plan_xlsx(plan: Plan, scope=None, user=None) -> bytes:
    """Return the plan as a workbook: summary, placements, assets that do not fit, shortfalls vs targets."""
    depts = report.department_names()
    wb = PrintableWorkbook()
    ws = wb.sheet("汇总", header_rows=3)
    ws.append(openpyxl_row(ws, [plan.name]), measure=False)
    ws.append(openpyxl_row(ws, [f"年度：{plan.year_from}—{plan.year_to}", f"状态：{plan.status.label}",
                                f"修订：#{plan.revision}", f"依据评估：{plan.evaluation_as_of or ''}"]))
    table = report.year_table(plan)
    ws.append(openpyxl_row(ws, ["年度"] + [c.label for c in table["categories"]] + ["合计", "估算费用（元）", "预算（元）"]))
    for row in table["rows"]:
        ws.append(openpyxl_row(ws, [row["year"]] + [cell["planned"] for cell in row["cells"]]
                               + [row["total"], row["cost"], row["budget"] or ""]))
    for title, unplaced in (("计划明细", False), ("未能列入", True)):
        sheet = wb.sheet(title)
        sheet.append(openpyxl_row(sheet, HEADERS))
        for r in report.placements(plan.id, unplaced=unplaced, scope=scope):
            sheet.append(openpyxl_row(sheet, _row(r, depts)))  # asset names are user text: never formulas
    gaps = wb.sheet("目标缺口")
    gaps.append(openpyxl_row(gaps, ("目标", "依据", "期限", "目标数", "已完成", "期限内计划", "缺口", "说明")))
    for s in (plan.summary or {}).get("shortfalls", []):
        gaps.append(openpyxl_row(gaps, (s["title"], s["citation"], s["deadline_year"], s["target"], s.get("done"),
                                        s.get("planned"), s.get("shortfall"), s.get("note") or "")))
    data = wb.to_bytes()
    audit.record("plan.export", object_type="plan", object_id=plan.id, user=user, details={"format": "xlsx"})
    db.session.commit()
    return data


def plan_pdf(plan: Plan, scope=None, user=None) -> bytes:
    """Return the plan report as PDF via the shared PDF module."""
    depts = report.department_names()
    context = {
        "plan": plan, "summary": plan.summary or {}, "table": report.year_table(plan), "depts": depts,
        "years": [(y, report.placements(plan.id, year=y, scope=scope, limit=PDF_ROWS),
                   report.count_placements(plan.id, year=y, scope=scope)) for y in plan.years],
        "unplaced": report.placements(plan.id, unplaced=True, scope=scope, limit=PDF_ROWS),
        "unplaced_count": report.count_placements(plan.id, unplaced=True, scope=scope),
        "events": events(plan.id), "limit": PDF_ROWS, "Category": Category, "RuleOutcome": RuleOutcome,
    }
    data = render_pdf("pdf/plan_report.html", context, stylesheet="plan.css")
    audit.record("plan.export", object_type="plan", object_id=plan.id, user=user, details={"format": "pdf"})
    db.session.commit()
    return data


def _ratio(value):
    """Return a fraction rounded for a percent cell, or "" when there is none."""
    return "" if value is None else round(float(value), 4)


def _scope_text(o: Outcomes) -> str:
    return f"范围：{o.department.name if o.department else '全市'}　统计截至：{o.as_of.isoformat()}"


def progress_xlsx(o: Outcomes, user=None) -> bytes:
    """Return the dashboard as a workbook: headline targets, clause targets, new-energy share; audited."""
    wb = PrintableWorkbook()
    for headline, rows in o.headlines:
        name = "设备投资" if headline.measure is BaselineMeasure.INVESTMENT else "报废汽车回收"
        ws = wb.sheet(name, header_rows=3)
        ws.append(openpyxl_row(ws, [f"{headline.title}（{headline.citation}）"]), measure=False)
        ws.append(openpyxl_row(ws, [_scope_text(o), f"单位：{headline.unit}；增幅为较 2023 年的变化（小数，0.3 = 30%）"]),
                  measure=False)
        ws.append(openpyxl_row(ws, ["部门 · 领域", "2023 年基数"] + [f"{y} 年" for y in o.years]
                               + [f"{y} 年较 2023" for y in o.years]
                               + [f"{headline.deadline_year} 年目标（≥）", f"{o.current_year} 年达目标比例"]))
        for r in rows:
            ws.append(openpyxl_row(ws, [r.label, r.baseline if r.baseline is not None else "未录入"]
                                   + ["" if o.future(y) else r.value(y) for y in o.years]
                                   + ["" if o.future(y) else _ratio(r.change(y)) for y in o.years]
                                   + [r.target if r.target is not None else "",
                                      _ratio(r.attainment(o.current_year))]))
    ws = wb.sheet("分条款目标", header_rows=2)
    ws.append(openpyxl_row(ws, [_scope_text(o) + "；已完成 = 有处置记录（按处置日期）"]), measure=False)
    ws.append(openpyxl_row(ws, ["部门", "类别", "目标", "依据", "序列"] + [f"{y} 年" for y in o.years] + ["合计"]))
    for r in o.clauses:
        citation = "；".join(t.citation for t in r.targets)
        for key, label in (("planned", "已列入计划"), ("notified", "已下达通知"), ("done", "已完成（有处置记录）")):
            ws.append(openpyxl_row(ws, [r.department.name, r.category.label, r.target if r.target is not None else "",
                                        citation, label] + [getattr(r, key).get(y, 0) for y in o.years]
                                   + [r.total(key)]))
    ws = wb.sheet("新能源占比", header_rows=2)
    ws.append(openpyxl_row(ws, [_scope_text(o) + "；公务用车更新记录中的新能源车辆"]), measure=False)
    ws.append(openpyxl_row(ws, ["部门"] + [f"{y} 年{k}" for y in o.years for k in ("更新车辆", "新能源", "占比")]
                           + ["合计更新车辆", "合计新能源", "合计占比"]))
    for r in o.new_energy:
        n, ne = r.total()
        ws.append(openpyxl_row(ws, [r.label] + [v for y in o.years
                                                for v in (r.vehicles(y), r.new_energy(y), _ratio(r.share(y)))]
                               + [n, ne, _ratio(ne / n if n else None)]))
    data = wb.to_bytes()
    audit.record("progress.export", object_type="progress", object_id=o.department.code if o.department else "city",
                 user=user, details={"format": "xlsx"})
    db.session.commit()
    return data


def progress_pdf(o: Outcomes, charts: dict, user=None) -> bytes:
    """Return the dashboard as a PDF report for the task force meeting via the shared PDF module; audited."""
    data = render_pdf("pdf/progress_report.html", {"o": o, "charts": charts, "series": SERIES_LABELS,
                                                       "clauses": list(zip(o.clauses, charts["clauses"]))},
                      stylesheet="plan.css")
    audit.record("progress.export", object_type="progress", object_id=o.department.code if o.department else "city",
                 user=user, details={"format": "pdf"})
    db.session.commit()
    return data

"""Plan exports: an .xlsx workbook (every placement) and a PDF report (summary and leading rows)."""
from __future__ import annotations

import io

from registry.audit import services as audit
from registry.enums import Category, ConditionGrade, LifecycleStatus, RuleOutcome
from registry.extensions import db
from registry.planning import report
from registry.planning.models import Plan

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
    from openpyxl import Workbook
    depts = report.department_names()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("汇总")
    ws.append([plan.name])
    ws.append([f"年度：{plan.year_from}—{plan.year_to}", f"状态：{plan.status.label}", f"修订：#{plan.revision}",
               f"依据评估：{plan.evaluation_as_of or ''}"])
    table = report.year_table(plan)
    ws.append(["年度"] + [c.label for c in table["categories"]] + ["合计", "估算费用（元）", "预算（元）"])
    for row in table["rows"]:
        ws.append([row["year"]] + [cell["planned"] for cell in row["cells"]] + [row["total"], row["cost"],
                                                                                 row["budget"] or ""])
    for title, unplaced in (("计划明细", False), ("未能列入", True)):
        sheet = wb.create_sheet(title)
        sheet.append(HEADERS)
        for r in report.placements(plan.id, unplaced=unplaced, scope=scope):
            sheet.append(_row(r, depts))
    gaps = wb.create_sheet("目标缺口")
    gaps.append(("目标", "依据", "期限", "目标数", "已完成", "期限内计划", "缺口", "说明"))
    for s in (plan.summary or {}).get("shortfalls", []):
        gaps.append((s["title"], s["citation"], s["deadline_year"], s["target"], s.get("done"), s.get("planned"),
                     s.get("shortfall"), s.get("note") or ""))
    buf = io.BytesIO()
    wb.save(buf)
    audit.record("plan.export", object_type="plan", object_id=plan.id, user=user, details={"format": "xlsx"})
    db.session.commit()
    return buf.getvalue()


def plan_pdf(plan: Plan, scope=None, user=None) -> bytes:
    """Return the plan report as PDF via the shared PDF module."""
    from registry.pdf import render_pdf
    from registry.planning.workflow import events
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

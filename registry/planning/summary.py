"""Figures stored with a built plan: per-year counts and costs, overruns, unplaced assets, shortfalls vs targets."""
from __future__ import annotations

import math
from collections import Counter

import sqlalchemy as sa

from registry.extensions import db
from registry.planning.builder import Candidate, Result
from registry.planning.models import Plan, PlanTarget
from registry.planning.progress import done_by_year
from registry.planning.targets import target_count


def summarize(plan: Plan, candidates: list[Candidate], result: Result) -> dict:
    """Return the JSON summary of a build (what the plan page, exports and API show)."""
    by_year: dict[str, dict[str, int]] = {str(y): {} for y in plan.years}
    for (cat, year), n in result.counts.items():
        by_year.setdefault(str(year), {})[cat] = n
    unplaced = Counter(c.category.value for c, _why in result.unplaced)
    unplaced_mandatory = Counter(c.category.value for c, _why in result.unplaced if c.mandatory)
    placed = len(result.rows) - len(result.unplaced)
    return {
        "placed": placed,
        "unplaced": len(result.unplaced),
        "unplaced_mandatory": sum(unplaced_mandatory.values()),
        "by_year": by_year,
        "cost_by_year": {str(y): result.spent.get(y, 0) for y in plan.years},
        "unplaced_by_category": {cat: {"total": n, "mandatory": unplaced_mandatory.get(cat, 0)}
                                 for cat, n in sorted(unplaced.items())},
        "over_quota": result.over_quota,
        "over_budget": result.over_budget,
        "stale_pins": result.stale_pins,
        "shortfalls": shortfalls(plan, candidates, result),
    }


def shortfalls(plan: Plan, candidates: list[Candidate], result: Result) -> list[dict]:
    """Compare, per target in the plan's scope, done + planned-by-deadline with the target."""
    query = sa.select(PlanTarget).order_by(PlanTarget.code)
    if plan.department_id is not None:
        query = query.where(PlanTarget.department_id == plan.department_id)
    flagged = Counter((c.department_id, c.category.value) for c in candidates)
    planned: Counter = Counter()
    for c, year, *_rest in result.rows:
        if year is not None:
            planned[(c.department_id, c.category.value, year)] += 1
    done = done_by_year()
    out = []
    for t in db.session.scalars(query):
        key = (t.department_id, t.category.value)
        row = {"code": t.code, "title": t.title, "category": t.category.value, "department_id": t.department_id,
               "deadline_year": t.deadline_year, "citation": t.citation, "fed_by_findings": t.fed_by_findings}
        if not t.fed_by_findings:
            row.update(target=int(t.value), planned=None, done=None, shortfall=None,
                       note="加装类目标，不由更新发现填充，本计划不计算缺口")
            out.append(row)
            continue
        by_deadline = sum(n for (d, cat, y), n in planned.items() if (d, cat) == key and y <= t.deadline_year)
        done_n = sum(n for (d, cat, y), n in done.items() if (d, cat) == key and t.start_year <= y <= t.deadline_year)
        goal = target_count(t, flagged.get(key, 0), done_n)
        note = None
        if t.deadline_year < plan.year_from:
            note = f"目标期限 {t.deadline_year} 年早于计划起始年度，计划内的安排均已逾期"
        elif t.yearly_batches:
            left = [y for y in plan.years if y <= t.deadline_year]
            remaining = max(goal - done_n, 0)
            if left:
                note = f"按年度分批：{left[0]}—{left[-1]} 年每年约 {math.ceil(remaining / len(left))} 台"
        row.update(target=goal, planned=by_deadline, done=done_n, shortfall=max(goal - by_deadline - done_n, 0),
                   note=note)
        out.append(row)
    return out

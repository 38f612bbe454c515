"""The pure plan builder: order flagged assets by priority and fill yearly quotas and budgets.

No database here: it works on `Candidate` tuples, so it is easy to test and fast on
100,000 assets (one sort over key tuples, one pass with at most a few years per asset).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from registry.enums import Category, ConditionGrade, RuleOutcome

_GRADE_LABEL = {g.rank: g.label for g in ConditionGrade}
# Plain per-member numbers, read as instance attributes: enum properties and enum hashing are slow on 100k rows.
for _o in RuleOutcome:
    _o._plan_mandatory, _o._plan_severity = _o.is_mandatory, -_o.severity


class Candidate(NamedTuple):
    """One flagged asset as the planner sees it (its most severe finding)."""

    asset_id: int
    asset_code: str
    category: Category
    department_id: int
    township: str
    outcome: RuleOutcome
    overdue_months: int          # 0 when not overdue
    years_beyond: float | None   # age beyond the rule's threshold, when the finding states one
    condition_rank: int | None   # ConditionGrade.rank, 1=好 … 5=差
    rule_code: str
    explanation: str             # the finding's text when the caller has it (not needed to plan)
    est_cost: int | None         # estimated replacement cost, 元

    @property
    def mandatory(self) -> bool:
        """Tell whether the outcome is mandatory (强制更新、淘汰、报废)."""
        return self.outcome.is_mandatory


def priority_key(c: Candidate) -> tuple:
    """Return the sort key: mandatory+overdue first, then severity, overdue months, age beyond threshold, condition."""
    o = c.outcome
    return (0 if (o._plan_mandatory and c.overdue_months > 0) else 1,
            o._plan_severity, -c.overdue_months, -(c.years_beyond or 0.0), -(c.condition_rank or 0), c.asset_id)


def reason_text(c: Candidate) -> str:
    """Describe why an asset is planned: outcome, overdue months, age beyond threshold, condition."""
    parts = [c.outcome.label]
    if c.overdue_months > 0:
        parts.append(f"已逾期 {c.overdue_months} 个月")
    elif c.years_beyond is not None and c.years_beyond > 0:
        parts.append(f"超过年限 {c.years_beyond:.1f} 年")
    if c.condition_rank is not None and c.condition_rank >= 4:
        parts.append(f"状况{_GRADE_LABEL[c.condition_rank]}")
    return "，".join(parts)


@dataclass
class Settings:
    """What the builder is asked: years, quotas per (category, year), budgets per year (元), pins."""

    years: list[int]
    quotas: dict[tuple[str, int], int] = field(default_factory=dict)  # missing = no limit
    budgets: dict[int, int] = field(default_factory=dict)             # missing = no limit
    pins: dict[int, int] = field(default_factory=dict)                # asset_id -> year


@dataclass
class Result:
    """Placements in priority order, plus per-year use and where quotas or budgets were exceeded."""

    rows: list[tuple[Candidate, int | None, int, bool, str]]  # candidate, year, rank, pinned, explanation
    counts: dict[tuple[str, int], int]
    spent: dict[int, int]
    over_quota: list[dict]
    over_budget: list[dict]
    unplaced: list[tuple[Candidate, str]]
    stale_pins: list[int]  # pinned assets that no longer have a finding


def _pinned_text(c: Candidate, year: int) -> str:
    return f"列入{year}年（人工指定）：{reason_text(c)}"


def build(candidates: list[Candidate], settings: Settings) -> Result:
    """Place candidates: pins first (always honoured), then by priority into the earliest year with room."""
    years = settings.years
    quotas, budgets, pins = settings.quotas, settings.budgets, settings.pins
    counts: dict[tuple[str, int], int] = defaultdict(int)
    spent: dict[int, int] = defaultdict(int)
    keyed = sorted(candidates, key=priority_key)
    rows: list = []
    unplaced: list = []
    seen: set[int] = set()
    # Pins are honoured even past a quota or budget: the overrun is reported, not refused.
    for c in keyed:
        year = pins.get(c.asset_id)
        if year is not None:
            counts[(c.category._value_, year)] += 1
            spent[year] += c.est_cost or 0
            seen.add(c.asset_id)
    stale = sorted(set(pins) - seen)
    # First year of each category that may still have quota room: quotas only ever fill up.
    start: dict[str, int] = defaultdict(int)
    for rank, c in enumerate(keyed, 1):
        pinned_year = pins.get(c.asset_id)
        if pinned_year is not None:
            rows.append((c, pinned_year, rank, True, _pinned_text(c, pinned_year)))
            continue
        cat = c.category._value_
        cost = c.est_cost or 0
        full: list[int] = []
        placed = None
        for i in range(start[cat], len(years)):
            y = years[i]
            quota = quotas.get((cat, y))
            if quota is not None and counts[(cat, y)] >= quota:
                if i == start[cat]:
                    start[cat] = i + 1
                full.append(y)
                continue
            budget = budgets.get(y)
            if budget is not None and spent[y] + cost > budget:
                full.append(y)
                continue
            placed = y
            break
        if placed is None:
            why = f"未能列入：{reason_text(c)}（{_years_text(years)}配额或预算均已用完）"
            rows.append((c, None, rank, False, why))
            unplaced.append((c, why))
            continue
        counts[(cat, placed)] += 1
        spent[placed] += cost
        text = f"列入{placed}年：{reason_text(c)}"
        if full:
            text += f"（{_years_text(full)}配额或预算已满）"
        rows.append((c, placed, rank, False, text))
    return Result(rows=rows, counts=dict(counts), spent=dict(spent),
                  over_quota=_over_quota(counts, quotas), over_budget=_over_budget(spent, budgets),
                  unplaced=unplaced, stale_pins=stale)


def _years_text(years: list[int]) -> str:
    return "、".join(f"{y}年" for y in years)


def _over_quota(counts, quotas) -> list[dict]:
    return [{"category": cat, "year": y, "quota": q, "planned": counts.get((cat, y), 0)}
            for (cat, y), q in sorted(quotas.items()) if counts.get((cat, y), 0) > q]


def _over_budget(spent, budgets) -> list[dict]:
    return [{"year": y, "budget": b, "planned_cost": spent.get(y, 0)}
            for y, b in sorted(budgets.items()) if spent.get(y, 0) > b]

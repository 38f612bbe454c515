"""The plan's outcomes per year and department: investment against +30%, scrapped cars recycled against +0.9x,
the clause targets from disposal records, and the new-energy share of replacement vehicles.

The headline targets are the plan's own words (新政〔2024〕3号 一(二)): they carry the 2023 baselines the
task force enters (disposals.baselines), so each target is baseline × (1 + growth), for the deadline
year 2027. The plan names only 2027; earlier years show their change against 2023 beside the same
target, so the task force sees how far each department still is from it. Figures come from
disposals.queries, the one definition of what was invested, recycled and replaced.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from registry import clock
from registry.disposals.baselines import baseline_values, sector_label, sectors_of
from registry.disposals.queries import (
    VEHICLE_CATEGORIES, investment_by_year, recycled_cars_by_year, vehicle_replacements_by_year,
)
from registry.enums import BaselineMeasure
from registry.orgs.models import Department
from registry.orgs.services import all_departments
from registry.planning import progress
from registry.planning.progress import YEARS, ProgressRow


@dataclass(frozen=True)
class Headline:
    """One of the plan's headline targets: a growth over the 2023 figure by the deadline year."""

    measure: BaselineMeasure
    title: str
    growth: Decimal
    growth_text: str
    deadline_year: int
    citation: str
    unit: str


HEADLINES = (
    Headline(BaselineMeasure.INVESTMENT, "设备投资规模较 2023 年增长 30% 以上", Decimal("0.30"), "+30%", 2027,
             "新政〔2024〕3号 一(二)", "元"),
    Headline(BaselineMeasure.SCRAPPED_CARS, "报废汽车回收量较 2023 年增加 0.9 倍", Decimal("0.9"), "+0.9 倍", 2027,
             "新政〔2024〕3号 一(二)、二(七)17", "辆"),
)


@dataclass
class MeasureRow:
    """One line of a headline table: a department and sector, a department's subtotal, or the total."""

    label: str
    sector: str
    baseline: Decimal | None
    growth: Decimal
    values: dict[int, Decimal] = field(default_factory=dict)
    kind: str = "line"  # "line", "subtotal" or "total"
    department: Department | None = None
    complete: bool = True  # False when a line below a (sub)total has no baseline yet

    @property
    def target(self) -> Decimal | None:
        """Return the deadline-year figure the plan asks for: baseline × (1 + growth)."""
        return None if self.baseline is None else (self.baseline * (1 + self.growth)).quantize(Decimal("0.01"))

    def value(self, year: int) -> Decimal:
        """Return the figure of `year` (0 without records)."""
        return self.values.get(year, Decimal(0))

    def change(self, year: int) -> Decimal | None:
        """Return `year`'s change against 2023 as a fraction (0.3 = +30%), None without a positive baseline."""
        if not self.baseline:
            return None
        return self.value(year) / self.baseline - 1

    def reached(self, year: int) -> bool | None:
        """Tell whether `year`'s figure reaches the target (None without a baseline)."""
        return None if self.target is None else self.value(year) >= self.target

    def attainment(self, year: int) -> Decimal | None:
        """Return `year`'s figure as a fraction of the target (None without a positive target)."""
        return self.value(year) / self.target if self.target else None


@dataclass
class ShareRow:
    """New-energy share of replacement vehicles for a department, or the total: {year: (vehicles, new-energy)}."""

    label: str
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    kind: str = "line"
    department: Department | None = None

    def vehicles(self, year: int) -> int:
        """Return the replacement vehicles of `year`."""
        return self.counts.get(year, (0, 0))[0]

    def new_energy(self, year: int) -> int:
        """Return the new-energy replacement vehicles of `year`."""
        return self.counts.get(year, (0, 0))[1]

    def share(self, year: int) -> Decimal | None:
        """Return the new-energy share of `year` as a fraction (None without vehicles)."""
        n = self.vehicles(year)
        return Decimal(self.new_energy(year)) / n if n else None

    def total(self) -> tuple[int, int]:
        """Return (vehicles, new-energy) over all the years."""
        return (sum(n for n, _ne in self.counts.values()), sum(ne for _n, ne in self.counts.values()))


@dataclass
class Outcomes:
    """Everything the dashboard, its workbook and its PDF show, for the city or one department."""

    years: list[int]
    department: Department | None
    headlines: list[tuple[Headline, list[MeasureRow]]]
    clauses: list[ProgressRow]
    new_energy: list[ShareRow]
    as_of: date
    current_year: int

    def future(self, year: int) -> bool:
        """Tell whether `year` has not begun yet (its figures are not zero but unknown)."""
        return year > self.as_of.year

    def headline(self, measure: BaselineMeasure) -> list[MeasureRow]:
        """Return the rows of one headline table."""
        return next(rows for h, rows in self.headlines if h.measure is measure)


def _sum_rows(label: str, rows: list[MeasureRow], growth: Decimal, kind: str, department=None) -> MeasureRow:
    baselines = [r.baseline for r in rows if r.baseline is not None]
    values: dict[int, Decimal] = {}
    for r in rows:
        for y, v in r.values.items():
            values[y] = values.get(y, Decimal(0)) + v
    return MeasureRow(label, "", sum(baselines, Decimal(0)) if baselines else None, growth, values, kind, department,
                      complete=all(r.baseline is not None and r.complete for r in rows))


def headline_rows(headline: Headline, departments: list[Department], scope=None) -> list[MeasureRow]:
    """Return the lines of one headline table (department × sector), subtotals, and the total last."""
    baselines = baseline_values()
    measure = headline.measure.value
    if headline.measure is BaselineMeasure.INVESTMENT:
        actual = {(d, s, y): v for (d, s, y), v in investment_by_year(scope).items()}
    else:
        actual = {(d, "", y): Decimal(n) for (d, y), n in recycled_cars_by_year(scope).items()}
    out: list[MeasureRow] = []
    lines: list[MeasureRow] = []
    for dept in departments:
        offered = sectors_of(dept, headline.measure)
        found = {s for (d, s, _y) in actual if d == dept.id} | {s for (m, d, s) in baselines
                                                                 if m == measure and d == dept.id}
        own = []
        for sector in offered + sorted(found - set(offered)):
            label = dept.name if headline.measure is BaselineMeasure.SCRAPPED_CARS else \
                f"{dept.name} · {sector_label(sector)}"
            own.append(MeasureRow(label, sector, baselines.get((measure, dept.id, sector)), headline.growth,
                                  {y: v for (d, s, y), v in actual.items() if d == dept.id and s == sector},
                                  department=dept))
        out.extend(own)
        lines.extend(own)
        if len(own) > 1 and len(departments) > 1:
            out.append(_sum_rows(f"{dept.name} 小计", own, headline.growth, "subtotal", dept))
    total_label = "合计（全市）" if len(departments) > 1 else f"合计（{departments[0].name}）" if departments else "合计"
    out.append(_sum_rows(total_label, lines, headline.growth, "total"))
    return out


def new_energy_rows(departments: list[Department], scope=None) -> list[ShareRow]:
    """Return the new-energy share of replacement vehicles per department that has vehicles, and the total."""
    counts = vehicle_replacements_by_year(scope)
    vehicles = {c.value for c in VEHICLE_CATEGORIES}
    rows = []
    for dept in departments:
        own = {y: v for (d, y), v in counts.items() if d == dept.id}
        if own or dept.category_values & vehicles:
            rows.append(ShareRow(dept.name, own, department=dept))
    total: dict[int, tuple[int, int]] = {}
    for r in rows:
        for y, (n, ne) in r.counts.items():
            t = total.get(y, (0, 0))
            total[y] = (t[0] + n, t[1] + ne)
    rows.append(ShareRow("合计（全市）" if len(departments) > 1 else "合计", total, kind="total"))
    return rows


def outcomes(department_id: int | None = None, scope=None) -> Outcomes:
    """Return the dashboard's figures for the city (None) or one department, within the reader's asset scope."""
    departments = [d for d in all_departments() if department_id is None or d.id == department_id]
    today = clock.today()
    return Outcomes(
        years=list(YEARS), department=departments[0] if department_id is not None and departments else None,
        headlines=[(h, headline_rows(h, departments, scope)) for h in HEADLINES],
        clauses=progress.dashboard(department_id, scope),
        new_energy=new_energy_rows(departments, scope),
        as_of=today, current_year=min(max(today.year, YEARS[0]), YEARS[-1]),
    )



def _number(value):
    return None if value is None else float(value)


def as_dict(o: Outcomes) -> dict:
    """Return the dashboard's figures as JSON-ready data (the API's answer); lists follow `years`."""
    return {
        "as_of": o.as_of.isoformat(), "department": o.department.code if o.department else None, "years": o.years,
        "headlines": [{
            "measure": h.measure.value, "title": h.title, "citation": h.citation, "growth": float(h.growth),
            "deadline_year": h.deadline_year, "unit": h.unit,
            "rows": [{"label": r.label, "department": r.department.code if r.department else None, "sector": r.sector,
                      "kind": r.kind, "baseline": _number(r.baseline), "complete": r.complete,
                      "values": [float(r.value(y)) for y in o.years],
                      "change": [_number(r.change(y)) for y in o.years], "target": _number(r.target)}
                     for r in rows]} for h, rows in o.headlines],
        "new_energy": [{"label": r.label, "department": r.department.code if r.department else None, "kind": r.kind,
                        "vehicles": [r.vehicles(y) for y in o.years], "new_energy": [r.new_energy(y) for y in o.years]}
                       for r in o.new_energy],
        "clauses": [{"department": r.department.code, "category": r.category.value, "target": r.target,
                     "planned": [r.planned.get(y, 0) for y in o.years], "notified": [r.notified.get(y, 0) for y in o.years],
                     "done": [r.done.get(y, 0) for y in o.years]} for r in o.clauses],
    }

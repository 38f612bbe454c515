"""Progress toward the targets per department, category and year: target, planned, notified, done.

"Planned" counts assets placed in locked plans; "notified" comes from asset status (已下达通知),
dated by the asset's last status change in its history; "done" counts disposal records, dated by
the disposal date (disposals.queries.disposed_by_year): an asset set to 已更新 or 已报废 without a
disposal record is not done.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from registry.assets.models import Asset, AssetChange
from registry.disposals.queries import disposed_assets, disposed_by_year
from registry.enums import Category, LifecycleStatus, PlanStatus
from registry.extensions import db
from registry.orgs.models import Department
from registry.planning import candidates
from registry.planning.inputs import PLAN_PERIOD
from registry.planning.models import Plan, PlanPlacement, PlanTarget
from registry.planning.targets import target_count

NOTIFIED = (LifecycleStatus.NOTIFIED,)
SERIES_LABELS = {"planned": "已列入计划", "notified": "已下达通知", "done": "已完成（有处置记录）"}
YEARS = list(range(PLAN_PERIOD[0], PLAN_PERIOD[1] + 1))


def _status_dates(statuses):
    """Select (asset, department, category, status, when) for live assets in `statuses`, dated by last change."""
    words = [s.value for s in statuses] + [s.label for s in statuses]
    last = (sa.select(AssetChange.asset_id, sa.func.max(AssetChange.changed_at).label("at"))
            .where(AssetChange.field == "status", AssetChange.after.in_(words))
            .group_by(AssetChange.asset_id).subquery())
    when = sa.func.coalesce(last.c.at, Asset.updated_at)
    return (sa.select(Asset.id, Asset.code, Asset.name, Asset.department_id, Asset.category, Asset.status,
                      when.label("at"))
            .outerjoin(last, last.c.asset_id == Asset.id)
            .where(Asset.status.in_(statuses), Asset.deleted_at.is_(None)))


def _by_year(statuses, scope=None) -> Counter:
    stmt = _status_dates(statuses)
    if scope is not None:
        stmt = stmt.where(scope)
    sub = stmt.subquery()
    year = sa.extract("year", sub.c.at)
    rows = db.session.execute(sa.select(sub.c.department_id, sub.c.category, year, sa.func.count())
                              .group_by(sub.c.department_id, sub.c.category, year)).all()
    return Counter({(d, Category(c), int(y)): n for d, c, y, n in rows if y is not None})


def done_by_year(scope=None) -> Counter:
    """Return {(department_id, category, year): assets with a disposal record dated that year}."""
    return disposed_by_year(scope)


def notified_by_year(scope=None) -> Counter:
    """Return {(department_id, category, year): assets notified that year} (status 已下达通知)."""
    return Counter({(d, c.value, y): n for (d, c, y), n in _by_year(NOTIFIED, scope).items()})


def planned_by_year(scope=None) -> Counter:
    """Return {(department_id, category, year): assets placed in locked plans}, each asset once (earliest year)."""
    first = (sa.select(PlanPlacement.asset_id, PlanPlacement.department_id, PlanPlacement.category,
                       sa.func.min(PlanPlacement.year).label("year"))
             .join(Plan, Plan.id == PlanPlacement.plan_id)
             .where(Plan.status == PlanStatus.LOCKED, PlanPlacement.year.is_not(None))
             .group_by(PlanPlacement.asset_id, PlanPlacement.department_id, PlanPlacement.category))
    if scope is not None:
        first = first.join(Asset, Asset.id == PlanPlacement.asset_id).where(scope)
    sub = first.subquery()
    rows = db.session.execute(sa.select(sub.c.department_id, sub.c.category, sub.c.year, sa.func.count())
                              .group_by(sub.c.department_id, sub.c.category, sub.c.year)).all()
    return Counter({(d, Category(c).value, y): n for d, c, y, n in rows})


@dataclass
class ProgressRow:
    """One department x category line of the dashboard, with per-year and cumulative figures."""

    department: Department
    category: Category
    targets: list[PlanTarget]
    target: int | None
    target_note: str | None
    years: list[int]
    planned: dict[int, int] = field(default_factory=dict)
    notified: dict[int, int] = field(default_factory=dict)
    done: dict[int, int] = field(default_factory=dict)

    def cumulative(self, series: str) -> list[int]:
        """Return the running total of `series` (planned/notified/done) over the years."""
        total, out = 0, []
        for y in self.years:
            total += getattr(self, series).get(y, 0)
            out.append(total)
        return out

    def total(self, series: str) -> int:
        """Return the total of `series` over the years."""
        return sum(getattr(self, series).get(y, 0) for y in self.years)


def flagged_counts() -> Counter:
    """Return {(department_id, category): flagged, not-done assets} of the latest evaluation (empty without one)."""
    evaluation = candidates.latest_evaluation()
    if evaluation is None:
        return Counter()
    sub = candidates.finding_rows(evaluation[0]).subquery()
    rows = db.session.execute(sa.select(sub.c.department_id, sub.c.category, sa.func.count(sa.distinct(sub.c.asset_id)))
                              .group_by(sub.c.department_id, sub.c.category)).all()
    return Counter({(d, Category(c).value): n for d, c, n in rows})


def dashboard(user_department_id: int | None = None, scope=None) -> list[ProgressRow]:
    """Return one row per department x category that has a target or activity (limited to one department if given)."""
    planned, notified, done = planned_by_year(scope), notified_by_year(scope), done_by_year(scope)
    flagged = flagged_counts()
    targets = list(db.session.scalars(sa.select(PlanTarget).order_by(PlanTarget.code)))
    depts = db.session.scalars(sa.select(Department).order_by(Department.id)).all()
    rows = []
    for dept in depts:
        if user_department_id is not None and dept.id != user_department_id:
            continue
        for cat in Category:
            own = [t for t in targets if t.department_id == dept.id and t.category is cat]
            series = [{y: s.get((dept.id, cat.value, y), 0) for y in YEARS} for s in (planned, notified, done)]
            if not own and not any(sum(s.values()) for s in series):
                continue
            done_since = {t.code: sum(n for y, n in series[2].items() if t.start_year <= y <= t.deadline_year)
                          for t in own}
            target, note = _target_figure(own, flagged.get((dept.id, cat.value), 0), done_since)
            rows.append(ProgressRow(dept, cat, own, target, note, YEARS, *series))
    return rows


def expected_by(row: ProgressRow, year: int) -> int | None:
    """Return how many of `row`'s target should be done by the end of `year`, spread evenly over its years."""
    if row.target is None or not row.targets:
        return None
    start = min(t.start_year for t in row.targets)
    deadline = max(t.deadline_year for t in row.targets)
    if year < start:
        return 0
    share = min(1, (year - start + 1) / (deadline - start + 1))
    return math.ceil(row.target * share)


def behind_schedule(rows: list[ProgressRow], year: int) -> list[tuple[ProgressRow, int, int]]:
    """Return (row, expected, done) for the dashboard rows whose done count trails `expected_by` this year."""
    out = []
    for row in rows:
        expected = expected_by(row, year)
        if expected is None:
            continue
        start = min(t.start_year for t in row.targets)
        done = sum(n for y, n in row.done.items() if start <= y <= year)
        if done < expected:
            out.append((row, expected, done))
    return out


def _target_figure(targets: list[PlanTarget], flagged: int, done: dict) -> tuple[int | None, str | None]:
    # A target that disposals cannot feed (XZ-T7: elevators ADDED to existing homes) has no figure to
    # hold the row's disposals against: the row shows its note, never "done n of 20".
    unfed = "；".join(t.note for t in targets if not t.fed_by_findings and t.note) or None
    targets = [t for t in targets if t.fed_by_findings]
    if not targets:
        return None, unfed
    counts = [t for t in targets if t.measure.value == "count"]
    if counts:
        return int(sum(t.value for t in counts)), "；".join(t.note for t in counts if t.note) or None
    if targets:
        t = targets[0]
        return (target_count(t, flagged, done.get(t.code, 0)),
                f"{float(t.value):g}% × （最新评估中被标记且未完成的 {flagged} 项 + 已完成 {done.get(t.code, 0)} 项），"
                f"期限 {t.deadline_year} 年")
    return None, None


def evidence(series: str, department_id: int, category: Category, year: int | None = None, scope=None,
             limit: int = 500) -> list[dict]:
    """Return the assets behind one figure of the dashboard (code, name, status, date, plan)."""
    if series == "planned":
        stmt = (sa.select(Asset.id, Asset.code, Asset.name, Asset.status, PlanPlacement.year, Plan.id.label("plan_id"),
                          Plan.name.label("plan_name"), PlanPlacement.explanation)
                .join(PlanPlacement, PlanPlacement.asset_id == Asset.id).join(Plan, Plan.id == PlanPlacement.plan_id)
                .where(Plan.status == PlanStatus.LOCKED, PlanPlacement.year.is_not(None)))
        if year is not None:
            stmt = stmt.where(PlanPlacement.year == year)
    elif series == "done":
        return disposed_assets(department_id, category, year, scope, limit)
    else:
        sub = _status_dates(NOTIFIED).subquery()
        stmt = sa.select(sub.c.id, sub.c.code, sub.c.name, sub.c.status, sub.c.at).select_from(sub)
        if year is not None:
            stmt = stmt.where(sa.extract("year", sub.c.at) == year)
        stmt = stmt.where(sub.c.department_id == department_id, sub.c.category == category)
        stmt = stmt.join(Asset, Asset.id == sub.c.id)
        if scope is not None:
            stmt = stmt.where(scope)
        return [dict(r._mapping) for r in db.session.execute(stmt.order_by(sub.c.code).limit(limit))]
    stmt = stmt.where(Asset.department_id == department_id, Asset.category == category)
    if scope is not None:
        stmt = stmt.where(scope)
    return [dict(r._mapping) for r in db.session.execute(stmt.order_by(Asset.code).limit(limit))]

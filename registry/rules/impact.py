"""Impact preview: what an edit to a rule would flag or clear, before it is saved."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.extensions import db
from registry.orgs.models import Department
from registry.rules.engine import CompiledRule, in_force
from registry.rules.models import Rule
from registry.rules.results import HIT
from registry.rules.versions import EDITABLE, current_rule, proposed

EXAMPLES = 5


@dataclass
class ImpactGroup:
    """Changes for one department and category."""

    department: str
    category: str
    flagged: int = 0
    cleared: int = 0
    examples: list[dict] = field(default_factory=list)


@dataclass
class Impact:
    """The difference between the current version and a proposed one, as of a date."""

    as_of: date
    before_hits: int
    after_hits: int
    before_undeterminable: int
    after_undeterminable: int
    groups: list[ImpactGroup]

    @property
    def flagged(self) -> int:
        return sum(g.flagged for g in self.groups)

    @property
    def cleared(self) -> int:
        return sum(g.cleared for g in self.groups)


def _results(rule: Rule, as_of: date, scope) -> dict[int, tuple[str, str]]:
    if not rule.enabled or not in_force(rule, as_of):
        return {}
    query = CompiledRule(rule, as_of).select(db.engine.dialect.name).subquery()
    rows = db.session.execute(sa.select(query.c.asset_id, query.c.result, query.c.explanation)
                              .join(Asset, Asset.id == query.c.asset_id).where(scope))
    return {asset_id: (result, text) for asset_id, result, text in rows}


def preview(code: str, changes: dict, as_of: date, scope=sa.true()) -> Impact:
    """Compare the current version of `code` with `changes` applied; nothing is saved."""
    old = current_rule(code)
    clean = proposed(old, changes)
    new = Rule(code=old.code, version=old.version + 1, category=old.category, pack=old.pack,
               **{k: clean[k] for k in EDITABLE})
    before, after = _results(old, as_of, scope), _results(new, as_of, scope)
    hits_before = {a for a, (r, _t) in before.items() if r == HIT}
    hits_after = {a for a, (r, _t) in after.items() if r == HIT}
    changed = {a: "flagged" for a in hits_after - hits_before}
    changed.update({a: "cleared" for a in hits_before - hits_after})
    groups: dict[tuple, ImpactGroup] = {}
    if changed:
        ids = sorted(changed)
        rows = (row for start in range(0, len(ids), 5000) for row in db.session.execute(
            sa.select(Asset.id, Asset.code, Asset.name, Asset.category, Department.name)
            .join(Department, Department.id == Asset.department_id)
            .where(Asset.id.in_(ids[start:start + 5000])).order_by(Asset.id)))
        for asset_id, asset_code, name, category, dept in rows:
            group = groups.setdefault((dept, category), ImpactGroup(dept, category.label))
            how = changed[asset_id]
            setattr(group, how, getattr(group, how) + 1)
            if len(group.examples) < EXAMPLES:
                text = (after if how == "flagged" else before)[asset_id][1]
                group.examples.append({"code": asset_code, "name": name, "change": how, "explanation": text})
    count = defaultdict(int)
    for label, results in (("before", before), ("after", after)):
        count[label] = sum(1 for r, _t in results.values() if r != HIT)
    return Impact(as_of, len(hits_before), len(hits_after), count["before"], count["after"],
                  sorted(groups.values(), key=lambda g: (g.department, g.category)))

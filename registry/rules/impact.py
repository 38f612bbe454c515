"""Impact preview: what an edit to a rule would flag or clear, before it is saved.

A preview over few assets runs in the request; over more than IMPACT_INLINE_ASSETS it runs as a
background task (rules.jobs) with progress, and its result is stored on the task (`to_json`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Callable

import sqlalchemy as sa
from flask import current_app

from registry.assets.models import Asset
from registry.extensions import db
from registry.orgs.models import Department
from registry.rules.engine import CompiledRule, in_force
from registry.rules.models import Rule
from registry.rules.results import HIT
from registry.rules.versions import EDITABLE, current_rule, proposed
from registry.transactions import atomic

EXAMPLES = 5
CHUNKS = 20  # id ranges per evaluation: how often a background preview reports progress
Progress = Callable[[str, int, int], None]


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
    base_version: int = 0  # the current version it was compared with
    assets: int = 0  # assets of the rule's category in the reader's scope

    @property
    def flagged(self) -> int:
        return sum(g.flagged for g in self.groups)

    @property
    def cleared(self) -> int:
        return sum(g.cleared for g in self.groups)

    def to_json(self) -> dict:
        """Return the preview as JSON (a background task's stored result)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Impact":
        """Rebuild a preview stored by `to_json`."""
        groups = [ImpactGroup(**g) for g in data["groups"]]
        return cls(**{**data, "as_of": date.fromisoformat(data["as_of"]), "groups": groups})


def _reach(category, scope) -> sa.Select:
    """Return the ids of the assets of `category` the reader may see: what a preview of its rule evaluates."""
    return sa.select(Asset.id).where(Asset.category == category, Asset.deleted_at.is_(None), scope)


def assets_in_reach(code: str, scope=sa.true()) -> int:
    """Count the assets a preview of rule `code` evaluates (its category, not deleted, in `scope`)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(_reach(current_rule(code).category,
                                                                           scope).subquery()))


def in_background(code: str, scope=sa.true()) -> bool:
    """Tell whether a preview of `code` is run by the worker: more than IMPACT_INLINE_ASSETS assets (0: always)."""
    limit = int(current_app.config["IMPACT_INLINE_ASSETS"])
    return limit <= 0 or assets_in_reach(code, scope) > limit


def _bounds(ids: list[int]) -> list[tuple[int, int, int]]:
    """Split sorted `ids` into at most CHUNKS id ranges: (first id, last id, ids up to the range's end)."""
    step = max(1, -(-len(ids) // CHUNKS))
    return [(ids[i], ids[min(i + step, len(ids)) - 1], min(i + step, len(ids))) for i in range(0, len(ids), step)]


def _results(rule: Rule, as_of: date, scope, chunks, report) -> dict[int, str]:
    """Return {asset id: result} of `rule` over the id ranges `chunks`, reporting each range."""
    if not rule.enabled or not in_force(rule, as_of):
        report(chunks[-1][2] if chunks else 0)
        return {}
    # Results only: the page shows at most EXAMPLES explanations per group, fetched by _explanations,
    # so the sweep holds two short values per finding rather than every finding's text.
    query = CompiledRule(rule, as_of).select(db.engine.dialect.name).subquery()
    found = {}
    for first, last, done in chunks:
        found.update(db.session.execute(sa.select(query.c.asset_id, query.c.result)
                                        .join(Asset, Asset.id == query.c.asset_id)
                                        .where(scope, query.c.asset_id.between(first, last))).all())
        report(done)
    return found


def _explanations(rule: Rule, as_of: date, ids: list[int]) -> dict[int, str]:
    """Return the explanation `rule` gives each of the (few) assets `ids`."""
    if not ids:
        return {}
    query = CompiledRule(rule, as_of).select(db.engine.dialect.name).subquery()
    return dict(db.session.execute(sa.select(query.c.asset_id, query.c.explanation)
                                   .where(query.c.asset_id.in_(ids))).all())


@atomic
def preview(code: str, changes: dict, as_of: date, scope=sa.true(), progress: Progress | None = None) -> Impact:
    """Compare the current version of `code` with `changes` applied; nothing is saved."""
    old = current_rule(code)
    clean = proposed(old, changes)
    new = Rule(code=old.code, version=old.version + 1, category=old.category, pack=old.pack,
               **{k: clean[k] for k in EDITABLE})
    progress = progress or (lambda stage, done, total: None)
    reach = list(db.session.scalars(_reach(old.category, scope).order_by(Asset.id)))
    chunks = _bounds(reach)
    total = 2 * len(reach)  # each version evaluates every asset in reach once
    before = _results(old, as_of, scope, chunks, lambda done: progress("评估现行版本", done, total))
    after = _results(new, as_of, scope, chunks, lambda done: progress("评估修改后版本", len(reach) + done, total))
    hits_before = {a for a, r in before.items() if r == HIT}
    hits_after = {a for a, r in after.items() if r == HIT}
    changed = {a: "flagged" for a in hits_after - hits_before}
    changed.update({a: "cleared" for a in hits_before - hits_after})
    groups: dict[tuple, ImpactGroup] = {}
    examples: list[tuple[int, dict]] = []  # (asset id, the example shown for it)
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
                example = {"code": asset_code, "name": name, "change": how, "explanation": ""}
                group.examples.append(example)
                examples.append((asset_id, example))
    # A flagged asset is explained by the new version, a cleared one by the version that flagged it.
    texts = {how: _explanations(new if how == "flagged" else old, as_of,
                                [a for a, e in examples if e["change"] == how]) for how in ("flagged", "cleared")}
    for asset_id, example in examples:
        example["explanation"] = texts[example["change"]][asset_id]
    undeterminable = [sum(1 for r in results.values() if r != HIT) for results in (before, after)]
    return Impact(as_of, len(hits_before), len(hits_after), *undeterminable,
                  sorted(groups.values(), key=lambda g: (g.department, g.category)),
                  base_version=old.version, assets=len(reach))

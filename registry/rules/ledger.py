"""What the ledger shows and filters from the latest evaluation: the 规则结论 column and finding=…

Handed down to `registry.assets.filters` at start-up (assets sit below rules). Each category's
latest evaluation is the one `services.latest_evaluation` names.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from registry.assets.filters import missing_condition, missing_fields
from registry.assets.models import Asset
from registry.enums import MANDATORY_OUTCOMES, Category
from registry.extensions import db
from registry.rules.engine import CompiledRule
from registry.rules.models import Finding, Rule
from registry.rules.results import HIT, UNDETERMINABLE
from registry.rules.services import latest_evaluation, latest_evaluation_id

# A finding's kind in the ledger, most pressing first.
KIND_ORDER = ("mandatory", "advisory", "undetermined")
_MANDATORY = [o.value for o in MANDATORY_OUTCOMES]


def kind_condition(kind: str):
    """Return the SQL condition on Finding for one kind (mandatory / advisory / undetermined)."""
    if kind == "mandatory":
        return sa.and_(Finding.result == HIT, Finding.outcome.in_(_MANDATORY))
    if kind == "advisory":
        return sa.and_(Finding.result == HIT, Finding.outcome.not_in(_MANDATORY))
    return Finding.result == UNDETERMINABLE


def _evaluations(category: Category | None) -> list[tuple[Category, int]]:
    """Return (category, latest evaluation id) for `category`, or for every category when None."""
    out = []
    for c in ([category] if category is not None else list(Category)):
        evaluation = latest_evaluation(c)
        if evaluation is not None:
            out.append((c, evaluation.id))
    return out


def finding_condition(kind: str, category: Category | None):
    """Assets whose latest evaluation has a finding of `kind`; `none`: assets with no finding at all."""
    parts = []
    for c, evaluation_id in _evaluations(category):
        found = sa.select(Finding.asset_id).where(Finding.evaluation_id == evaluation_id)
        if kind != "none":
            found = found.where(kind_condition(kind))
        parts.append(sa.and_(Asset.category == c, Asset.id.in_(found)))
    has = sa.or_(*parts) if parts else sa.false()
    return sa.not_(has) if kind == "none" else has


def finding_summaries(asset_ids: list[int], category: Category | None) -> dict[int, list[tuple[str, list[str]]]]:
    """Return {asset id: [(kind, rule codes), …]} (most pressing kind first) for the listed assets."""
    if not asset_ids:
        return {}
    # One statement: each category's latest evaluation is a subquery of it, not a lookup of its own.
    latest = [sa.and_(Asset.category == c, Finding.evaluation_id == latest_evaluation_id(c))
              for c in ([category] if category is not None else list(Category))]
    rows = db.session.execute(
        sa.select(Finding.asset_id, Finding.rule_code, Finding.outcome, Finding.result)
        .join(Asset, Asset.id == Finding.asset_id)
        .where(Finding.asset_id.in_(asset_ids), sa.or_(*latest)))
    by_asset: dict[int, dict[str, set[str]]] = {}
    for asset_id, code, outcome, result in rows:
        if result == UNDETERMINABLE:
            kind = "undetermined"
        else:
            kind = "mandatory" if outcome in MANDATORY_OUTCOMES else "advisory"
        by_asset.setdefault(asset_id, {}).setdefault(kind, set()).add(code)
    return {asset_id: [(k, sorted(kinds[k])) for k in KIND_ORDER if k in kinds]
            for asset_id, kinds in by_asset.items()}


@dataclass(frozen=True)
class MissingData:
    """Assets a rule could not judge because one field is empty (one line of the maintainer's work list)."""

    category: Category
    field: str  # the asset or detail field, as `missing=` takes it
    label: str
    count: int


def undetermined_by_field(scope, categories: list[Category]) -> list[MissingData]:
    """Group the latest evaluations' 无法判定 findings within `scope` by the empty field each rule needs."""
    out = []
    for category in categories:
        evaluation = latest_evaluation(category)
        if evaluation is None:
            continue
        undetermined = (sa.select(Finding.asset_id, Finding.rule_id).join(Asset, Asset.id == Finding.asset_id)
                        .where(Finding.evaluation_id == evaluation.id, Finding.result == UNDETERMINABLE,
                               Asset.category == category, scope))
        rule_ids = sorted(set(db.session.scalars(sa.select(undetermined.subquery().c.rule_id).distinct())))
        needs: dict[str, tuple[str, set[int]]] = {}  # field -> (label, rule ids needing it)
        for rule in db.session.scalars(sa.select(Rule).where(Rule.id.in_(rule_ids))):
            for field in CompiledRule(rule, evaluation.as_of).needs:
                needs.setdefault(field.name, (field.label, set()))[1].add(rule.id)
        accepted = missing_fields(category)
        for name, (label, ids) in needs.items():
            if name not in accepted:
                continue
            sub = undetermined.where(Finding.rule_id.in_(ids)).subquery()
            count = db.session.scalar(sa.select(sa.func.count(sa.distinct(Asset.id)))
                                      .where(Asset.id.in_(sa.select(sub.c.asset_id)),
                                             missing_condition(name, category)))
            if count:
                out.append(MissingData(category, name, accepted[name], count))
    return sorted(out, key=lambda m: (list(Category).index(m.category), -m.count))

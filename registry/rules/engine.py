"""A rule version made ready for one `as_of`: its condition, scope, deadline, both evaluation paths."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from registry.assets.models import DETAIL_MODELS, Asset
from registry.enums import Category, LifecycleStatus
from registry.rules.fields import Field, column_of, resolve, value_of
from registry.rules.kinds import build_condition
from registry.rules.results import HIT, UNDETERMINABLE, FindingResult
from registry.rules.sqltext import concat, date_lit, int_lit, json_pairs, lit
from registry.rules.tree import unique_fields, unique_figures

# Assets already renewed or scrapped are out of every rule's reach.
CLOSED_STATUSES = (LifecycleStatus.RENEWED, LifecycleStatus.SCRAPPED)


def deadline_for(policy: dict | None) -> date | None:
    """Return the fixed deadline a policy names, or None (days-after-notice is set when a notice is served)."""
    if policy and policy.get("type") == "fixed":
        return date.fromisoformat(policy["date"])
    return None


def in_force(rule, as_of: date) -> bool:
    """Tell whether `rule` is effective on `as_of`."""
    return ((rule.effective_from is None or rule.effective_from <= as_of)
            and (rule.effective_to is None or as_of <= rule.effective_to))


@dataclass
class CompiledRule:
    """One rule version bound to an evaluation date."""

    rule: object
    as_of: date

    def __post_init__(self):
        params = dict(self.rule.params or {})
        self.scope: dict = params.pop("scope", None) or {}
        self.category: Category = Category(self.rule.category)
        self.node = build_condition(self.rule.kind, params, self.category, self.as_of)
        self.deadline = deadline_for(self.rule.deadline_policy)
        self.overdue = self.deadline is not None and self.as_of > self.deadline
        self.needs: list[Field] = unique_fields(self.node)
        self.figures = unique_figures(self.node)
        self.scope_fields = [(resolve(self.category, name), values) for name, values in self.scope.items()]
        reads = {f.name: f for f in self.node.read_fields()}
        reads.update({f.name: f for f, _ in self.scope_fields})
        self.reads = list(reads.values())

    # --- Python path -------------------------------------------------------------------------
    def applies_to(self, asset: Asset, values: dict) -> bool:
        """Tell whether the asset is within this rule's reach (category, open, scope)."""
        if asset.category is not self.category or asset.deleted_at is not None or asset.status in CLOSED_STATUSES:
            return False
        return all(_plain(values[f.name]) in values_ for f, values_ in self.scope_fields)

    def evaluate(self, asset: Asset) -> FindingResult | None:
        """Return this rule's finding for one asset, or None when it does not apply or does not hit."""
        if asset.category is not self.category:
            return None
        values = {f.name: value_of(asset, f) for f in self.reads}
        if not self.applies_to(asset, values):
            return None
        truth = self.node.truth(values)
        if truth is False:
            return None
        citation = f"（{self.rule.citation}）"
        if truth:
            result, text, deadline, overdue = HIT, self.node.text(values) + citation, self.deadline, self.overdue
        else:
            missing = "、".join(f.label for f in self.needs if values[f.name] is None)
            result, text, deadline, overdue = UNDETERMINABLE, f"无法判定：缺少{missing}{citation}", None, False
        return FindingResult(
            asset_id=asset.id, rule_code=self.rule.code, rule_version=self.rule.version,
            outcome=self.rule.outcome, result=result, explanation=text, deadline=deadline, overdue=overdue,
            as_of=self.as_of, figures={key: py(values) for key, py, _sql in self.figures}, rule_id=self.rule.id)

    # --- SQL path ----------------------------------------------------------------------------
    def select(self, dialect: str, evaluation_id: int | None = None) -> sa.Select:
        """Return a SELECT producing this rule's findings, columns named like `findings`."""
        assets = Asset.__table__
        detail = DETAIL_MODELS[self.category].__table__
        cols = {}

        def c(field: Field):
            if field.name not in cols:
                cols[field.name] = column_of(self.category, field, detail)
            return cols[field.name]

        true_cond = self.node.sql_true(c)
        false_cond = self.node.sql_false(c)
        citation = f"（{self.rule.citation}）"
        missing = sa.func.substr(concat(*[sa.case((c(f).is_(None), lit("、" + f.label)), else_=lit(""))
                                          for f in self.needs]), 2)
        deadline = date_lit(self.deadline, dialect)
        where = [assets.c.category == self.category.value, assets.c.deleted_at.is_(None),
                 assets.c.status.not_in([s.value for s in CLOSED_STATUSES]), sa.not_(false_cond)]
        where += [_in_scope(c(f), values) for f, values in self.scope_fields]
        columns = [
            (int_lit(evaluation_id) if evaluation_id is not None else sa.null()).label("evaluation_id"),
            assets.c.id.label("asset_id"),
            (int_lit(self.rule.id) if self.rule.id is not None else sa.null()).label("rule_id"),
            lit(self.rule.code).label("rule_code"),
            int_lit(self.rule.version).label("rule_version"),
            lit(self.rule.outcome.value).label("outcome"),
            sa.case((true_cond, lit(HIT)), else_=lit(UNDETERMINABLE)).label("result"),
            sa.case((true_cond, concat(self.node.sql_explain(c), citation)),
                    else_=concat("无法判定：缺少", missing, citation)).label("explanation"),
            (sa.case((true_cond, deadline), else_=sa.null()) if self.deadline else sa.null()).label("deadline"),
            (sa.case((true_cond, sa.true()), else_=sa.false()) if self.overdue else sa.false()).label("overdue"),
            date_lit(self.as_of, dialect).label("as_of"),
            json_pairs([(key, sql(c)) for key, _py, sql in self.figures]).label("figures"),
        ]
        # Join the detail table only when the rule reads it (most age rules read the asset row alone).
        source = (assets.outerjoin(detail, detail.c.asset_id == assets.c.id)
                  if any(f.on_detail for f in self.reads) else assets)
        return sa.select(*columns).select_from(source).where(*where)


def _plain(value):
    return getattr(value, "value", value)


def _in_scope(column, values: list):
    """Return the SQL twin of `_plain(value) in values`: a null in `values` admits NULL."""
    known = [v for v in values if v is not None]
    condition = column.in_(known)
    return sa.or_(condition, column.is_(None)) if None in values else condition

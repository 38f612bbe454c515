"""Where a snapshot's findings come from: the one adapter between snapshots and the rules engine.

A source is a function `source(as_of) -> SourceResult`; `SNAPSHOT_SOURCE` names it as
"module:function", so tests can feed fixed findings and the engine can be swapped.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable

import sqlalchemy as sa
from flask import current_app

from registry.extensions import db

# The columns each finding row carries into the snapshot (copied, never referenced).
ROW_FIELDS = ("asset_id", "asset_code", "asset_name", "category", "department_id", "township", "owner_unit",
              "rule_code", "rule_version", "citation", "outcome", "result", "explanation", "deadline",
              "overdue", "figures")


@dataclass
class SourceResult:
    """Findings as of a date, with the rule versions that produced them."""

    evaluation_id: int | None
    rule_versions: dict[str, int]
    rows: Iterable[dict]


def load_source() -> Callable[[date], SourceResult]:
    """Return the configured source function."""
    module_name, _, func_name = current_app.config["SNAPSHOT_SOURCE"].partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def from_rules_engine(as_of: date) -> SourceResult:
    """Evaluate the whole inventory with the rules engine and return its persisted findings."""
    try:
        from registry.rules.models import Finding, Rule
        from registry.rules.services import evaluate_inventory
    except ModuleNotFoundError as exc:
        from registry.errors import Conflict
        raise Conflict("规则引擎尚未接入，无法生成清单快照") from exc
    from registry.assets.models import Asset
    from registry.orgs.models import Unit

    evaluation = evaluate_inventory(as_of, persist=True)
    query = (sa.select(Finding.asset_id, Asset.code, Asset.name, Asset.category, Asset.department_id,
                       Asset.township, Unit.name, Finding.rule_code, Finding.rule_version, Rule.citation,
                       Finding.outcome, Finding.result, Finding.explanation, Finding.deadline, Finding.overdue,
                       Finding.figures)
             .join(Asset, Asset.id == Finding.asset_id).join(Unit, Unit.id == Asset.owner_unit_id)
             .join(Rule, Rule.id == Finding.rule_id).where(Finding.evaluation_id == evaluation.id))
    rows = (dict(zip(ROW_FIELDS, row)) for row in db.session.execute(query))
    return SourceResult(evaluation.id, {str(k): int(v) for k, v in (evaluation.rule_versions or {}).items()}, rows)

"""Where a snapshot's findings come from: the one adapter between snapshots and the rules engine.

A source is a function `source(as_of) -> SourceResult` whose `select` is a SQL SELECT with the
columns of ROW_FIELDS, so the snapshot copies findings with one INSERT … SELECT, never through
Python objects. `SNAPSHOT_SOURCE` names it as "module:function", so tests can feed fixed
findings and the engine can be swapped.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from typing import Callable

import sqlalchemy as sa
from flask import current_app

from registry.assets.models import Asset
from registry.orgs.models import Unit
from registry.rules.models import Finding, Rule
from registry.rules.services import evaluate_inventory

# The columns each finding row carries into the snapshot (copied, never referenced).
ROW_FIELDS = ("asset_id", "asset_code", "asset_name", "category", "department_id", "township", "owner_unit",
              "rule_code", "rule_version", "citation", "outcome", "result", "explanation", "deadline",
              "overdue", "figures")


@dataclass
class SourceResult:
    """Findings as of a date (a SELECT of ROW_FIELDS), with the rule versions that produced them."""

    evaluation_id: int | None
    rule_versions: dict[str, int]
    select: sa.Select


def load_source() -> Callable[[date], SourceResult]:
    """Return the configured source function."""
    module_name, _, func_name = current_app.config["SNAPSHOT_SOURCE"].partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def from_rules_engine(as_of: date) -> SourceResult:
    """Evaluate the whole inventory with the rules engine and select its persisted findings."""
    # The engine commits its evaluation itself; a run killed after this point leaves that
    # evaluation behind (harmless: the redo makes a new one), never a partial snapshot.
    evaluation = evaluate_inventory(as_of, persist=True)
    columns = (Finding.asset_id, Asset.code, Asset.name, Asset.category, Asset.department_id, Asset.township,
               Unit.name, Finding.rule_code, Finding.rule_version, Rule.citation, Finding.outcome, Finding.result,
               Finding.explanation, Finding.deadline, Finding.overdue, Finding.figures)
    select = (sa.select(*(c.label(n) for c, n in zip(columns, ROW_FIELDS)))
              .join(Asset, Asset.id == Finding.asset_id).join(Unit, Unit.id == Asset.owner_unit_id)
              .join(Rule, Rule.id == Finding.rule_id).where(Finding.evaluation_id == evaluation.id))
    versions = {str(k): int(v) for k, v in (evaluation.rule_versions or {}).items()}
    return SourceResult(evaluation.id, versions, select)

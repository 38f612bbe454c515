"""Helpers for planning tests: real assets with candidates served by a stand-in for the rules adapter."""
from __future__ import annotations

from datetime import date

import pytest

from registry.enums import Category, RuleOutcome
from registry.planning.builder import Candidate
from tests.factories import make_asset


class FakeSource:
    """Stands in for registry.planning.candidates: an evaluation and its flagged assets, set by the test."""

    def __init__(self):
        self.evaluation = (1, date(2025, 1, 1))
        self.items: list[Candidate] = []

    def latest_evaluation(self):
        return self.evaluation

    def load_candidates(self, evaluation_id, department_id=None):
        return [c for c in self.items if department_id is None or c.department_id == department_id]

    def flagged_asset_ids(self, evaluation_id, asset_ids):
        flagged = {c.asset_id for c in self.items}
        return {a for a in asset_ids if a in flagged}

    def flag(self, category=Category.OFFICIAL_CAR, outcome=RuleOutcome.MANDATORY_RENEWAL, overdue=0, beyond=None,
             cost=180_000, **asset_fields):
        """Create an asset and flag it; return the asset."""
        asset = make_asset(category, **asset_fields)
        self.items.append(Candidate(asset.id, asset.code, category, asset.department_id, asset.township, outcome,
                                    overdue, beyond, None, "XZ-12", "测试发现", cost))
        return asset


@pytest.fixture
def source(monkeypatch):
    """Replace the rules adapter with a FakeSource."""
    from registry.planning import candidates
    fake = FakeSource()
    for name in ("latest_evaluation", "load_candidates", "flagged_asset_ids"):
        monkeypatch.setattr(candidates, name, getattr(fake, name))
    return fake

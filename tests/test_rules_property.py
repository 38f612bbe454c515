"""Property: the per-asset Python path and the set-based SQL path give identical findings."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.enums import Category
from registry.extensions import db
from registry.rules import services
from registry.rules.models import Finding, Rule
from registry.rules.versions import seed_packs
from tests import factories
from tests.rules_inventory import clear_inventory, inventories, save_inventory

AS_OF = st.one_of(st.dates(date(2010, 1, 1), date(2032, 12, 31)),
                  st.sampled_from([date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1), date(2028, 2, 28),
                                   date(2028, 2, 29), date(2024, 12, 31), date(2025, 1, 1)]))


EXTRA_KINDS = {"GB-TC-1", "GB-HOIST-1", "GB-GAS-2", "GB-WATER-1", "GB-CAR-KM", "GB-MED-LIFE", "GB-DRAIN-2"}


def _key(r):
    return (r.asset_id, r.rule_code)


def _as_dict(results):
    return {_key(r): r for r in results}


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _setup(ctx):
    """Load the rules once per test function (the app fixture is per function, not per example)."""
    if getattr(ctx, "unit", None) is None:
        seed_packs()
        for rule in db.session.scalars(sa.select(Rule)):
            # The plan pack plus national rules that bring in the remaining kinds (bands, classes,
            # materials, all_of, number thresholds, specified service life).
            rule.enabled = rule.pack == "plan" or rule.code in EXTRA_KINDS
        db.session.commit()
        ctx.unit = factories.make_unit()
        from registry.orgs.reference import department_for_category
        ctx.departments = {c: department_for_category(c) for c in Category}


def _python(ids, as_of):
    from registry.assets.models import Asset
    compiled = services.compile_rules(as_of)
    return [f for a in db.session.scalars(sa.select(Asset).where(Asset.id.in_(ids)))
            for f in services.evaluate_asset(a, as_of, compiled)]


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_python_and_sql_paths_agree(ctx, data):
    _setup(ctx)
    as_of = data.draw(AS_OF, label="as_of")
    rows = data.draw(inventories(as_of), label="inventory")
    try:
        ids = save_inventory(rows, ctx.unit, ctx.departments)
        python = _python(ids, as_of)
        sql = services.sql_results(as_of)
        assert len(python) == len(sql)
        assert _as_dict(python) == _as_dict(sql)
    finally:
        db.session.rollback()
        clear_inventory()


@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
def test_persisted_findings_equal_python_findings(ctx, data):
    _setup(ctx)
    as_of = data.draw(AS_OF, label="as_of")
    rows = data.draw(inventories(as_of), label="inventory")
    try:
        ids = save_inventory(rows, ctx.unit, ctx.departments)
        by_key = _as_dict(_python(ids, as_of))
        evaluation = services.evaluate_inventory(as_of)
        saved = db.session.scalars(sa.select(Finding).where(Finding.evaluation_id == evaluation.id)).all()
        assert evaluation.finding_count == len(saved) == len(by_key)
        for finding in saved:
            expected = by_key[_key(finding)]
            assert (finding.rule_version, finding.outcome, finding.result, finding.explanation, finding.deadline,
                    finding.overdue, finding.as_of, finding.figures, finding.rule_id) == (
                expected.rule_version, expected.outcome, expected.result, expected.explanation, expected.deadline,
                expected.overdue, expected.as_of, expected.figures, expected.rule_id)
    finally:
        db.session.rollback()
        clear_inventory()

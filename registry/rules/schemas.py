"""Marshmallow schemas for the rules API (separate input and output schemas)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.db_types import MAX_ID
from registry.enums import Category
from registry.rules.dates import AS_OF_RANGE


class RuleOut(Schema):
    """One rule version as the API shows it."""

    code = fields.String()
    version = fields.Integer()
    category = fields.Function(lambda r: r.category.value)
    category_label = fields.Function(lambda r: r.category.label)
    title = fields.String()
    citation = fields.String()
    kind = fields.String()
    params = fields.Dict()
    outcome = fields.Function(lambda r: r.outcome.value)
    outcome_label = fields.Function(lambda r: r.outcome.label)
    deadline_policy = fields.Dict(allow_none=True)
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True)
    enabled = fields.Boolean()
    verified = fields.Boolean()
    pack = fields.String()
    is_current = fields.Boolean()
    notes = fields.String(allow_none=True)


class RuleDetailOut(RuleOut):
    """A rule with its earlier versions."""

    versions = fields.List(fields.Nested(RuleOut))


class FindingsQuery(Schema):
    """Query string of GET /findings."""

    as_of = fields.Date(required=True, validate=validate.Range(*AS_OF_RANGE, error="评估日期：应在 {min} 到 {max} 之间"),
                        metadata={"description": "评估日期 YYYY-MM-DD（1900-01-01 到 2100-12-31）"})
    category = fields.String(validate=validate.OneOf(Category.values()))
    result = fields.String(validate=validate.OneOf(["hit", "undeterminable"]))
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 10000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID))


class FindingOut(Schema):
    """One finding with the asset it concerns."""

    asset_id = fields.Integer()
    asset_code = fields.String()
    rule_code = fields.String()
    rule_version = fields.Integer()
    outcome = fields.String()
    outcome_label = fields.String()
    result = fields.String()
    explanation = fields.String()
    deadline = fields.Date(allow_none=True)
    overdue = fields.Boolean()
    as_of = fields.Date()
    figures = fields.Dict()


class FindingsOut(Schema):
    """The findings of one evaluation."""

    evaluation_id = fields.Integer(allow_none=True,
                                   metadata={"description": "所用的已保存评估；该日期没有已保存的评估时为 null（现场计算，不保存）"})
    as_of = fields.Date()
    rule_versions = fields.Dict()
    total = fields.Integer()
    findings = fields.List(fields.Nested(FindingOut))

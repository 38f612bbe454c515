"""Marshmallow schemas of the planning API (input and output kept apart)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields


class PlanCreateSchema(Schema):
    """Request to build a plan; quotas {category: {year: n}}, budgets {year: 元}; values validated by the service."""

    class Meta:
        unknown = EXCLUDE

    year_from = fields.Raw(required=True, metadata={"description": "起始年度（2024—2027）"})
    year_to = fields.Raw(required=True, metadata={"description": "截止年度（2024—2027）"})
    department = fields.String(load_default=None, metadata={"description": "部门代码，不填为全市"})
    name = fields.String(load_default=None)
    quotas = fields.Dict(load_default=dict)
    budgets = fields.Dict(load_default=dict)


class PlanSettingsSchema(Schema):
    """New quotas and budgets for a draft."""

    class Meta:
        unknown = EXCLUDE

    quotas = fields.Dict(load_default=dict)
    budgets = fields.Dict(load_default=dict)


class PlanSchema(Schema):
    """A plan with its built summary."""

    id = fields.Integer()
    name = fields.String()
    year_from = fields.Integer()
    year_to = fields.Integer()
    department_id = fields.Integer(allow_none=True)
    status = fields.Function(lambda p: p.status.value)
    status_label = fields.Function(lambda p: p.status.label)
    revision = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    evaluation_id = fields.Integer(allow_none=True)
    evaluation_as_of = fields.Date(allow_none=True)
    quotas = fields.Dict()
    budgets = fields.Dict()
    summary = fields.Dict()
    built_at = fields.DateTime(allow_none=True)


class PlacementQuerySchema(Schema):
    """Which placements to list."""

    class Meta:
        unknown = EXCLUDE

    year = fields.Integer(load_default=None)
    unplaced = fields.Boolean(load_default=False)
    category = fields.String(load_default=None)
    page = fields.Integer(load_default=1)
    per_page = fields.Integer(load_default=100)


class PlacementSchema(Schema):
    """One asset in a plan."""

    rank = fields.Integer()
    year = fields.Integer(allow_none=True)
    asset_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    category = fields.Function(lambda r: getattr(r.category, "value", r.category))
    department_id = fields.Integer()
    township = fields.String()
    outcome = fields.Function(lambda r: getattr(r.outcome, "value", r.outcome))
    overdue_months = fields.Integer()
    years_beyond = fields.Float(allow_none=True)
    condition_rank = fields.Integer(allow_none=True)
    rule_code = fields.String()
    est_cost = fields.Integer(allow_none=True)
    pinned = fields.Boolean()
    explanation = fields.String()


class PinSchema(Schema):
    """Pin or move an asset (id or code) to a year."""

    class Meta:
        unknown = EXCLUDE

    asset = fields.Raw(required=True)
    year = fields.Raw(required=True)
    reason = fields.String(load_default=None)


class TransitionSchema(Schema):
    """A workflow step: submit / return / approve / lock."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True)
    comment = fields.String(load_default=None)


class CommentSchema(Schema):
    """A comment on a plan."""

    comment = fields.String(required=True)


class TargetSchema(Schema):
    """A plan target."""

    id = fields.Integer()
    code = fields.String()
    department_id = fields.Integer()
    category = fields.Function(lambda t: t.category.value)
    title = fields.String()
    measure = fields.Function(lambda t: t.measure.value)
    value = fields.Function(lambda t: float(t.value))
    start_year = fields.Integer()
    deadline_year = fields.Integer()
    citation = fields.String()
    fed_by_findings = fields.Boolean()
    note = fields.String(allow_none=True)


class TargetUpdateSchema(Schema):
    """Fields of a target to change (validated by the service)."""

    class Meta:
        unknown = EXCLUDE

    title = fields.String()
    measure = fields.String()
    value = fields.Raw()
    start_year = fields.Raw()
    deadline_year = fields.Raw()
    citation = fields.String()

"""Marshmallow schemas of the planning API (input and output kept apart)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from registry.api_base import UtcDateTime
from registry.enums import BaselineMeasure, Category, TargetMeasure
from registry.orgs.reference import DEPARTMENTS
from registry.planning.inputs import PLAN_PERIOD
from registry.planning.workflow import TRANSITIONS

# Documentation of values the services parse themselves (they also accept e.g. "2025" for 2025).
_YEAR = {"type": "integer", "minimum": PLAN_PERIOD[0], "maximum": PLAN_PERIOD[1]}
_QUOTAS = {"description": "配额 {类别: {年度: 数量}}，如 {\"official_car\": {\"2025\": 10}}；不填为不限"}
_BUDGETS = {"description": "预算 {年度: 金额（元）}，如 {\"2025\": 5000000}；不填为不限"}


class PlanCreateSchema(Schema):
    """Request to build a plan; quotas {category: {year: n}}, budgets {year: 元}; values validated by the service."""

    class Meta:
        unknown = EXCLUDE

    year_from = fields.Raw(required=True, metadata={**_YEAR, "description": "起始年度（2024—2027）"})
    year_to = fields.Raw(required=True, metadata={**_YEAR, "description": "截止年度（2024—2027）"})
    department = fields.String(load_default=None, metadata={"description": "部门代码，不填为全市",
                                                            "enum": [d[0] for d in DEPARTMENTS]})
    name = fields.String(load_default=None)
    quotas = fields.Dict(load_default=dict, metadata=_QUOTAS)
    budgets = fields.Dict(load_default=dict, metadata=_BUDGETS)


class PlanSettingsSchema(Schema):
    """New quotas and budgets for a draft."""

    class Meta:
        unknown = EXCLUDE

    quotas = fields.Dict(load_default=dict, metadata=_QUOTAS)
    budgets = fields.Dict(load_default=dict, metadata=_BUDGETS)


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
    built_at = UtcDateTime(allow_none=True)


class PlacementQuerySchema(Schema):
    """Which placements to list."""

    class Meta:
        unknown = EXCLUDE

    year = fields.Integer(load_default=None, validate=validate.Range(*PLAN_PERIOD, error="年度：应为 {min}—{max}"))
    unplaced = fields.Boolean(load_default=False)
    category = fields.String(load_default=None, metadata={"enum": Category.values()})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000, error="页码：应为 {min}—{max}"))
    per_page = fields.Integer(load_default=100, validate=validate.Range(1, 1000, error="每页条数：应为 {min}—{max}"))


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


class PlacementPageSchema(Schema):
    """One page of a plan's placements."""

    total = fields.Integer(metadata={"description": "符合条件的总数"})
    page = fields.Integer()
    items = fields.List(fields.Nested(PlacementSchema))


class DiffRowSchema(Schema):
    """An asset a revision adds, removes or moves."""

    asset_id = fields.Integer()
    code = fields.String()
    year = fields.Integer(allow_none=True, metadata={"description": "本修订（移除的：上一版）中的年度"})
    other_year = fields.Integer(allow_none=True, metadata={"description": "另一版中的年度"})
    explanation = fields.String(allow_none=True)


class DiffSchema(Schema):
    """What a revision changes against its parent (nothing for a first revision)."""

    parent_id = fields.Integer(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    added = fields.List(fields.Nested(DiffRowSchema))
    removed = fields.List(fields.Nested(DiffRowSchema))
    moved = fields.List(fields.Nested(DiffRowSchema))


class ProgressRowSchema(Schema):
    """One department x category line of the progress dashboard; the lists follow `years`."""

    department = fields.String()
    category = fields.String()
    target = fields.Integer(allow_none=True)
    years = fields.List(fields.Integer())
    planned = fields.List(fields.Integer())
    notified = fields.List(fields.Integer())
    done = fields.List(fields.Integer())


class CommentOutSchema(Schema):
    """A comment added to a plan."""

    id = fields.Integer()
    comment = fields.String()


class PinSchema(Schema):
    """Pin or move an asset (id or code) to a year."""

    class Meta:
        unknown = EXCLUDE

    asset = fields.Raw(required=True, metadata={"description": "设备 id 或设备编码",
                                                "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]})
    year = fields.Raw(required=True, metadata={**_YEAR, "description": "列入年度（须在计划年度范围内）"})
    reason = fields.String(load_default=None)


class TransitionSchema(Schema):
    """A workflow step: submit / return / approve / lock."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True, metadata={"enum": list(TRANSITIONS),
                                                    "description": "submit 上报、return 退回、approve 审批、lock 锁定"})
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
    measure = fields.String(metadata={"enum": TargetMeasure.values(), "description": "count 数量 或 percentage 百分比"})
    value = fields.Raw(metadata={"type": "number", "minimum": 0, "maximum": 9999999999.99,
                                "description": "目标值（百分比不超过 100）"})
    start_year = fields.Raw(metadata={**_YEAR, "description": "起始年度"})
    deadline_year = fields.Raw(metadata={**_YEAR, "description": "期限年度"})
    citation = fields.String()


class BaselineSchema(Schema):
    """A 2023 baseline; `version` is what a change must send back."""

    id = fields.Integer()
    measure = fields.Function(lambda b: b.measure.value, metadata={"enum": BaselineMeasure.values()})
    department = fields.Function(lambda b: b.department.code)
    sector = fields.String(metadata={"description": "设备类别（investment）；scrapped_cars 为空"})
    year = fields.Integer()
    value = fields.Function(lambda b: float(b.value), metadata={"type": "number"})
    note = fields.String()
    version = fields.Integer()
    updated_at = UtcDateTime()


class BaselineCreateSchema(Schema):
    """A new 2023 baseline (values validated by the service, errors in Chinese)."""

    class Meta:
        unknown = EXCLUDE

    measure = fields.Raw(required=True, metadata={"type": "string", "enum": BaselineMeasure.values(),
                                                  "description": "investment 设备投资额（元）或 scrapped_cars 报废汽车回收量（辆）"})
    department = fields.Raw(required=True, metadata={"type": "string", "enum": [d[0] for d in DEPARTMENTS]})
    sector = fields.Raw(load_default="", metadata={"type": "string", "description": "设备类别；scrapped_cars 不填"})
    year = fields.Raw(load_default=2023, metadata={"type": "integer", "enum": [2023]})
    value = fields.Raw(required=True, metadata={"type": "number", "minimum": 0,
                                                "description": "元（不超过 100 亿）或辆（整数，不超过 100000）"})
    note = fields.Raw(load_default="", metadata={"type": "string", "maxLength": 200, "description": "数据来源"})


class BaselinePatchSchema(Schema):
    """A change to a baseline: the version read earlier (stale -> 409, missing -> 428), the value and/or the note."""

    class Meta:
        unknown = EXCLUDE

    version = fields.Raw(metadata={"type": "integer", "description": "读取时的版本号"})
    value = fields.Raw(metadata={"type": "number", "minimum": 0})
    note = fields.Raw(metadata={"type": "string", "maxLength": 200})


class OutcomeQuerySchema(Schema):
    """Which department the dashboard shows (task force only; others always see their own)."""

    class Meta:
        unknown = EXCLUDE

    department = fields.String(load_default=None, metadata={"description": "部门代码，不填为全市",
                                                            "enum": [d[0] for d in DEPARTMENTS]})


class OutcomesSchema(Schema):
    """The progress dashboard's figures: headline targets with their 2023 baselines, clause targets, new-energy share."""

    as_of = fields.String()
    department = fields.String(allow_none=True)
    years = fields.List(fields.Integer())
    headlines = fields.List(fields.Dict(), metadata={"description": "投资额与报废汽车回收量：每行 baseline、values、"
                                                                    "change（较 2023 的小数）、target"})
    new_energy = fields.List(fields.Dict(), metadata={"description": "每部门每年更新车辆数 vehicles 与新能源数 new_energy"})
    clauses = fields.List(fields.Dict(), metadata={"description": "分条款目标：planned、notified、done（处置记录）"})

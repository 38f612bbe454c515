"""Marshmallow schemas of the notices API (separate input and output schemas)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.api_base import id_field
from registry.enums import Category, CompletionKind, NoticeStatus
from registry.orgs.reference import TOWNSHIPS


def _label(attr: str):
    return fields.Function(lambda obj: getattr(getattr(obj, attr), "label", None))


class NoticeItemOut(Schema):
    asset_id = fields.Int()
    asset_code = fields.Str()
    asset_name = fields.Str()
    rule_code = fields.Str()
    rule_version = fields.Int()
    citation = fields.Str()
    outcome = fields.Function(lambda obj: obj.outcome.value)
    explanation = fields.Str()
    figures = fields.Dict(allow_none=True)
    deadline = fields.Date(allow_none=True)
    rule_deadline = fields.Date(allow_none=True, metadata={"description": "规则的固定期限（发文时已过，期限因此自发文起算）"})
    finding_id = fields.Int(allow_none=True)
    findings = fields.Function(lambda obj: obj.all_findings,
                               metadata={"description": "该设备的全部强制性结论，最严格的在前"})


class NoticeOut(Schema):
    id = fields.Int()
    number = fields.Str(allow_none=True, metadata={"description": "文号；拟稿为 null，签发时编号"})
    department = fields.Function(lambda n: n.department.code)
    owner_unit = fields.Function(lambda n: n.owner_unit.name)
    township = fields.Str()
    title = fields.Str()
    status = fields.Function(lambda n: n.status.value)
    status_label = _label("status")
    issued_on = fields.Date(metadata={"description": "发文日期；拟稿为拟定日期，签发时改为签发日期"})
    deadline = fields.Date(allow_none=True)
    drafted_by_id = fields.Int(allow_none=True, metadata={"description": "拟稿人；null 为定时任务"})
    issued_by_id = fields.Int(allow_none=True, metadata={"description": "签发人（部门负责人）"})
    superseded_by_id = fields.Int(allow_none=True)
    served_on = fields.Date(allow_none=True)
    served_recipient = fields.Str(allow_none=True)
    completion_kind = fields.Function(lambda n: n.completion_kind.value if n.completion_kind else None)
    completion_reference = fields.Str(allow_none=True)
    void_reason = fields.Str(allow_none=True)
    pdf_sha256 = fields.Str(allow_none=True)
    asset_count = fields.Function(lambda n: len(n.items))


class NoticeDetailOut(NoticeOut):
    body = fields.Str()
    items = fields.List(fields.Nested(NoticeItemOut))


class NoticeQuery(Schema):
    """Documents the list filters; registry.notices.queries.parse_filters reads them (one parser for page and API)."""

    status = fields.Str(metadata={"enum": NoticeStatus.values(), "description": "状态（也接受中文名称）"})
    department = fields.Str(metadata={"description": "发文部门代码，如 zjj"})
    unit = fields.Str(metadata={"description": "产权单位名称的一部分"})
    township = fields.Str()
    date_from = fields.Str(metadata={"format": "date", "description": "发文日期起（含）"})
    date_to = fields.Str(metadata={"format": "date", "description": "发文日期止（含）"})
    overdue = fields.Str(metadata={"enum": ["0", "1"], "description": "1：仅逾期"})
    q = fields.Str(metadata={"description": "文号的一部分"})
    cursor = fields.Str(metadata={"description": "上一页返回的 next_cursor"})
    limit = fields.Str(metadata={"description": "每页条数 1–200，默认 50"})


class NoticePageOut(Schema):
    items = fields.List(fields.Nested(NoticeOut))
    next_cursor = fields.Str(allow_none=True)


class SignIn(Schema):
    ids = fields.List(id_field("拟稿 id"), required=True, validate=validate.Length(min=1, max=500))
    issued_on = fields.Date(load_default=None, metadata={"description": "发文日期，默认今天；不能晚于今天"})


class DiscardIn(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class IssueIn(Schema):
    asset_ids = fields.List(id_field("设备 id"), load_default=None)
    township = fields.Str(load_default=None, metadata={"enum": list(TOWNSHIPS)})
    category = fields.Str(load_default=None, metadata={"enum": Category.values(), "description": "类别（也接受中文名称）"})
    snapshot_id = id_field("清单快照 id", load_default=None)
    issued_on = fields.Date(load_default=None, metadata={"description": "拟定发文日期（期限由此起算），默认今天"})


class ServeIn(Schema):
    served_on = fields.Date(required=True)
    recipient = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class AcknowledgeIn(Schema):
    note = fields.Str(load_default=None, validate=validate.Length(max=200))


class CompleteIn(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(CompletionKind.values()))
    reference = fields.Str(load_default=None)
    replacement_code = fields.Str(load_default=None)


class VoidIn(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class PrintIn(Schema):
    ids = fields.List(id_field("通知书 id"), load_default=None)
    status = fields.Str(load_default=NoticeStatus.ISSUED.value, validate=validate.OneOf(NoticeStatus.values()))
    township = fields.Str(load_default=None)
    unprinted = fields.Bool(load_default=False)

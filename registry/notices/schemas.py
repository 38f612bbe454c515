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
    finding_id = fields.Int(allow_none=True)


class NoticeOut(Schema):
    id = fields.Int()
    number = fields.Str()
    department = fields.Function(lambda n: n.department.code)
    owner_unit = fields.Function(lambda n: n.owner_unit.name)
    township = fields.Str()
    title = fields.Str()
    status = fields.Function(lambda n: n.status.value)
    status_label = _label("status")
    issued_on = fields.Date()
    deadline = fields.Date(allow_none=True)
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
    status = fields.Str(validate=validate.OneOf(NoticeStatus.values()))
    township = fields.Str()


class IssueIn(Schema):
    asset_ids = fields.List(id_field("设备 id"), load_default=None)
    township = fields.Str(load_default=None, metadata={"enum": list(TOWNSHIPS)})
    category = fields.Str(load_default=None, metadata={"enum": Category.values(), "description": "类别（也接受中文名称）"})
    snapshot_id = id_field("清单快照 id", load_default=None)
    issued_on = fields.Date(load_default=None, metadata={"description": "发文日期，默认今天；不能晚于今天"})


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

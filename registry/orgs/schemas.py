"""Marshmallow schemas for owner/user units."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as mf

from registry.db_types import MAX_ID
from registry.enums import UnitKind
from registry.orgs.reference import TOWNSHIPS


class UnitInSchema(ma.Schema):
    """A unit to create; the kind is guessed from the name when omitted."""

    class Meta:
        unknown = ma.RAISE

    name = mf.String(required=True, validate=ma.validate.Length(min=1, max=128),
                     error_messages={"required": "单位名称：不能为空"}, metadata={"description": "单位全称"})
    township = mf.String(required=True, error_messages={"required": "乡镇/街道：不能为空"},
                         metadata={"description": "乡镇/街道（新郑市下辖）", "enum": list(TOWNSHIPS)})
    kind = mf.Enum(UnitKind, by_value=True, load_default=None, allow_none=True,
                   error_messages={"unknown": "单位类型：不是有效选项"},
                   metadata={"description": "单位类型：" + "、".join(f"{v}（{lbl}）" for v, lbl in UnitKind.choices())})
    address = mf.String(load_default="", validate=ma.validate.Length(max=200))
    contact = mf.String(load_default="", validate=ma.validate.Length(max=64))
    phone = mf.String(load_default="", validate=ma.validate.Length(max=32))


class UnitOutSchema(ma.Schema):
    """A unit as the API returns it."""

    id = mf.Integer()
    name = mf.String()
    kind = mf.Function(lambda u: u.kind.value)
    kind_label = mf.Function(lambda u: u.kind.label)
    township = mf.String()
    address = mf.String()
    contact = mf.String()
    phone = mf.String()


class UnitListArgs(ma.Schema):
    """Query parameters of the unit search."""

    class Meta:
        unknown = ma.EXCLUDE

    q = mf.String(metadata={"description": "名称包含"})
    township = mf.String(metadata={"description": "乡镇/街道"})
    after = mf.Integer(load_default=0, validate=ma.validate.Range(0, MAX_ID, error=f"游标：应为 0–{MAX_ID} 之间的整数"),
                       metadata={"description": "上一页最后一个单位的 id（游标）"})

"""Marshmallow schemas for disposal and replacement records (documentation and output; input is parsed by services)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as mf

from registry.api_base import UtcDateTime
from registry.enums import DisposalWay, EfficiencyLevel, FundingSource


def _labels(enum_cls) -> str:
    return "、".join(f"{v}（{lbl}）" for v, lbl in enum_cls.choices())


class _In(ma.Schema):
    """Refuse unknown fields with a Chinese message; values are parsed (and checked) by the services."""

    class Meta:
        unknown = ma.RAISE

    def handle_error(self, error, data, **kwargs):
        msgs = error.messages if isinstance(error.messages, dict) else {}
        for key, value in list(msgs.items()):
            if value == ["Unknown field."]:
                msgs[key] = [f"未知字段：{key}"]


def _raw(description: str, **meta) -> mf.Raw:
    return mf.Raw(metadata={"type": "string", "description": description, **meta})


class DisposalInSchema(_In):
    """A disposal as posted (JSON; scanned documents through multipart/form-data field `documents`)."""

    way = _raw(f"处置方式：{_labels(DisposalWay)}", enum=DisposalWay.values())
    disposed_on = _raw("处置日期（不晚于今天、不早于投入使用日期）", format="date")
    receiver = _raw("接收企业")
    recycling_certificate_no = _raw("报废机动车回收证明编号（车辆报废拆解必填）")
    deregistration_no = _raw("注销登记编号（车辆、特种设备报废拆解必填）")
    note = _raw("备注")


class ReplacementInSchema(_In):
    """A replacement as posted."""

    new_asset = mf.Raw(metadata={
        "description": "新设备：已登记设备的编号（或 id）；或新设备的全部属性（与 POST /assets 相同的对象，含 category），"
                       "与更新记录在同一事务中登记",
        "oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/AssetCreate"}]})
    replaces = mf.Raw(metadata={"type": "array", "items": {"type": "string"}, "description": "被替换设备编号（同一部门）"})
    replaced_on = _raw("更新日期", format="date")
    investment_yuan = _raw("投资金额（元，0 < 金额 ≤ 10 亿）")
    funding_source = _raw(f"资金来源：{_labels(FundingSource)}", enum=FundingSource.values())
    efficiency_level = _raw(f"能效水平：{_labels(EfficiencyLevel)}", enum=EfficiencyLevel.values())
    emission_standard = _raw("排放标准，如 国六b、非道路国四")
    new_energy = mf.Raw(metadata={"type": "boolean", "description": "是否新能源"})
    note = _raw("备注")


class DocumentOutSchema(ma.Schema):
    """One scanned document of a disposal."""

    id = mf.Integer()
    content_type = mf.String()
    original_name = mf.String()
    sha256 = mf.String()
    uploaded_at = UtcDateTime()


class DisposalOutSchema(ma.Schema):
    """A disposal record."""

    id = mf.Integer()
    asset_id = mf.Integer()
    asset_code = mf.Function(lambda d: d.asset.code)
    way = mf.Function(lambda d: d.way.value)
    way_label = mf.Function(lambda d: d.way.label)
    disposed_on = mf.Date()
    receiver = mf.String()
    recycling_certificate_no = mf.String(allow_none=True)
    deregistration_no = mf.String(allow_none=True)
    note = mf.String()
    documents = mf.List(mf.Nested(DocumentOutSchema))
    created_at = UtcDateTime()


class ReplacementOutSchema(ma.Schema):
    """A replacement record."""

    id = mf.Integer()
    new_asset_id = mf.Integer()
    new_asset_code = mf.Function(lambda r: r.new_asset.code)
    replaces = mf.Function(lambda r: [link.old_asset.code for link in r.links])
    replaced_on = mf.Date()
    investment_yuan = mf.Decimal(as_string=True)
    funding_source = mf.Function(lambda r: r.funding_source.value)
    funding_source_label = mf.Function(lambda r: r.funding_source.label)
    efficiency_level = mf.Function(lambda r: r.efficiency_level.value if r.efficiency_level else None)
    emission_standard = mf.String(allow_none=True)
    new_energy = mf.Boolean()
    note = mf.String()
    created_at = UtcDateTime()


class AssetRecordsOutSchema(ma.Schema):
    """What the registry knows of an asset's leaving service and renewal."""

    disposal = mf.Nested(DisposalOutSchema, allow_none=True)
    replaced_by = mf.Nested(ReplacementOutSchema, allow_none=True)
    replacement = mf.Nested(ReplacementOutSchema, allow_none=True)

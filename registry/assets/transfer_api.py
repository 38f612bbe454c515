"""JSON API side of Excel transfer: GET /api/v1/assets/export returns the filtered 台账 as .xlsx."""
from __future__ import annotations

from flask import request, send_file
from flask_login import current_user
from marshmallow import Schema, fields, validate

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.api_base import Blueprint
from registry.assets import exporter
from registry.assets.filters import parse_filters
from registry.enums import Category

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
blp = Blueprint("asset_transfer_api", __name__, url_prefix="/api/v1/assets",
                description="台账导出（与列表页相同的筛选条件）")


class ExportQuerySchema(Schema):
    """Query parameters of an export: the list filters (see registry.assets.filters)."""

    category = fields.String(required=True, metadata={"description": "设备类别，如 elevator（也接受中文名称）",
                                                      "enum": Category.values()})
    department = fields.String(metadata={"description": "主管部门代码，如 zjj"})
    owner_unit = fields.String(metadata={"description": "产权单位 id 或全称"})
    user_unit = fields.String(metadata={"description": "使用单位 id 或全称"})
    township = fields.String(metadata={"description": "乡镇/街道"})
    status = fields.String(metadata={"description": "使用状态，如 in_use"})
    grade = fields.String(metadata={"description": "状况等级，如 poor"})
    age_min = fields.Integer(validate=validate.Range(0, 200), metadata={"description": "使用年限下限（年）"})
    age_max = fields.Integer(validate=validate.Range(0, 200), metadata={"description": "使用年限上限（年）"})
    year = fields.Integer(validate=validate.Range(1900, 2100), metadata={"description": "投入使用年份"})
    q = fields.String(metadata={"description": "关键词：编码或名称"})


@blp.route("/export")
@roles_required(*BUSINESS_READERS)  # before argument parsing: a refused role gets 403, not 422
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(responses={"200": {"description": "台账 .xlsx 文件",
                            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def export_assets(_args):
    """Export the filtered, scoped asset list as an .xlsx 台账 (audited)."""
    filters = parse_filters(request.args)
    fh, _count = exporter.export_to_tempfile(filters, current_user, via="api")
    return send_file(fh, mimetype=XLSX, as_attachment=True, download_name=exporter.export_filename(filters.category))

"""JSON API side of Excel transfer: GET /api/v1/assets/export returns the filtered 台账 as .xlsx."""
from __future__ import annotations

from flask import request, send_file
from flask_login import current_user
from marshmallow import Schema, fields

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.api_base import Blueprint
from registry.transfer import exports
from registry.assets.filters import parse_filters
from registry.assets.schemas import filter_arg_fields
from registry.enums import Category

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
blp = Blueprint("asset_transfer_api", __name__, url_prefix="/api/v1/assets",
                description="台账导出（与列表页相同的筛选条件）")


class ExportQuerySchema(Schema.from_dict(
        {**filter_arg_fields(exclude=("deleted",)),  # an export never writes deleted assets
         "category": fields.String(required=True, metadata={"description": "设备类别，如 elevator（也接受中文名称）",
                                                             "enum": Category.values()})},
        name="ExportFilterArgs")):
    """Query parameters of an export: the list filters (registry.assets.filters), category required."""


@blp.route("/export")
@roles_required(*BUSINESS_READERS)  # before argument parsing: a refused role gets 403, not 422
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(responses={"200": {"description": "台账 .xlsx 文件",
                            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def export_assets(_args):
    """Export the filtered, scoped asset list as an .xlsx 台账 (audited)."""
    filters = parse_filters(request.args)
    fh, _count = exports.export_to_tempfile(filters, current_user, via="api")
    return send_file(fh, mimetype=XLSX, as_attachment=True, download_name=exports.export_filename(filters.category))

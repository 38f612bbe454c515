"""JSON API for disposal and replacement records under /api/v1 (flask-smorest).

Readers of the asset read; maintainers of the asset's department write. Views parse, call a
service and dump; validation, scoping and the transaction live in registry.disposals.services.
"""
from __future__ import annotations

from flask import request, send_file
from flask.views import MethodView
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.api_base import ERROR, Blueprint, json_body, load_or_fail, stacked
from registry.assets.services import get_readable
from registry.disposals import services
from registry.disposals.schemas import (
    AssetRecordsOutSchema, DisposalInSchema, DisposalOutSchema, ReplacementInSchema, ReplacementOutSchema,
)
from registry.enums import Role
from registry.errors import ValidationFailed

blp = Blueprint("api_disposals", __name__, url_prefix="/api/v1", description="处置与更新记录")


def _body() -> dict:
    """Return the JSON object, or the form fields of a multipart post (which may carry documents)."""
    data = json_body()
    if data is None and request.form:
        data = {k: v for k, v in request.form.items()}
    if not isinstance(data, dict):
        raise ValidationFailed("请求体应为 JSON 对象", {"_schema": ["请求体应为 JSON 对象"]})
    return data


def _checked_body(schema) -> dict:
    """Return the body (see `_body`) once `schema` accepts it; the service parses the raw values."""
    raw = _body()
    load_or_fail(schema(), raw)
    return raw


def _records(schema, out):
    """Declare a maintainer's POST whose body `schema` describes and whose 201 answer `out` dumps."""
    return stacked(roles_required(Role.MAINTAINER),
                   blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": schema}}}),
                   blp.response(201, out))


@blp.route("/assets/<int:asset_id>/records")
class AssetRecords(MethodView):
    """An asset's disposal record and the replacement records it appears in."""

    @roles_required(*BUSINESS_READERS)
    @blp.response(200, AssetRecordsOutSchema)
    @blp.alt_response(404, response=ERROR[404])
    def get(self, asset_id: int):
        """Return the asset's disposal, the replacement that replaced it, and the one it is the new asset of."""
        return services.section_for(get_readable(asset_id, current_user))


@blp.route("/assets/<int:asset_id>/disposal")
class AssetDisposal(MethodView):
    """Record how an asset left service."""

    @_records(DisposalInSchema, DisposalOutSchema)
    @blp.alt_response(409, response=ERROR[409])
    @blp.alt_response(422, response=ERROR[422])
    def post(self, asset_id: int):
        """Record the disposal (maintainers of the asset's department); the asset becomes 已报废 unless 已更新."""
        values = services.parse_disposal(_checked_body(DisposalInSchema))
        return services.record_disposal(asset_id, current_user, values, request.files.getlist("documents")), 201


@blp.route("/replacements")
class Replacements(MethodView):
    """Replacement records."""

    @_records(ReplacementInSchema, ReplacementOutSchema)
    @blp.alt_response(422, response=ERROR[422])
    def post(self):
        """Link a new asset (registered, or registered now from its attributes) to the assets it replaces."""
        raw = _checked_body(ReplacementInSchema)
        if isinstance(raw.get("new_asset"), dict):
            asset_values, values = services.parse_new_replacement(raw, raw["new_asset"])
            return services.register_replacement(current_user, asset_values, values), 201
        return services.record_replacement(current_user, services.parse_replacement(raw)), 201


@blp.route("/disposal-documents/<int:document_id>")
class DisposalDocumentFile(MethodView):
    """One scanned document of a disposal."""

    @roles_required(*BUSINESS_READERS)
    @blp.response(200)
    @blp.alt_response(404, response=ERROR[404])
    def get(self, document_id: int):
        """Download the document (readers of the asset)."""
        path, ctype, name = services.document_file(document_id, current_user)
        return send_file(path, mimetype=ctype, download_name=name, as_attachment=True)

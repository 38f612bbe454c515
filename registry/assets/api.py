"""JSON API for assets and their condition assessments under /api/v1 (flask-smorest).

Views parse, call a service and dump; scoping and transactions live in the services.
Concurrency: PATCH needs the version read earlier, in the body (`version`, stale -> 409)
or in an If-Match header (stale -> 412); without either it is refused with 428.
"""
from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import render_template, request
from flask.views import MethodView
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.api_base import ERROR, Blueprint, json_body, load_or_fail
from registry.assets import assessments, queries, services
from registry.assets.filters import parse_filters
from registry.assets.assessment_schemas import AssessmentInSchema, AssessmentOutSchema
from registry.assets.schemas import (
    AssetCreateSchema, AssetDeleteSchema, AssetListArgs, AssetOutSchema, AssetPageSchema, AssetPatchSchema,
    load_patch,
)
from registry.db_types import as_id
from registry.enums import Role
from registry.errors import Conflict, PreconditionFailed, PreconditionRequired, ValidationFailed

blp = Blueprint("api_assets", __name__, url_prefix="/api/v1", description="设备台账：设备与状况评定")
docs_bp = FlaskBlueprint("apidocs_page", __name__)


# Request examples for the document (the schemas cannot say e.g. which detail fields a category needs).
CREATE_EXAMPLE = {"category": "elevator", "code": "XZ-DT-0000123", "name": "锦绣小区3号楼1单元电梯",
                  "owner_unit": "新郑市锦绣物业服务有限公司", "township": "新建路街道", "commissioned_on": "2015-06-01",
                  "condition_grade": "fair", "detail": {"elevator_type": "traction", "floors": 18, "stops": 18}}
PATCH_EXAMPLE = {"version": 1, "condition_grade": "poor", "detail": {"faults_last_12m": 3}}


def _body() -> dict:
    data = json_body()
    if not isinstance(data, dict):
        raise ValidationFailed("请求体应为 JSON 对象", {"_schema": ["请求体应为 JSON 对象"]})
    return data


def _if_match() -> int | None:
    header = request.headers.get("If-Match")
    if not header:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if as_id(tag) is None:
        raise ValidationFailed("If-Match 应为版本号，如 \"3\"", {"If-Match": ["应为版本号"]})
    return as_id(tag)


def _with_etag(asset):
    return asset, 200, {"ETag": f'"{asset.version}"'}


@blp.route("/assets")
class Assets(MethodView):
    """The asset collection."""

    @roles_required(*BUSINESS_READERS)
    @blp.arguments(AssetListArgs, location="query", as_kwargs=False)
    @blp.response(200, AssetPageSchema)
    def get(self, _args):
        """List assets with the web list's filters; follow `next_cursor` for the next page."""
        filters = parse_filters(request.args)
        try:
            limit = int(request.args.get("limit") or queries.DEFAULT_LIMIT)
        except ValueError:
            raise ValidationFailed("每页条数应为整数", {"limit": ["每页条数：应为 1–200 之间的整数"]}) from None
        page = queries.list_assets(filters, current_user, request.args.get("cursor"), limit, listed=True)
        return {"items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}

    @roles_required(Role.MAINTAINER)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": AssetCreateSchema,
                                                                              "example": CREATE_EXAMPLE}}})
    @blp.response(201, AssetOutSchema)
    def post(self):
        """Register an asset (department maintainers, own categories only)."""
        data = load_or_fail(AssetCreateSchema(), _body())
        asset = services.create_asset(data.pop("category"), data, current_user)
        return asset, 201, {"ETag": f'"{asset.version}"', "Location": f"/api/v1/assets/{asset.id}"}


@blp.route("/assets/<int:asset_id>")
class AssetItem(MethodView):
    """One asset."""

    @roles_required(*BUSINESS_READERS)
    @blp.response(200, AssetOutSchema)
    def get(self, asset_id: int):
        """Return one asset; its ETag is its version."""
        return _with_etag(services.get_readable(asset_id, current_user))

    @roles_required(Role.MAINTAINER)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": AssetPatchSchema,
                                                                              "example": PATCH_EXAMPLE}}},
             parameters=[{"in": "header", "name": "If-Match", "schema": {"type": "string"},
                          "description": "读取时的 ETag（版本号）；过期返回 412"}])
    @blp.response(200, AssetOutSchema)
    @blp.alt_response(409, response=ERROR[409])
    @blp.alt_response(412, response=ERROR[412])
    @blp.alt_response(428, response=ERROR[428])
    def patch(self, asset_id: int):
        """Change some attributes; a stale version gets 409 (body) or 412 (If-Match) and changes nothing."""
        raw = _body()
        header_version = _if_match()
        asset = services.get_editable(asset_id, current_user)
        data = load_patch(asset.category, raw)
        body_version = data.pop("version", None)
        if header_version is None and body_version is None:
            raise PreconditionRequired("请提交读取时的版本号（请求体 version 或 If-Match 头）")
        if header_version is not None and header_version != asset.version:
            raise PreconditionFailed(f"该设备已被他人修改（当前版本 {asset.version}），请重新读取后再提交")
        expected = header_version if header_version is not None else body_version
        try:
            asset, _diff = services.update_asset(asset_id, data, current_user, expected)
        except Conflict as exc:
            if header_version is not None:
                raise PreconditionFailed(exc.message) from None
            raise
        return _with_etag(asset)

    @roles_required(Role.MAINTAINER)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": AssetDeleteSchema}}})
    @blp.response(200, AssetOutSchema)
    @blp.alt_response(409, response=ERROR[409])
    def delete(self, asset_id: int):
        """Soft-delete: the asset is marked deleted with a reason and stays in the registry."""
        data = load_or_fail(AssetDeleteSchema(), _body())
        return _with_etag(services.soft_delete(asset_id, data["reason"], current_user))


@blp.route("/assets/<int:asset_id>/assessments")
class AssetAssessments(MethodView):
    """An asset's condition assessments."""

    @roles_required(*BUSINESS_READERS)
    @blp.response(200, AssessmentOutSchema(many=True))
    def get(self, asset_id: int):
        """List the asset's assessments, latest first."""
        services.get_readable(asset_id, current_user)
        return assessments.assessments_for(asset_id)

    @roles_required(Role.INSPECTOR)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": AssessmentInSchema}}})
    @blp.response(201, AssessmentOutSchema)
    def post(self, asset_id: int):
        """Record an assessment (inspectors); the latest one becomes the asset's grade. Photos: web form only."""
        raw = _body()
        load_or_fail(AssessmentInSchema(), raw)  # reject unknown fields with Chinese messages
        values = assessments.parse_assessment(raw)
        return assessments.record_assessment(asset_id, current_user, **values), 201


@docs_bp.route("/api/v1/docs")
@roles_required()
def docs():
    """Show the browsable API documentation (Swagger UI served locally)."""
    return render_template("api/docs.html")

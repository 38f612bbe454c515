"""JSON API for owner/user units under /api/v1/units."""
from __future__ import annotations

from flask.views import MethodView

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.api_base import ERROR, Blueprint, json_body
from registry.api_base import load_or_fail
from registry.enums import Role
from registry.errors import NotFound
from registry.orgs import services
from registry.orgs.schemas import UnitInSchema, UnitListArgs, UnitOutSchema

blp = Blueprint("api_units", __name__, url_prefix="/api/v1", description="产权/使用单位")


@blp.route("/units")
class Units(MethodView):
    """The unit collection."""

    @roles_required(*BUSINESS_READERS)
    @blp.arguments(UnitListArgs, location="query")
    @blp.response(200, UnitOutSchema(many=True))
    def get(self, args):
        """Search units by name; page with `after` = the last id received (50 per page)."""
        return services.search_units(args.get("q"), args.get("township"), args.get("after") or 0)

    @roles_required(Role.MAINTAINER)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": UnitInSchema}}})
    @blp.response(201, UnitOutSchema)
    @blp.alt_response(409, response=ERROR[409])
    def post(self):
        """Register a unit (name unique within its township)."""
        data = load_or_fail(UnitInSchema(), json_body() or {})
        return services.create_unit(**data), 201


@blp.route("/units/<int:unit_id>")
class UnitItem(MethodView):
    """One unit."""

    @roles_required(*BUSINESS_READERS)
    @blp.response(200, UnitOutSchema)
    def get(self, unit_id: int):
        """Return one unit."""
        unit = services.get_unit(unit_id)
        if unit is None:
            raise NotFound("单位不存在")
        return unit

"""JSON API: GET /api/v1/rules, /api/v1/rules/<code>, /api/v1/findings (scoped to the caller's assets)."""
from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.api_base import Blueprint
from registry.assets.scoping import asset_scope
from registry.enums import Category
from registry.rules.schemas import FindingsOut, FindingsQuery, RuleDetailOut, RuleOut
from registry.rules.services import findings_page
from registry.rules.versions import current_rule, current_rules, rule_versions

blp = Blueprint("rules_api", __name__, url_prefix="/api/v1", description="更新规则与评估结果")


@blp.route("/rules")
class Rules(MethodView):
    @roles_required(*BUSINESS_READERS)
    @blp.response(200, RuleOut(many=True))
    def get(self):
        """List the current version of every rule."""
        return current_rules()


@blp.route("/rules/<code>")
class RuleItem(MethodView):
    @roles_required(*BUSINESS_READERS)
    @blp.response(200, RuleDetailOut)
    def get(self, code):
        """Show one rule's current version and all its versions."""
        rule = current_rule(code)
        rule.versions = rule_versions(code)
        return rule


@blp.route("/findings")
class Findings(MethodView):
    @roles_required(*BUSINESS_READERS)
    @blp.arguments(FindingsQuery, location="query")
    @blp.response(200, FindingsOut)
    def get(self, args):
        """Return the findings as of a date: the saved evaluation's, or computed live (and not saved) if none exists."""
        return findings_page(asset_scope(current_user), args["as_of"],
                             Category(args["category"]) if args.get("category") else None,
                             args.get("result"), args["limit"], args["offset"])


__all__ = ["blp"]

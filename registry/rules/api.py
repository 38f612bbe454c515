"""JSON API: GET /api/v1/rules, /api/v1/rules/<code>, /api/v1/findings (scoped to the caller's assets)."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.scoping import asset_scope
from registry.api_base import Blueprint
from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db
from registry.rules.models import Evaluation, Rule
from registry.rules.schemas import FindingsOut, FindingsQuery, RuleDetailOut, RuleOut
from registry.rules.versions import current_rule, rule_versions

blp = Blueprint("rules_api", __name__, url_prefix="/api/v1", description="更新规则与评估结果")


@blp.route("/rules")
class Rules(MethodView):
    @roles_required(*BUSINESS_READERS)
    @blp.response(200, RuleOut(many=True))
    def get(self):
        """List the current version of every rule."""
        return db.session.scalars(sa.select(Rule).where(Rule.is_current.is_(True)).order_by(Rule.code)).all()


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
        from registry.rules.services import active_rules, findings_source, latest_evaluation, result_from_row
        as_of = args["as_of"]
        category = Category(args["category"]) if args.get("category") else None
        evaluation = latest_evaluation(category, as_of)
        if evaluation is not None:
            rule_versions = evaluation.rule_versions
        else:  # a read never saves an evaluation (see findings_source)
            rule_versions = {r.code: r.version for r in active_rules(as_of, category)}
        found = findings_source(as_of, category, evaluation.id if evaluation else None)
        query = (sa.select(found, Asset.code.label("asset_code")).join(Asset, Asset.id == found.c.asset_id)
                 .where(asset_scope(current_user)))
        if category:
            query = query.where(Asset.category == category)
        if args.get("result"):
            query = query.where(found.c.result == args["result"])
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        rows = db.session.execute(query.order_by(found.c.asset_id, found.c.rule_code)
                                  .limit(args["limit"]).offset(args["offset"])).mappings()
        findings = []
        for row in rows:
            f = result_from_row(row)
            findings.append({
                "asset_id": f.asset_id, "asset_code": row["asset_code"], "rule_code": f.rule_code,
                "rule_version": f.rule_version, "outcome": f.outcome.value, "outcome_label": f.outcome.label,
                "result": f.result, "explanation": f.explanation, "deadline": f.deadline, "overdue": f.overdue,
                "as_of": f.as_of, "figures": f.figures})
        return {"evaluation_id": evaluation.id if evaluation else None, "as_of": as_of,
                "rule_versions": rule_versions, "total": total, "findings": findings}


__all__ = ["blp", "Evaluation"]

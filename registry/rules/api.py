"""JSON API: GET /api/v1/rules, /api/v1/rules/<code>, /api/v1/findings (scoped to the caller's assets)."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.scoping import asset_scope
from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db
from registry.rules.models import Evaluation, Finding, Rule
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
        """Return the findings as of a date, from a saved evaluation (run one if none exists for that date)."""
        from registry.rules.services import evaluate_inventory, latest_evaluation
        as_of, category = args["as_of"], args.get("category")
        evaluation = latest_evaluation(Category(category) if category else None, as_of)
        if evaluation is None:
            evaluation = evaluate_inventory(as_of, user_id=current_user.id)
        query = (sa.select(Finding, Asset.code).join(Asset, Asset.id == Finding.asset_id)
                 .where(Finding.evaluation_id == evaluation.id, asset_scope(current_user)))
        if category:
            query = query.where(Asset.category == Category(category))
        if args.get("result"):
            query = query.where(Finding.result == args["result"])
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        rows = db.session.execute(query.order_by(Finding.asset_id, Finding.rule_code)
                                  .limit(args["limit"]).offset(args["offset"]))
        findings = [{
            "asset_id": f.asset_id, "asset_code": code, "rule_code": f.rule_code, "rule_version": f.rule_version,
            "outcome": f.outcome.value, "outcome_label": f.outcome.label, "result": f.result,
            "explanation": f.explanation, "deadline": f.deadline, "overdue": f.overdue, "as_of": f.as_of,
            "figures": f.figures or {}} for f, code in rows]
        return {"evaluation_id": evaluation.id, "as_of": evaluation.as_of, "rule_versions": evaluation.rule_versions,
                "total": total, "findings": findings}


__all__ = ["blp", "Evaluation"]

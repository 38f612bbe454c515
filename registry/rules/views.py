"""Rule pages: list with citations, detail with versions, edit with impact preview, asset findings."""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.accounts.scoping import asset_scope, can_read_asset
from registry.assets.models import Asset
from registry.enums import Role, RuleOutcome
from registry.errors import NotFound, ValidationFailed
from registry.extensions import db
from registry.rules.dates import AS_OF_RANGE
from registry.rules.forms import changes_from_form
from registry.rules.kinds import KINDS
from registry.rules.models import Rule
from registry.rules.services import findings_for_asset, latest_findings_for_asset
from registry.rules.versions import current_rule, rule_versions, save_new_version

bp = Blueprint("rules", __name__, url_prefix="/rules")

# The rule book cuts across departments, so only the city task force edits it (see README).
RULE_EDITORS = (Role.TASKFORCE,)


def _as_of() -> date:
    """Return the requested evaluation date, or today when it is missing, malformed or outside AS_OF_RANGE."""
    try:
        as_of = date.fromisoformat(request.args.get("as_of") or request.form.get("as_of") or "")
    except ValueError:
        return date.today()
    return as_of if AS_OF_RANGE[0] <= as_of <= AS_OF_RANGE[1] else date.today()


@bp.route("/")
@roles_required(*BUSINESS_READERS)
def index():
    """List the current version of every rule, with its citation and state."""
    rules = db.session.scalars(sa.select(Rule).where(Rule.is_current.is_(True))
                               .order_by(Rule.pack.desc(), Rule.code)).all()
    return render_template("rules/index.html", rules=rules, kinds=KINDS,
                           can_edit=current_user.role in RULE_EDITORS)


@bp.route("/<code>")
@roles_required(*BUSINESS_READERS)
def detail(code: str):
    """Show one rule: parameters, reading taken, deadline and every version."""
    rule = current_rule(code)
    return render_template("rules/detail.html", rule=rule, versions=rule_versions(code), kinds=KINDS,
                           params_json=json.dumps(rule.params, ensure_ascii=False, indent=2),
                           can_edit=current_user.role in RULE_EDITORS)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@roles_required(*RULE_EDITORS)
def edit(code: str):
    """Edit a rule: preview the impact, then save as a new version."""
    rule = current_rule(code)
    as_of = _as_of()
    impact, errors, form = None, {}, None
    if request.method == "POST":
        form = request.form
        try:
            changes = changes_from_form(request.form)
            if request.form.get("action") == "save":
                new = save_new_version(code, changes, current_user.id)
                flash(f"已保存 {code} 第 {new.version} 版；此前的评估结果仍保留其原版本。", "success")
                return redirect(url_for("rules.detail", code=code))
            from registry.rules.impact import preview
            impact = preview(code, changes, as_of, asset_scope(current_user))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
            flash(exc.message, "error")
    return render_template("rules/edit.html", rule=rule, form=form, impact=impact, errors=errors, as_of=as_of,
                           outcomes=list(RuleOutcome),
                           params_json=(form.get("params") if form else
                                        json.dumps(rule.params, ensure_ascii=False, indent=2))), \
        (422 if errors else 200)


@bp.route("/asset/<int:asset_id>")
@roles_required(*BUSINESS_READERS)
def asset_findings(asset_id: int):
    """Show one asset's findings: the active rules applied today, and the last saved evaluation."""
    asset = db.session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None or not can_read_asset(current_user, asset):
        raise NotFound("设备不存在或无权查看")
    as_of = _as_of()
    return render_template("rules/asset.html", asset=asset, as_of=as_of,
                           findings=findings_for_asset(asset, as_of), saved=latest_findings_for_asset(asset.id))

"""Rule pages: list with citations, detail with versions, edit with impact preview, asset findings."""
from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry import clock
from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.assets.scoping import asset_scope
from registry.assets.services import get_readable
from registry.enums import Role, RuleOutcome
from registry.errors import NotFound, ValidationFailed
from registry.pages import done
from registry.rules.dates import AS_OF_RANGE
from registry.rules.forms import changes_from_form
from registry.rules.kinds import KINDS
from registry.rules.services import findings_for_asset, latest_findings_for_asset
from registry.rules.impact import Impact, in_background, preview
from registry.rules.jobs import IMPACT_TASK, impact_payload
from registry.rules.versions import current_rule, current_rules, proposed, rule_versions, save_new_version
from registry.tasks import services as tasks

bp = Blueprint("rules", __name__, url_prefix="/rules")

# The rule book cuts across departments, so only the city task force edits it (see README).
RULE_EDITORS = (Role.TASKFORCE,)


def _as_of() -> date:
    """Return the requested evaluation date, or today when it is missing, malformed or outside AS_OF_RANGE."""
    try:
        as_of = date.fromisoformat(request.args.get("as_of") or request.form.get("as_of") or "")
    except ValueError:
        return clock.today()
    return as_of if AS_OF_RANGE[0] <= as_of <= AS_OF_RANGE[1] else clock.today()


@bp.route("/")
@roles_required(*BUSINESS_READERS)
def index():
    """List the current version of every rule, with its citation and state."""
    return render_template("rules/index.html", rules=current_rules(), kinds=KINDS,
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
    """Edit a rule: preview the impact (in the worker when the inventory is large), then save as a new version."""
    rule = current_rule(code)
    as_of = _as_of()
    impact, errors, form = None, {}, None
    if request.method == "POST":
        form = request.form
        try:
            changes = changes_from_form(request.form)
            if request.form.get("action") == "save":
                new = save_new_version(code, changes, current_user.id)
                return done(f"已保存 {code} 第 {new.version} 版；此前的评估结果仍保留其原版本。", "rules.detail", code=code)
            scope = asset_scope(current_user)
            if in_background(code, scope):
                proposed(rule, changes)  # bad input is refused here, on the form, not by a failed task
                task = tasks.submit(IMPACT_TASK, current_user, impact_payload(code, request.form, as_of),
                                    f"规则 {code} 修改影响预览（评估日期 {as_of.isoformat()}）")
                return redirect(url_for("tasks.show", task_id=task.id))
            impact = preview(code, changes, as_of, scope)
        except ValidationFailed as exc:
            errors = exc.errors
            flash(exc.message, "error")
    return _edit_page(rule, form, impact, errors, as_of)


def _edit_page(rule, form, impact, errors, as_of, status=None):
    """Render the edit form (as submitted, or the rule's values) with the impact preview under it."""
    return render_template("rules/edit.html", rule=rule, kinds=KINDS, form=form, impact=impact, errors=errors,
                           as_of=as_of, outcomes=list(RuleOutcome),
                           params_json=(form.get("params") if form else
                                        json.dumps(rule.params, ensure_ascii=False, indent=2))), \
        status or (422 if errors else 200)


@bp.route("/<code>/impact/<int:task_id>")
@roles_required(*RULE_EDITORS)
def impact_result(code: str, task_id: int):
    """Show one's own background impact preview: the form as submitted, with the preview under it."""
    task = tasks.task_for(current_user, task_id)
    stored = (task.result or {}).get("impact")
    if task.kind != IMPACT_TASK or stored is None or (task.payload or {}).get("code") != code:
        raise NotFound("这项任务没有规则影响预览结果")
    impact = Impact.from_json(stored)
    rule = current_rule(code)
    if rule.version != impact.base_version:
        flash(f"此预览对比的是第 {impact.base_version} 版，规则 {code} 现已是第 {rule.version} 版，请重新预览后再保存。",
              "error")
    return _edit_page(rule, task.payload.get("form") or {}, impact, {}, impact.as_of)


@bp.route("/asset/<int:asset_id>")
@roles_required(*BUSINESS_READERS)
def asset_findings(asset_id: int):
    """Show one asset's findings: the active rules applied today, and the last saved evaluation."""
    asset = get_readable(asset_id, current_user)
    if asset.deleted_at is not None:
        raise NotFound("设备不存在或无权查看")
    as_of = _as_of()
    return render_template("rules/asset.html", asset=asset, as_of=as_of,
                           findings=findings_for_asset(asset, as_of), saved=latest_findings_for_asset(asset.id))

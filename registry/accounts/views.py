"""Login, logout, and each user's own password and API tokens."""
from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from registry.accounts import services, tokens
from registry.accounts.access import ALL_ROLES, BUSINESS_READERS, roles_required
from registry.accounts.forms import ChangePasswordForm, EmptyForm, LoginForm, TokenForm
from registry.audit import services as audit
from registry.errors import DomainError, ValidationFailed
from registry.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("main.home")


def reject_unexpected_fields(form) -> None:
    """Refuse (and audit) a self-service form carrying fields it does not have, e.g. a forged `role`."""
    extra = sorted(set(request.form) - set(form._fields) - {"csrf_token"})
    if extra:
        audit.record("privilege.escalation", outcome="denied", object_type="user", object_id=current_user.id,
                     details={"path": request.path, "unexpected_fields": extra[:20]})
        db.session.commit()
        raise DomainError(f"表单包含不允许提交的字段：{'、'.join(f[:32] for f in extra[:5])}")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the user in."""
    form = LoginForm()
    if request.args.get("expired"):
        flash("长时间未操作，已自动退出，请重新登录", "warning")
    if form.validate_on_submit():
        user, error = services.authenticate(form.username.data, form.password.data, request.remote_addr)
        if user is None:
            flash(error, "error")
        else:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    from registry.accounts.policy import current_policy
    return render_template("accounts/login.html", form=form, policy=current_policy())


@bp.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout():
    """Log out and invalidate every cookie issued for this session."""
    user = current_user._get_current_object()
    user.session_generation += 1
    audit.record("logout", object_type="user", object_id=user.id, user=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("已安全退出", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def change_password():
    """Let a user change their own password (forced at first login and when it is too old)."""
    form = ChangePasswordForm()
    reason = services.password_change_reason(current_user)
    errors = None
    if request.method == "POST":
        reject_unexpected_fields(form)
        if form.validate_on_submit():
            user = current_user._get_current_object()
            try:
                services.change_password(user, form.current.data, form.new.data, form.confirm.data)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                login_user(user)  # re-issue this session with the new generation; the others are ended
                session["last_seen"] = time.time()
                flash("密码已修改", "success")
                return redirect(url_for("main.home"))
    status = 422 if errors or form.errors else 200
    return render_template("accounts/change_password.html", form=form, reason=reason, errors=errors), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles_required(*BUSINESS_READERS)
def api_tokens():
    """List the user's API tokens and create a new one (shown once)."""
    form = TokenForm()
    created = None
    errors = None
    if request.method == "POST":
        reject_unexpected_fields(form)
        if form.validate_on_submit():
            try:
                token, plain = tokens.create_token(current_user, form.name.data)
                created = {"name": token.name, "token": plain}
                form = TokenForm(formdata=None)
            except ValidationFailed as exc:
                errors = exc.errors
    status = 422 if errors or form.errors else 200
    return render_template("accounts/tokens.html", form=form, created=created, errors=errors,
                           tokens=tokens.user_tokens(current_user), revoke_form=EmptyForm()), status


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(*BUSINESS_READERS)
def revoke_token(token_id: int):
    """Revoke one of the user's tokens."""
    token = tokens.revoke_token(current_user, token_id)
    flash(f"令牌「{token.name}」已撤销", "success")
    return redirect(url_for("accounts.api_tokens"))

"""Login, logout, and each user's own password and API tokens."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.urls import iri_to_uri

from registry.accounts import services, tokens
from registry.accounts.access import ALL_ROLES, BUSINESS_READERS, roles_required
from registry.accounts.forms import ChangePasswordForm, EmptyForm, LoginForm, TokenForm
from registry.accounts.policy import current_policy
from registry.audit import services as audit
from registry.errors import DomainError, ValidationFailed
from registry.pages import done

bp = Blueprint("accounts", __name__)


# What a browser removes from a URL before parsing it (WHATWG URL standard): tab, CR and LF anywhere,
# and C0 controls and spaces at either end. A check that skips this step can be walked around:
# "/\t/evil.example" is "//evil.example" to the browser.
_URL_TAB_OR_NEWLINE = re.compile(r"[\t\r\n]")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))


def safe_next(target: str | None) -> str:
    """Return `target` normalised as a browser would, if it is a path on this site; else the home page."""
    home = url_for("home.index")
    if not target:
        return home
    cleaned = _URL_TAB_OR_NEWLINE.sub("", target).strip(_C0_AND_SPACE).replace("\\", "/")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in cleaned):
        return home
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not cleaned.startswith("/") or cleaned.startswith("//"):
        return home
    return iri_to_uri(cleaned)


def reject_unexpected_fields(form) -> None:
    """Refuse (and audit) a self-service form carrying fields it does not have, e.g. a forged `role`."""
    extra = sorted(set(request.form) - set(form._fields) - {"csrf_token"})
    if extra:
        audit.record_refusal("privilege.escalation", object_type="user", object_id=current_user.id,
                             details={"path": request.path, "unexpected_fields": extra[:20]})
        raise DomainError(f"表单包含不允许提交的字段：{'、'.join(f[:32] for f in extra[:5])}")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the user in."""
    form = LoginForm()
    if request.args.get("expired"):
        flash("长时间未操作，已自动退出，请重新登录", "warning")
    status = 200
    if form.validate_on_submit():
        slot = services.admit_login(request.remote_addr)  # 429 past the per-address limit
        user, error = services.authenticate(form.username.data, form.password.data, request.remote_addr)
        if user is None:
            flash(error, "error")
            status = 401
        else:
            services.release_login(slot)
            session.clear()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form, policy=current_policy()), status


@bp.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout():
    """Log out and invalidate every cookie issued for this session."""
    services.end_session(current_user._get_current_object())
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
                return done("密码已修改", "home.index")
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
    return done(f"令牌「{token.name}」已撤销", "accounts.api_tokens")

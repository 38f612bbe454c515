"""Login and logout pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from registry.accounts import services
from registry.accounts.access import roles_required
from registry.accounts.forms import LoginForm
from registry.audit import services as audit
from registry.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.home")


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
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
@roles_required()
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

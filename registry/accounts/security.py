"""Login required everywhere, idle logout, and security headers."""
from __future__ import annotations

import time

from flask import Flask, redirect, request, session, url_for
from flask_login import current_user, logout_user

from registry.extensions import db, login_manager

# Endpoints reachable without logging in. Everything else requires a session.
PUBLIC_ENDPOINTS = {"main.health", "accounts.login", "static", "verify.verify_notice"}
PUBLIC_PREFIXES: tuple[str, ...] = ()

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def is_public(endpoint: str | None) -> bool:
    """Tell whether an endpoint may be reached without logging in."""
    if not endpoint:
        return False
    return endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES)


@login_manager.user_loader
def _load_user(session_id: str):
    from registry.accounts.models import User
    try:
        user_id, generation = (int(p) for p in session_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_generation != generation or not user.active:
        return None
    return user


def init_security(app: Flask) -> None:
    """Install the login gate, idle timeout and response headers on `app`."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"

    @app.before_request
    def _require_login():
        if is_public(request.endpoint):
            return None
        if request.endpoint is None:
            return None  # let the 404/405 handlers answer
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                from registry.errors import _respond
                return _respond(401, "请先登录或提供有效的 API 令牌")
            return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))
        idle_limit = app.config["SESSION_IDLE_MINUTES"] * 60
        now = time.time()
        last_seen = session.get("last_seen")
        if last_seen is not None and now - last_seen > idle_limit:
            from registry.audit import services as audit
            audit.record("logout", details={"reason": "idle timeout"})
            db.session.commit()
            logout_user()
            session.clear()
            return redirect(url_for("accounts.login", expired=1))
        session["last_seen"] = now
        return None

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user and getattr(current_user, "is_authenticated", False):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

"""Login required everywhere, API tokens, forced password change, idle logout, security headers."""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from registry import throttle
from registry.accounts import policy
from registry.accounts.access import allowed_roles_for, check_role, roles_required
from registry.accounts.models import User, identity_options
from registry.accounts.services import password_change_reason
from registry.accounts.tokens import user_for_token
from registry.audit import services as audit
from registry.errors import TooManyRequests, _respond
from registry.extensions import db, login_manager

# Endpoints reachable without logging in. Everything else requires a session.
PUBLIC_ENDPOINTS = {"home.health", "accounts.login", "static", "verify.verify_notice"}
PUBLIC_PREFIXES: tuple[str, ...] = ()
# Reachable while a password change is pending (everything else redirects to the change page).
PASSWORD_CHANGE_ENDPOINTS = {"accounts.change_password", "accounts.logout", "static"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def is_public(endpoint: str | None) -> bool:
    """Tell whether an endpoint may be reached without logging in."""
    if not endpoint:
        return False
    return endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES)


@login_manager.user_loader
def _load_user(session_id: str):
    try:
        user_id, generation = (int(p) for p in session_id.split(":"))
    except ValueError:
        return None
    row = db.session.execute(sa.select(User, *policy.stored_columns()).where(User.id == user_id)
                             .options(*identity_options())).unique().first()
    if row is None:
        return None
    user = row[0]
    policy.keep_for_request(row[1:])
    if user.session_generation != generation or not user.active:
        # A cookie from before a logout, password change or deactivation: refuse it, and say so.
        from registry.audit import services as audit
        audit.record_refusal("session.rejected", object_type="user", object_id=user.id, user=user,
                             details={"reason": "inactive account" if not user.active else "session ended (logout)",
                                      "path": request.path})
        # Forget the dead identity, so the next request does not log the same refusal again.
        session.pop("_user_id", None)
        session.pop("_fresh", None)
        return None
    return user


@login_manager.request_loader
def _load_user_from_token(req):
    """Authenticate `Authorization: Bearer <token>` on /api/ paths only."""
    if not req.path.startswith("/api/"):
        return None
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(token.strip())


def _token_gate():
    """Resolve a bearer token before CSRF runs: a valid token is the caller, an invalid one is refused.

    Past TOKEN_FAILURE_LIMIT failures from one address in a window, every bearer request from it gets
    429 without the token being looked at. Failures are audited as one record per address and window
    (the first, naming the later ones as counted only) plus one when the limit is reached.
    """
    if not request.path.startswith("/api/") or "Authorization" not in request.headers:
        return None
    window = throttle.window("token", request.remote_addr) if throttle.enabled() else None
    if window is not None and throttle.hits(window) >= window.limit:
        db.session.commit()
        raise TooManyRequests(f"来自该地址的 API 令牌认证失败次数过多，请 {window.minutes_left()} 分钟后再试",
                              window.retry_after())
    user = _load_user_from_token(request)
    if user is None:
        from registry.audit import services as audit
        details = {"method": "api token", "path": request.path[:200]}
        if window is None:
            audit.record("login", outcome="failure", details=details)
        else:
            count, window = throttle.hit("token", request.remote_addr)
            if count == 1:
                audit.record("login", outcome="failure", details={
                    **details, "aggregated": f"同一地址本时段（{window.seconds // 60} 分钟）内之后的失败只计数，"
                                             f"达到 {window.limit} 次时另记一条 token.throttled"})
            elif count == window.limit:
                audit.record("token.throttled", outcome="denied", details={
                    "address": window.address, "failures": count, "window_seconds": window.seconds,
                    "last_path": details["path"]})
        db.session.commit()
        return _respond(401, "API 令牌无效、已撤销或账户已停用")
    # The token, not any cookie sent along, decides who calls; browsers never add this header themselves,
    # so such a request cannot be forged cross-site and needs no CSRF token.
    login_manager._update_request_context_with_user(user)
    g.token_authenticated = True
    return None


def _password_gate():
    if request.endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    reason = password_change_reason(current_user)
    if reason is None:
        return None
    if request.path.startswith("/api/"):
        from registry.errors import _respond
        return _respond(403, reason + "（请先在网页上修改密码）")
    return redirect(url_for("accounts.change_password"))


def _idle_gate():
    idle_limit = policy.get("SESSION_IDLE_MINUTES") * 60
    now = time.time()
    last_seen = session.get("last_seen")
    if last_seen is not None and now - last_seen > idle_limit:
        from registry.audit import services as audit
        user = current_user._get_current_object()
        # No generation bump: that would also end the user's live sessions on other machines.
        audit.record("logout", object_type="user", object_id=user.id, user=user, details={"reason": "idle timeout"})
        db.session.commit()
        logout_user()
        session.clear()
        if request.path.startswith("/api/"):
            from registry.errors import _respond
            return _respond(401, "长时间未操作，已自动退出，请重新登录")
        return redirect(url_for("accounts.login", expired=1))
    session["last_seen"] = now
    return None


def init_security(app: Flask) -> None:
    """Install the login gate, token auth, idle timeout, error audit and response headers on `app`."""

    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    # The OpenAPI document describes the API to any logged-in role; it is not business data.
    if "api-docs.openapi_json" in app.view_functions:
        app.view_functions["api-docs.openapi_json"] = roles_required()(app.view_functions["api-docs.openapi_json"])
    # Token authentication must run before CSRFProtect's own before_request hook.
    app.before_request_funcs.setdefault(None, []).insert(0, _token_gate)

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
        if g.get("token_authenticated"):
            return _password_gate() or _role_gate(app)
        return _idle_gate() or _password_gate() or _role_gate(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Every dynamic answer is personal or carries a CSRF token; asking current_user here instead
        # would reload the user after a failed request, when the database may be the thing that failed.
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    _register_refusal_handlers(app)


def _role_gate(app: Flask):
    """Refuse a role the view does not declare, before the view parses any argument."""
    declared = allowed_roles_for(app.view_functions.get(request.endpoint), request.method)
    if declared is not None:
        check_role(declared)
    return None


def _audit_refusal(action: str, details: dict) -> None:
    audit.record_refusal(action, details={"path": request.path, "method": request.method, **details})


def _register_refusal_handlers(app: Flask) -> None:

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        _audit_refusal("csrf.rejected", {"reason": err.description})
        return _respond(400, "表单已过期或缺少安全令牌（CSRF），请刷新页面后重试")

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_err):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        _audit_refusal("request.too_large", {"content_length": request.content_length, "limit": limit})
        return _respond(413, f"提交的内容过大，上限为 {limit / 1024 / 1024:.1f} MB")

"""Domain errors and the one place they become HTTP answers."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base of the registry's own errors; `status` is the HTTP answer."""

    status = 400
    title = "请求有误"

    def __init__(self, message: str, errors: dict | list | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(DomainError):
    """Input did not validate; `errors` maps field (or row) to Chinese messages."""

    status = 422
    title = "数据校验未通过"


class NotFound(DomainError):
    status = 404
    title = "未找到"


class PermissionDenied(DomainError):
    status = 403
    title = "无权访问"


class Conflict(DomainError):
    """A stale version or a state that forbids the action."""

    status = 409
    title = "数据冲突"


HTTP_TITLES = {
    400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的请求方法",
    409: "数据冲突", 412: "数据已被他人修改", 413: "上传内容过大", 415: "不支持的文件类型",
    422: "数据校验未通过", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误", 503: "服务暂时不可用",
}
# The write may or may not have been committed when the connection broke: the user must look before retrying.
DATABASE_UNAVAILABLE = "数据库暂时不可用（可能正在重启），请稍后刷新页面，核对本次操作是否已保存后再重试"


def wants_json() -> bool:
    """Tell whether the current request should get a JSON error."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(status: int, message: str, errors=None):
    title = HTTP_TITLES.get(status, "错误")
    if wants_json():
        body = {"code": status, "status": title, "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    return render_template("error.html", status=status, title=title, message=message, errors=errors), status


def register_error_handlers(app: Flask) -> None:
    """Map domain errors and HTTP exceptions to Chinese HTML or JSON answers."""

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        return _respond(err.status, err.message, err.errors)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        errors = None
        data = getattr(err, "data", None)  # flask-smorest / webargs validation details
        if isinstance(data, dict) and "messages" in data:
            errors = data["messages"]
        message = HTTP_TITLES.get(err.code or 500, err.name)
        if err.code == 400 and getattr(err, "description", None) and "CSRF" in str(err.description):
            message = "表单已过期或缺少安全令牌（CSRF），请刷新页面后重试"
        return _respond(err.code or 500, message, errors)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _database_unavailable(err: sa.exc.DBAPIError):
        # Lost or refused connections (PostgreSQL restarting, SQLite busy) are transient: 503, not a crash.
        from registry.extensions import db
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            pass  # the connection is already gone; the pool discards it
        if not _transient(err, db):
            return _unexpected(err)  # e.g. a statement the driver refuses: a bug, not an outage
        app.logger.warning("database unavailable: %s", str(err).splitlines()[0])
        if wants_json():
            response = app.make_response(_respond(503, DATABASE_UNAVAILABLE))
        else:
            # A page without the signed-in user's menu: loading the user needs the database we just lost.
            response = app.make_response((render_template("unavailable.html", message=DATABASE_UNAVAILABLE), 503))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unhandled error")
        return _respond(500, "服务器内部错误，请联系管理员")


def _transient(err: sa.exc.DBAPIError, db) -> bool:
    """Tell a lost/busy database (retry later) from an operational error that will happen again."""
    if err.connection_invalidated or "database is locked" in str(err):
        return True
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return False
    except sa.exc.SQLAlchemyError:
        return True

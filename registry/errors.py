"""Domain errors and the one place they become HTTP answers."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base of the registry's own errors; `status` is the HTTP answer, titled by `HTTP_TITLES` (the one place)."""

    status = 400

    def __init__(self, message: str, errors: dict | list | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(DomainError):
    """Input did not validate; `errors` maps field (or row) to Chinese messages."""

    status = 422


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class TooManyRequests(DomainError):
    """A per-address limit was reached; `retry_after` seconds until the window ends."""

    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(DomainError):
    """A stale version or a state that forbids the action."""

    status = 409


class PreconditionFailed(DomainError):
    """An If-Match header named a version that is no longer current."""

    status = 412


class PreconditionRequired(DomainError):
    """A change was sent without the version it was based on."""

    status = 428


# Field names that error dicts use as keys, in the words of the page (the one place keys become labels).
FIELD_LABELS = {
    "_schema": "表单", "json": "请求体", "form": "表单", "query": "查询参数", "file": "文件", "photo": "照片",
    "username": "用户名", "display_name": "姓名", "password": "密码", "new_password": "新密码",
    "current_password": "当前密码", "confirm": "确认密码", "role": "角色", "department": "部门",
    "reason": "原因", "name": "名称", "token": "令牌", "category": "类别", "asset": "设备", "ids": "设备",
    "user_unit": "使用单位", "owner_unit": "产权单位", "township": "乡镇/街道", "status": "状态",
    "replacement_code": "替换设备编码", "kind": "类型", "comment": "意见", "snapshot_id": "清单快照",
    "series": "统计项", "quotas": "配额", "budgets": "预算", "outcome": "结论", "limit": "条数", "enabled": "启用",
    "cursor": "分页", "as_of": "评估日期", "action": "操作", "age_max": "使用年限上限", "age_min": "使用年限下限",
    "assessed_on": "评定日期", "assessor": "评定人", "citation": "依据", "code": "编码",
    "commissioned_on": "投入使用日期", "registered_on": "登记日期", "deadline_year": "期限年份",
    "findings": "检查发现", "grade": "状况等级", "measure": "目标类型", "plate_number": "号牌号码",
    "registration_code": "注册代码", "sort": "排序", "title": "标题", "unit_cost": "单价", "value": "数值",
    "year": "年份", "year_from": "起始年份", "year_to": "截止年份", "deadline_policy": "整改期限规则",
    "effective_to": "失效日期", "effective_from": "生效日期", "params": "参数", "finding": "规则结论",
    "missing": "缺少数据", "stale": "状况等级已过期", "served_on": "送达日期", "recipient": "签收人",
    "issued_on": "出具日期", "note": "备注", "reference": "凭证编号", "version": "版本", "mapping": "列映射",
    "sheet": "工作表", "template": "模板", "body": "正文", "seal": "印章", "expires_days": "有效天数",
}


def error_rows(errors) -> list[tuple[str | None, str]]:
    """Return an error dict (or list) as (Chinese field label or None, Chinese message) rows for a page.

    A Chinese key is already a label; a known English key becomes its label; an unknown one is
    dropped from view (field messages already name their field, e.g. 「电梯类型：…」).
    """
    if not errors:
        return []
    errors = in_chinese(errors)
    if not isinstance(errors, dict):
        items = [(None, e) for e in (errors if isinstance(errors, (list, tuple)) else [errors])]
    else:
        items = list(errors.items())
    rows = []
    for key, messages in items:
        text = messages if isinstance(messages, str) else "；".join(str(m) for m in _flatten(messages))
        if isinstance(key, int):
            label = f"第 {key} 行"
        elif key is None or not str(key).isascii():
            label = key
        else:
            label = FIELD_LABELS.get(str(key))
            if label and text.startswith(label):
                label = None  # the message names its field already
        rows.append((label, text))
    return rows


def _flatten(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flatten(value)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            yield from _flatten(value)
    else:
        yield messages


# 「RuntimeError: 数据源故障」: the class name is for developers; the message after it is Chinese.
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Failure)):\s*")


def without_exception_name(text: str | None) -> str:
    """Return an error text without the leading exception class name a developer would read."""
    return _EXCEPTION_PREFIX.sub("", text or "")


HTTP_TITLES = {
    400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的请求方法",
    409: "数据冲突", 412: "数据已被他人修改", 413: "上传内容过大", 415: "不支持的文件类型",
    422: "数据校验未通过", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误", 503: "服务暂时不可用",
}
# The write may or may not have been committed when the connection broke: the user must look before retrying.
DATABASE_UNAVAILABLE = "数据库暂时不可用（可能正在重启），请稍后刷新页面，核对本次操作是否已保存后再重试"


# marshmallow's and webargs' built-in English messages, as the Chinese the registry answers with.
_BOUND = r"(?:greater|less) than(?: or equal to)?"
MESSAGES_ZH = tuple((re.compile(pattern), text) for pattern, text in (
    (r"Missing data for required field\.", "不能为空"),
    (r"Field may not be null\.", "不能为空"),
    (r"Unknown field\.", "未知字段"),
    (r"Invalid input type\.", "类型有误：应为 JSON 对象"),
    (r"Invalid (?:value|input|type)\.", "值无效"),
    (r"Not a valid string\.", "应为文本"),
    (r"Not a valid integer\.", "应为整数"),
    (r"Not a valid number\.", "应为数字"),
    (r"Not a valid boolean\.", "应为 true 或 false"),
    (r"Not a valid date\.", "应为日期，如 2025-06-01"),
    (r"Not a valid (?:\w+ )?datetime\.", "应为日期时间，如 2025-06-01T08:00:00+08:00"),
    (r"Not a valid list\.", "应为列表"),
    (r"Not a valid mapping type\.", "应为对象"),
    (r"Number too large\.", "数值过大"),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", "不能为 NaN 或无穷大"),
    (r"Must be one of: (.*)\.", r"应为以下之一：\1"),
    (r"Length must be between (\d+) and (\d+)\.", r"长度应为 \1–\2 个字符"),
    (r"Longer than maximum length (\d+)\.", r"不能超过 \1 个字符"),
    (r"Shorter than minimum length (\d+)\.", r"不能少于 \1 个字符"),
    (rf"Must be {_BOUND} (\S+) and {_BOUND} (\S+)\.", r"应在 \1 到 \2 之间"),
    (r"Must be greater than(?: or equal to)? (\S+)\.", r"不能小于 \1"),
    (r"Must be less than(?: or equal to)? (\S+)\.", r"不能大于 \1"),
))


def in_chinese(errors):
    """Return `errors` (nested dicts and lists of messages) with marshmallow's English messages in Chinese."""
    if isinstance(errors, dict):
        return {key: in_chinese(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [in_chinese(value) for value in errors]
    if isinstance(errors, str):
        for pattern, text in MESSAGES_ZH:
            if pattern.fullmatch(errors):
                return pattern.sub(text, errors)
    return errors


def wants_json() -> bool:
    """Tell whether the current request should get a JSON error."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(status: int, message: str, errors=None):
    title = HTTP_TITLES.get(status, "错误")
    errors = in_chinese({"_schema": errors} if isinstance(errors, list) else errors)  # always an object
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
        response = app.make_response(_respond(err.status, err.message, err.errors))
        if isinstance(err, TooManyRequests):
            response.headers["Retry-After"] = str(err.retry_after)
        return response

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


# SQLSTATE class 08 (connection exception), admin/crash shutdown, "cannot connect now" (starting or stopping).
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03")
# Driver messages of a connection that could not be made or was lost (psycopg gives no SQLSTATE for these).
_TRANSIENT_TEXT = ("connection failed", "server closed the connection", "consuming input failed",
                   "connection is closed", "connection is lost", "terminating connection", "database is locked")


def _transient(err: sa.exc.DBAPIError, db) -> bool:
    """Tell a lost/busy database (retry later) from an operational error that will happen again."""
    state = getattr(err.orig, "sqlstate", None) or ""
    if err.connection_invalidated or state.startswith(_TRANSIENT_STATES):
        return True
    if any(text in str(err.orig).lower() for text in _TRANSIENT_TEXT):
        return True
    # Unknown wording: decide by whether the database answers now.
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return False
    except sa.exc.SQLAlchemyError:
        return True

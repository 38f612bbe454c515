"""What every JSON API module shares: its Blueprint and JSON body reading, the error body, the documented errors.

The OpenAPI document has no catch-all ("default") response: each operation lists the statuses it
really answers with, so a client (and the schemathesis fuzz test, tests/test_api_fuzz.py) can rely
on it. `ErrorResponsesPlugin` adds the ones that follow from the operation's shape (401/403 for
every call, and 429 once an address sent too many invalid API tokens; 404 when the path names an
object, 400 for a malformed JSON body, 422 when it takes input); views declare the others (409,
412, 428) with `@blp.alt_response(code, response=ERROR[code])`.
"""
from __future__ import annotations

import http
from datetime import timezone

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask import request
from marshmallow import fields as mf
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from registry.db_types import MAX_ID
from registry.errors import ValidationFailed

# Response components flask-smorest registers for each status (all with ErrorSchema), by code.
ERROR = {status.value: status.name for status in http.HTTPStatus if status.value >= 400}
MALFORMED_JSON = "请求体不是有效的 JSON"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number an id column can hold; a larger one names no row (404, not 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_field(label: str, **kwargs) -> mf.Integer:
    """Return a field for an id in a body or query: 1 to MAX_ID, with a Chinese message naming the field."""
    return mf.Integer(validate=ma.validate.Range(1, MAX_ID, error=f"{label}：应为 1–{MAX_ID} 之间的整数"),
                      metadata={"description": label}, **kwargs)


class ObjectDumpSchema(ma.Schema):
    """A schema that dumps objects (ORM rows) reading each plain attribute with one getattr.

    marshmallow's own loop reaches every value through three layers of accessors (field, schema,
    utils) that also try `obj[key]`; for a 50-asset page of ~35 fields that is ~1,800 values a
    request. The fields' own `_serialize` still formats every value, so the output is the same;
    a field with its own `get_value`, a dotted attribute or an object with `__getitem__` takes
    marshmallow's path.
    """

    def _serialize(self, obj, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        if hasattr(obj, "__getitem__"):
            return super()._serialize(obj)
        plan = self.__dict__.get("_dump_plan")
        if plan is None:
            plan = self._dump_plan = [
                (name, field.data_key if field.data_key is not None else name, field,
                 _plain_attribute(name, field))
                for name, field in self.dump_fields.items()]
        out = self.dict_class()
        for name, key, field, attribute in plan:
            if attribute is False:  # marshmallow's own path
                value = field.serialize(name, obj, accessor=self.get_attribute)
            elif attribute is None:  # no attribute read (Function, Method)
                value = field._serialize(None, name, obj)
            else:
                value = getattr(obj, attribute, ma.missing)
                if value is ma.missing:
                    default = field.dump_default
                    value = default() if callable(default) else default
                value = value if value is ma.missing else field._serialize(value, name, obj)
            if value is not ma.missing:
                out[key] = value
        return out


def _plain_attribute(name: str, field: mf.Field):
    """The attribute `field` reads with a plain getattr; None if it reads none; False for marshmallow's path."""
    if not field._CHECK_ATTRIBUTE:
        return None
    attribute = field.attribute if field.attribute is not None else name
    if type(field).get_value is not mf.Field.get_value or "." in attribute:
        return False
    return attribute


class UtcDateTime(mf.DateTime):
    """A timestamp written with its UTC offset (SQLite hands stored UTC times back without one)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


def json_body():
    """Return the request's JSON body (None when not sent as JSON); malformed JSON is a 400, as webargs answers."""
    if not request.is_json:
        return None
    try:
        return request.get_json()
    except BadRequest:
        abort(400, messages={"json": [MALFORMED_JSON]})


class JsonParser(FlaskParser):
    """webargs' parser with a Chinese answer to a body that is not JSON at all."""

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, exc=error, messages={"json": [MALFORMED_JSON]})


class Blueprint(flask_smorest.Blueprint):
    """The flask-smorest Blueprint every API module uses (shared argument parser)."""

    ARGUMENTS_PARSER = JsonParser()


class ErrorSchema(ma.Schema):
    """The JSON body of every error answer (registry/errors.py)."""

    code = mf.Integer(metadata={"description": "HTTP 状态码"})
    status = mf.String(metadata={"description": "状态（中文）"})
    message = mf.String(metadata={"description": "说明（中文）"})
    errors = mf.Dict(metadata={"description": "逐字段（或逐行）的说明：字段名 -> 中文提示列表"})


class ErrorResponsesPlugin(BasePlugin):
    """Document the errors that follow from an operation's shape."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add 401/403/429 to every operation, 404 with path ids, 400 with a JSON body, 422 with any input.

        A path value is input too: the request gate (registry/inputs.py) refuses control
        characters in it with 422 before the view looks anything up.
        """
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            takes_query = any(isinstance(p, dict) and p.get("in") == "query" for p in operation.get("parameters", []))
            codes = [401, 403, 429]  # 429: the per-address limit on invalid API tokens (registry/throttle.py)
            if "{" in (path or ""):
                codes.append(404)
            if "requestBody" in operation:
                codes.append(400)
            if "requestBody" in operation or takes_query or "{" in (path or ""):
                codes.append(422)
            for code in codes:
                if code not in responses and str(code) not in responses:
                    responses[code] = ERROR[code]


class RegistryApi(flask_smorest.Api):
    """flask-smorest's Api with our error body and without a catch-all response."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def stacked(*decorators):
    """Return one decorator that applies `decorators` as if written one above the other, the first on top."""
    def decorate(view):
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return decorate


def load_or_fail(schema: ma.Schema, data) -> dict:
    """Load `data` with `schema`; raise ValidationFailed with Chinese per-field messages."""
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        raise ValidationFailed("数据校验未通过，请按提示修改", flatten_errors(exc.messages)) from None


def flatten_errors(messages) -> dict[str, list[str]]:
    """Flatten nested marshmallow errors ({detail: {floors: [...]}}) to {floors: [...]}."""
    flat: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        return {"_schema": list(messages) if isinstance(messages, list) else [str(messages)]}
    for key, value in messages.items():
        if isinstance(value, dict):
            for k, v in flatten_errors(value).items():
                flat.setdefault(k, []).extend(v)
        else:
            flat.setdefault(key, []).extend(value if isinstance(value, list) else [str(value)])
    return flat

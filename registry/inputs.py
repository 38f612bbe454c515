"""Rules every request's text obeys, before any view reads it.

PostgreSQL text cannot hold the NUL character (U+0000): a value containing it made every query
or insert it reached fail with a 500 there, while SQLite stored it. Found by the API fuzz test
(tests/test_api_fuzz.py) on PostgreSQL. Such a value is refused at the door, on both databases.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

NUL = "\x00"
MESSAGE = "不能包含空字符（U+0000）"


def _nul_field(value, name: str) -> str | None:
    """Return the field name under which `value` (JSON or text) holds a NUL, or None."""
    if isinstance(value, str):
        return name if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                return name
            found = _nul_field(item, name if name != "_schema" else str(key))
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _nul_field(item, name)
            if found:
                return found
    return None


def nul_field() -> str | None:
    """Return the first path value, query parameter, form field or JSON field of the request holding a NUL."""
    sources = [(request.view_args or {}).items(), request.args.items(multi=True)]
    try:
        sources.append(request.form.items(multi=True))
    except RequestEntityTooLarge:
        pass  # the view meets the same limit and answers it in its own words
    for pairs in sources:
        for key, value in pairs:
            if NUL in key:
                return "_schema"
            if isinstance(value, str) and NUL in value:
                return key
    if request.is_json:
        return _nul_field(request.get_json(silent=True), "_schema")
    return None


def init_inputs(app: Flask) -> None:
    """Refuse (422) any request whose text holds a NUL, after the login and role gates."""

    @app.before_request
    def _refuse_nul():
        field = nul_field()
        if field is not None:
            from registry.errors import ValidationFailed
            raise ValidationFailed("请求中含有空字符（U+0000），未处理", {field: [MESSAGE]})

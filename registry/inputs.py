"""Rules every request's text and every number obeys, before any view or service reads them.

Text: PostgreSQL text cannot hold the NUL character (U+0000): a value containing it made every query
or insert it reached fail with a 500 there, while SQLite stored it (found by tests/test_api_fuzz.py).
Other control characters stored fine but then broke every xlsx export of the row for good (openpyxl
refuses them), and a lone surrogate (``"\\ud800"`` in JSON) cannot be encoded at all. Such values are
refused at the door, on both databases; JSON nested deeper than any request needs is refused too
(the parser's recursion used to end in a 500).

Numbers: ``int(Decimal("1e400000"))`` builds a 400,000-digit integer and held a worker for seconds
(``1e2000000`` past the worker timeout) before any range check ran. `parse_number` is the one door
for numbers typed by people or sent by clients: the text is bounded by length and shape (ASCII digits,
an optional sign, point and thousands commas; no exponent) before anything converts it, and a number
object by magnitude, so every later range check and conversion is cheap.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from registry.api_base import MALFORMED_JSON

NUL = "\x00"
MESSAGE = "不能包含空字符（U+0000）"
CONTROL_MESSAGE = "不能包含控制字符或无效字符（如 U+0001、U+007F、孤立代理项）"
DEPTH_MESSAGE = "JSON 嵌套层数过多"
MAX_JSON_DEPTH = 32  # the deepest request body is 3 levels (plan quotas); 32 leaves room and stops recursion bombs

# C0 controls except tab, line feed and carriage return; DEL; UTF-16 surrogates (never valid alone in text).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# The same, with tab, line feed and carriage return: text that must stay on one line (names, codes, filenames).
LINE_BREAKING_CHARS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def has_control_chars(text: str, *, single_line: bool = False) -> bool:
    """Tell whether `text` holds a character the registry refuses (see CONTROL_CHARS)."""
    return (LINE_BREAKING_CHARS if single_line else CONTROL_CHARS).search(text) is not None


def _text_problem(text: str) -> str | None:
    if NUL in text:
        return MESSAGE
    return CONTROL_MESSAGE if CONTROL_CHARS.search(text) else None


def _json_problem(value) -> tuple[str, str] | None:
    """Return (field, message) for the first bad string (key or value) in a JSON document, or None.

    Iterative, so a document nested as deep as the parser allows cannot overflow the stack here.
    """
    stack = [(value, "_schema", 1)]
    while stack:
        item, name, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return "_schema", DEPTH_MESSAGE
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return name, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _text_problem(str(key))
                if problem:
                    return name, problem
                stack.append((child, name if name != "_schema" else str(key), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, name, depth + 1) for child in item)
    return None


def bad_field() -> tuple[str, str] | None:
    """Return (field, message) for the first path value, query parameter, form field or JSON text the gate refuses."""
    sources = [(request.view_args or {}).items(), request.args.items(multi=True)]
    filenames = []
    try:
        sources.append(request.form.items(multi=True))
        filenames = [f.filename for f in request.files.values() if f.filename]
    except RequestEntityTooLarge:
        pass  # the view meets the same limit and answers it in its own words
    for pairs in sources:
        for key, value in pairs:
            problem = _text_problem(key)
            if problem:
                return "_schema", problem
            if isinstance(value, str):
                problem = _text_problem(value)
                if problem:
                    return key, problem
    if any(has_control_chars(name, single_line=True) for name in filenames):
        return "file", "文件名不能包含换行、制表符或其他控制字符"
    if request.is_json:
        return _json_problem(strict_json())
    return None


class JsonRefused(ValueError):
    """A JSON body that parses in Python but holds what JSON cannot mean: NaN, Infinity, 1e400."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(text)  # 1e400 overflows to infinity
    return value


def _constant(name: str):
    raise JsonRefused(name)  # NaN, Infinity, -Infinity: not JSON, but Python's parser takes them


def strict_json():
    """Return the request's JSON body parsed strictly, or answer 400 in Chinese.

    Refused: syntax errors and bad UTF-8 (as every view answers), NaN/Infinity and numbers beyond
    a float or beyond 4,300 digits (they reached date and number parsers as inf and crashed them),
    and nesting deeper than the parser's recursion (a 5,000-deep array was a RecursionError).
    """
    from webargs.flaskparser import abort  # carries `messages` to the error responder, as webargs' own 400s

    data = request.get_data(cache=True)
    if not data.strip():
        return None
    try:
        return json.loads(data, parse_float=_finite, parse_constant=_constant)
    except RecursionError:
        abort(400, messages={"json": [DEPTH_MESSAGE]})
    except JsonRefused:
        abort(400, messages={"json": ["请求体中的数字无效：不能为 NaN、Infinity 或超出范围（如 1e400）"]})
    except ValueError as exc:  # syntax, encoding, or an integer of more than 4,300 digits
        message = "请求体中的整数位数过多" if "digits" in str(exc) else MALFORMED_JSON
        abort(400, messages={"json": [message]})


def nul_field() -> str | None:
    """Return the field of the request holding a NUL (or another refused character), or None."""
    found = bad_field()
    return found[0] if found else None


def init_inputs(app: Flask) -> None:
    """Refuse (422) any request whose text holds a NUL or control character, after the login and role gates."""

    @app.before_request
    def _refuse_control_characters():
        found = bad_field()
        if found is not None:
            from registry.errors import ValidationFailed
            field, message = found
            title = "请求中含有空字符（U+0000），未处理" if message == MESSAGE else "请求内容无效，未处理"
            raise ValidationFailed(title, {field: [message]})


# ---- numbers ------------------------------------------------------------------------------------

MAX_NUMBER_CHARS = 32  # longer than any real amount with commas and decimals (10^12 元 = 17 characters)
MAX_MAGNITUDE = 10**24  # number objects (JSON, spreadsheet cells) beyond this are refused before any arithmetic
_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－＋　", "0123456789.,-+ ")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


class NumberError(ValueError):
    """A value is not a number the registry accepts; `message` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def show(raw, limit: int = 40) -> str:
    """Quote a user's value in a message, shortened, and safe for any input (a 5,000-digit int included)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) >= MAX_MAGNITUDE:
        return "（数值过大）"  # str() of a huge int is slow, and raises beyond 4,300 digits
    text = str(raw)
    text = CONTROL_CHARS.sub("\ufffd", text)  # a message must itself be exportable and encodable
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 个字符）"


def parse_number(raw, *, integer: bool = False, commas: bool = True) -> int | Decimal:
    """Return `raw` (text or number object) as an int (`integer`) or Decimal, or raise NumberError.

    Text is normalised (full-width digits to ASCII), then must be a short ASCII decimal: at most
    MAX_NUMBER_CHARS characters, no exponent, no NaN/Infinity. Numbers must be finite and below
    MAX_MAGNITUDE. An integer accepts a whole value only ("5" and "5.0", not "5.5").
    """
    if isinstance(raw, bool):
        raise NumberError(f"「{show(raw)}」不是数字")
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise NumberError("不能为 NaN 或无穷大")
        number = raw
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            raise NumberError("不能为 NaN 或无穷大")
        number = raw
    else:
        text = str(raw).translate(_FULLWIDTH).strip()
        if commas:
            text = text.replace(",", "")
        if len(text) > MAX_NUMBER_CHARS:
            raise NumberError(f"「{show(raw)}」过长，不是有效数字（最多 {MAX_NUMBER_CHARS} 个字符）")
        if not _NUMBER_TEXT.fullmatch(text):
            raise NumberError(f"「{show(raw)}」不是数字")
        number = Decimal(text)
    if abs(number) >= MAX_MAGNITUDE:
        raise NumberError(f"数值超出允许范围（当前：{show(raw)}）")
    if not integer:
        return number if isinstance(number, Decimal) else Decimal(repr(number) if isinstance(number, float) else number)
    if isinstance(number, int):
        return number
    if number != int(number):  # bounded above: int() is cheap
        raise NumberError(f"「{show(raw)}」应为整数")
    return int(number)


def parse_int(raw, low: int, high: int, *, commas: bool = True) -> int:
    """Return `raw` as an int in low..high, or raise NumberError (Chinese) naming the bound it breaks."""
    number = parse_number(raw, integer=True, commas=commas)
    if number < low:
        raise NumberError(f"不能小于 {low}")
    if number > high:
        raise NumberError(f"不能大于 {high}")
    return number


MAX_PAGE = 100_000  # pages of a web list: beyond any real list, and offset * page size stays far inside BIGINT


def query_int(name: str, label: str, low: int, high: int, default: int | None = None) -> int | None:
    """Return query parameter `name` as an int in low..high (`default` when absent or blank), else answer 422.

    Replaces `request.args.get(name, type=int)`, which took any length of digits (10^30 as a page or
    year reached SQL and overflowed it: a 500) and silently dropped what it could not read.
    """
    raw = request.args.get(name, "")
    if not raw.strip():
        return default
    try:
        return parse_int(raw, low, high, commas=False)
    except NumberError:
        from registry.errors import ValidationFailed
        raise ValidationFailed("查询参数有误", {name: [f"{label}：应为 {low}–{high} 之间的整数（当前：{show(raw)}）"]}) from None

"""The one writer of spreadsheet cells: every xlsx and CSV the registry produces goes through here.

Two things a stored text must never do to an export:
- become a live formula. An asset named ``=HYPERLINK("http://…","点击")`` was a working link (and
  ``=cmd|…`` a DDE payload) in the snapshot and plan workbooks. Text starting with ``= + - @``, a tab
  or a carriage return is written as text, marked with Excel's quote prefix (the style Excel itself
  sets when a user types ``'=1``: shown and re-imported without the quote). A CSV has no cell types,
  so there the value gets a leading ``'``. Numbers, dates and booleans stay what they are.
- break the file. openpyxl refuses C0 control characters (IllegalCharacterError: the export answered
  500 for good once one was stored) and no UTF-8 file holds a lone surrogate; they become U+FFFD.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal

from openpyxl.cell import WriteOnlyCell

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What no xlsx cell may hold (XML 1.0: C0 except tab, LF, CR) plus DEL and lone surrogates.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
REPLACEMENT = "\ufffd"
MAX_CELL_TEXT = 32767  # Excel's limit per cell


def clean_text(text: str) -> str:
    """Return `text` with the characters no spreadsheet file can hold replaced by U+FFFD, cut to Excel's limit."""
    return _UNWRITABLE.sub(REPLACEMENT, text)[:MAX_CELL_TEXT]


def is_formula_like(text: str) -> bool:
    """Tell whether a spreadsheet would take `text` (typed into a cell or read from a CSV) for a formula."""
    return text.startswith(FORMULA_PREFIXES)


def csv_value(value):
    """Return `value` ready for csv.writer: text cleaned and, if formula-like, prefixed with a quote."""
    if isinstance(value, str):
        text = clean_text(value)
        return "'" + text if is_formula_like(text) else text
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def is_plain_number(value) -> bool:
    """Tell whether a number can be a numeric cell: finite, and not beyond a double (no NaN, inf, 10^400)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value) < 10**300
    return _is_number(value) and abs(value) < 10**300


def openpyxl_cell(ws, value, *, font=None):
    """Return a write-only cell for `value`: numbers and dates typed, text never a formula, never unwritable."""
    if isinstance(value, str):
        text = clean_text(value)
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
        if is_formula_like(text):
            cell.quotePrefix = True
    elif value is None or is_plain_number(value) or isinstance(value, (date, datetime, bool)):
        cell = WriteOnlyCell(ws, value=value)
    elif _is_number(value):  # NaN, infinity: no numeric cell can hold them
        return openpyxl_cell(ws, "（数值过大）" if isinstance(value, int) else str(value), font=font)
    else:  # enums and other objects: their text
        return openpyxl_cell(ws, getattr(value, "label", None) or str(value), font=font)
    if font is not None:
        cell.font = font
    return cell


def openpyxl_row(ws, values, *, font=None) -> list:
    """Return a row of `openpyxl_cell`s, for `ws.append` on a write-only sheet."""
    return [openpyxl_cell(ws, value, font=font) for value in values]


class XlsxWriterCells:
    """Typed cell writing for an xlsxwriter workbook, with a quote-prefixed twin of each format used."""

    def __init__(self, workbook):
        self.workbook = workbook
        self._quoted: dict[int | None, object] = {}
        self._props: dict[int, dict] = {}

    def add_format(self, props: dict):
        """Create a workbook format and remember its properties (to build its quote-prefixed twin)."""
        fmt = self.workbook.add_format(props)
        self._props[id(fmt)] = dict(props)
        return fmt

    def _quote(self, fmt):
        key = None if fmt is None else id(fmt)
        if key not in self._quoted:
            props = {} if fmt is None else self._props.get(key, {})
            self._quoted[key] = self.workbook.add_format({**props, "quote_prefix": True})
        return self._quoted[key]

    def write_text(self, ws, row: int, col: int, text: str, fmt=None) -> None:
        """Write `text` as a string cell (cleaned; quote-prefixed when formula-like)."""
        text = clean_text(text)
        ws.write_string(row, col, text, self._quote(fmt) if is_formula_like(text) else fmt)

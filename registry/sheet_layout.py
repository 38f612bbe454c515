"""The one print layout of every xlsx export: fitted columns, a frozen header, A4 landscape.

A clerk prints what the registry exports. Left to Excel's defaults, a 26-column ledger printed on
A4 portrait as 8 pages for 21 rows (each record split over 4 pages) and a 20-digit 注册代码 showed
as ####. Every writer (openpyxl write-only or xlsxwriter) therefore goes through this module:
- column widths fitted to the first `SAMPLE_ROWS` rows (CJK characters count double), between
  `MIN_WIDTH` and `MAX_WIDTH`; a header wraps onto two lines, so it asks for half its length
  (「设计使用年限（年）」 over a column of 20s would otherwise make the sheet a third wider);
- the header row(s) frozen on screen and repeated at the top of every printed page;
- A4 landscape, all columns fitted to the page width (fitToWidth=1) and as many pages down as
  needed (fitToHeight=0), page numbers in the footer.
The cell values themselves are written by `registry.cells` (no formulas, no unwritable characters).
"""
from __future__ import annotations

import functools
import io
import unicodedata
from datetime import date, datetime
from typing import IO, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

MIN_WIDTH = 6
MAX_WIDTH = 60
PADDING = 2  # characters of air either side of the longest value
SAMPLE_ROWS = 1000  # rows measured for the widths; later rows stream through unmeasured (flat memory)
LINE_HEIGHT = 16  # points per line of an 11-point CJK header
FOOTER = "第 &P 页，共 &N 页"
PAPER_A4 = 9  # the OOXML paperSize code of A4


def text_width(value) -> int:
    """Return how many Excel character widths `value` needs: wide (CJK, full-width) characters count two."""
    value = getattr(value, "value", value)  # an openpyxl cell: measure what it holds
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    if isinstance(value, bool):
        return 2
    text = getattr(value, "label", None) or str(value)
    if text.isascii() and "\n" not in text:  # codes, numbers, ASCII names: one width a character
        return len(text)
    return _text_width(text)


@functools.lru_cache(maxsize=4096)
def _text_width(text: str) -> int:
    # Kept by text: an export repeats its unit names, townships and types on every row.
    longest = 0
    for line in text.split("\n"):
        longest = max(longest, sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line))
    return longest


class ColumnWidths:
    """Track the widest value of each column over the rows shown to it."""

    def __init__(self):
        self._widths: list[int] = []

    def observe(self, values: Iterable, *, header: bool = False) -> None:
        """Widen the columns to fit one row of values (or cells); a wrapped header row needs half its width."""
        for i, value in enumerate(values):
            width = text_width(value)
            if header:
                width = (width + 1) // 2
            if i >= len(self._widths):
                self._widths.append(width)
            elif width > self._widths[i]:
                self._widths[i] = width

    def widths(self) -> list[int]:
        """Return each column's width, padded and kept between MIN_WIDTH and MAX_WIDTH."""
        return [min(MAX_WIDTH, max(MIN_WIDTH, w + PADDING)) for w in self._widths]


def header_height(labels: Iterable, widths: list[int]) -> int:
    """Return the height (points) a header row needs once its labels wrap inside `widths`."""
    lines = 1
    for label, width in zip(labels, widths):
        lines = max(lines, -(-text_width(label) // max(1, width - 1)))
    return lines * LINE_HEIGHT


def _column_letter(index: int) -> str:
    return get_column_letter(index + 1)


def apply_openpyxl(ws, widths: list[int], header_rows: int = 1) -> None:
    """Give an openpyxl sheet (write-only: before its first row) the widths, frozen header and page setup."""
    for i, width in enumerate(widths):
        ws.column_dimensions[_column_letter(i)].width = width
    if header_rows:
        ws.freeze_panes = f"A{header_rows + 1}"
        ws.print_title_rows = f"1:{header_rows}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = FOOTER


def apply_xlsxwriter(ws, widths: list[int], header_rows: int = 1, column_formats: dict | None = None) -> None:
    """Give an xlsxwriter sheet the widths (keeping each column's format), frozen header and page setup."""
    for i, width in enumerate(widths):
        ws.set_column(i, i, width, (column_formats or {}).get(i))
    if header_rows:
        ws.freeze_panes(header_rows, 0)
        ws.repeat_rows(0, header_rows - 1)
    ws.set_landscape()
    ws.set_paper(PAPER_A4)
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(0)  # print the grid: a ledger without lines is hard to follow across a page
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C" + FOOTER)


class PrintableSheet:
    """A write-only openpyxl sheet that measures its first rows, then lays itself out and streams the rest."""

    def __init__(self, ws, header_rows: int = 1):
        self.ws = ws
        self.header_rows = header_rows
        self._widths = ColumnWidths()
        self._pending: list | None = []
        self._unmeasured: set[int] = set()  # 1-based rows kept out of the widths (titles)

    def append(self, row, *, measure: bool = True) -> None:
        """Add one row (values or write-only cells); `measure=False` for a title that may run across columns."""
        if self._pending is None:
            self.ws.append(row)
            return
        row = list(row)
        header = len(self._pending) < self.header_rows
        if not measure:
            self._unmeasured.add(len(self._pending) + 1)
        else:
            self._widths.observe(row, header=header)
            if header:
                row = [self._header_cell(value) for value in row]
        self._pending.append(row)
        if len(self._pending) >= SAMPLE_ROWS + self.header_rows:
            self.flush()

    def _header_cell(self, value):
        cell = value if isinstance(value, Cell) else WriteOnlyCell(self.ws, value=value)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        return cell

    def flush(self) -> None:
        """Lay the sheet out from the rows seen so far and write them (once; later rows go straight through)."""
        if self._pending is None:
            return
        widths = self._widths.widths()
        apply_openpyxl(self.ws, widths, self.header_rows)
        for index, row in enumerate(self._pending[:self.header_rows], start=1):
            if index not in self._unmeasured:
                self.ws.row_dimensions[index].height = header_height(row, widths)
        pending, self._pending = self._pending, None
        for row in pending:
            self.ws.append(row)

    def __getattr__(self, name):  # `parent`, `title`…: what openpyxl's WriteOnlyCell asks of its sheet
        return getattr(self.ws, name)


class PrintableWorkbook:
    """An openpyxl write-only workbook whose every sheet gets the shared print layout."""

    def __init__(self):
        self.workbook = Workbook(write_only=True)
        self._sheets: list[PrintableSheet] = []

    def sheet(self, title: str, header_rows: int = 1) -> PrintableSheet:
        """Create a sheet whose first `header_rows` rows are the frozen, repeated header."""
        sheet = PrintableSheet(self.workbook.create_sheet(title), header_rows)
        self._sheets.append(sheet)
        return sheet

    def save(self, out: IO[bytes] | str) -> None:
        """Lay out every sheet and write the workbook to `out` (a path or a binary file)."""
        for sheet in self._sheets:
            sheet.flush()
        self.workbook.save(out)

    def to_bytes(self) -> bytes:
        """Return the finished workbook as bytes."""
        buf = io.BytesIO()
        self.save(buf)
        return buf.getvalue()

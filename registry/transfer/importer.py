"""Excel/CSV import: check the layout, parse and validate every row, then write all or nothing.

`run_import` is the one entry point (web, CLI and tests). Row problems are collected, never
raised one by one; the database is written only when there are none (see import_writer).
"""
from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from registry import clock
from registry.assets.fields import FieldError, FieldSpec, compile_parser, fields_for
from registry.bulk import cyclic_gc_paused
from registry.enums import Category
from registry.orgs.reference import TOWNSHIPS
from registry.transfer import import_writer, records
from registry.transfer.layout import extra_text
from registry.transfer.mapping import EXTRA, match_header
from registry.transfer.upload import (
    ImportRejected,
    LayoutMismatch,
    RawSheet,
    TooLarge,
    column_letter,
    read_named_sheets,
    read_upload,
)

HEADER_SEARCH_ROWS = 10
MAX_PROBLEMS = 10_000  # enough to fix a file; a file with more is the wrong file
UNIT_NAME_MAX = 128
# A required field each category has and no other, to recognise a CSV's category from its header.
SIGNATURE_LABELS = {c: next(s.label for s in fields_for(c) if s.table != "asset" and s.required
                            and all(s.label not in {t.label for t in fields_for(o)} for o in Category if o is not c))
                    for c in Category}

Progress = Callable[[str, int, int], None]


@dataclass
class Problem:
    """One problem: Excel row number, column header, Chinese message (and column index to highlight)."""

    row: int
    column: str
    message: str
    col: int | None = None
    sheet: str | None = None  # a record sheet (处置记录, 更新替换记录); None: the asset sheet

    @property
    def where(self) -> str:
        """Return the cell as the clerk finds it in Excel, e.g. 「处置记录」第 7 行 C 列（处置日期）."""
        return (f"「{self.sheet}」" if self.sheet else "") + f"第 {self.row} 行 {self.column}".rstrip()


class ParsedRow:
    """A row's parsed values (a tuple in `ImportResult.positions` order) and its Excel row number."""

    __slots__ = ("row", "values", "owner", "holder")

    def __init__(self, row: int, values: tuple):
        self.row = row
        self.values = values
        self.owner = self.holder = None  # resolved unit ids, or (name, township) of a unit to create


@dataclass
class ImportResult:
    """What an import found and did; `ok` is False when anything blocked the write."""

    filename: str
    category: Category | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_fields: int = 0
    units_created: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    truncated: bool = False
    sheet: RawSheet | None = None
    header_row: int = 1
    columns: list[FieldSpec | None] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)  # field name -> index in ParsedRow.values
    extras: dict[int, dict[str, str]] = field(default_factory=dict)  # Excel row -> extra attributes
    row_status: dict[int, tuple[str, list[str]]] = field(default_factory=dict)  # row -> (new/changed/unchanged, fields)
    preview: list[tuple[int, list[str]]] = field(default_factory=list)  # first rows as they will be stored
    preview_header: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # Excel row, reason (ledger imports)
    records: list = field(default_factory=list)  # records.RecordSheet: the 处置记录 / 更新替换记录 sheets read
    _column_index: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Tell whether the import was written."""
        return not self.errors

    def add_error(self, row: int, col: int | None, message: str) -> None:
        """Record a problem in `row` (Excel numbering) and column index `col`."""
        if len(self.errors) >= MAX_PROBLEMS:
            self.truncated = True
            return
        spec = self.columns[col] if col is not None and col < len(self.columns) else None
        label = spec.label if spec else (column_letter(col) + " 列" if col is not None else "")
        self.errors.append(Problem(row, label, message, col))

    def add_record_error(self, sheet: str, row: int, col: int | None, label: str | None, message: str) -> None:
        """Record a problem in a record sheet's `row`, column index `col` (labelled `label`)."""
        if len(self.errors) >= MAX_PROBLEMS:
            self.truncated = True
            return
        column = f"{column_letter(col)} 列（{label}）" if col is not None else ""
        self.errors.append(Problem(row, column, message, col, sheet))

    def column_of(self, name: str) -> int | None:
        """Return the column index holding field `name`, if the file has it."""
        if not self._column_index:
            self._column_index = {spec.name: i for i, spec in enumerate(self.columns) if spec is not None}
        return self._column_index.get(name)


def _header_text(cell) -> str:
    return str(cell).strip().rstrip("*＊").strip() if cell is not None else ""


def _detect_category(header: list[str]) -> Category | None:
    found = [c for c, label in SIGNATURE_LABELS.items() if label in header]
    return found[0] if len(found) == 1 else None


def locate_header(sheet: RawSheet) -> tuple[int, Category, list[FieldSpec | None]]:
    """Find the header row (within the first rows), the category, and the field of each column."""
    code_label = fields_for(Category.ELEVATOR)[0].label
    for index, row in enumerate(itertools.islice(sheet.iter_rows(), HEADER_SEARCH_ROWS)):
        header = [_header_text(c) for c in row]
        if code_label in header:
            break
    else:
        where = f"工作表「{sheet.name}」" if sheet.name else "CSV 文件"
        raise LayoutMismatch(f"{where}缺少表头：前 {HEADER_SEARCH_ROWS} 行中没有找到“{code_label}”列，"
                             "请使用本系统下载的模板，第 1 行为列名")
    category = sheet.category or _detect_category(header)
    if category is None:
        raise LayoutMismatch("无法判断设备类别：请在导入时选择类别，或使用本系统下载的模板")
    specs = {s.label: s for s in fields_for(category)}
    columns: list[FieldSpec | None] = []
    problems, seen = [], set()
    extras: dict[int, str] = {}
    for i, text in enumerate(header):
        if not text:
            columns.append(None)
            continue
        spec = specs.get(text)
        if spec is None:
            if match_header(text, category)[0] != EXTRA:
                # A ledger's own word for a field (使用管理单位, 车牌号 ...): read it through a column mapping.
                raise LayoutMismatch(f"{column_letter(i)}{index + 1}「{text[:40]}」不是{category.label}模板的列名")
            extras[i] = text  # a column with no registry field: kept on the asset as an extra attribute
            columns.append(None)
            continue
        elif text in seen:
            problems.append(f"{column_letter(i)}{index + 1}「{text}」列重复")
        seen.add(text)
        columns.append(spec)
    missing = [s.label for s in fields_for(category) if s.required and s.label not in seen]
    if missing:
        problems.insert(0, "缺少必填列：" + "、".join(missing))
    if problems:
        raise ImportRejected(f"表头与{category.label}模板不符，请使用本系统下载的模板", problems)
    sheet.extra_columns = extras
    return index, category, columns


def _is_blank(row: list) -> bool:
    for value in row:  # a data row's first cell (its code) is rarely empty: one step
        if value is None or value == "" or (isinstance(value, str) and not value.strip()):
            continue
        return False
    return True


# Rows parsed together, a column at a time: bounded memory for the raw cells, few Python steps per cell.
PARSE_CHUNK = 5000
# A column stops remembering its cells once more than this share of a chunk's cells were new (codes,
# serials, coordinates); a column of dates (8,000 distinct in 100,000 rows) keeps remembering.
MEMO_MISS_SHARE = 0.9
# Cell classes that compare equal across classes (1 == 1.0 == True) but parse differently.
_NUMBER_CLASSES = frozenset({bool, int, float, Decimal})


class _ColumnParser:
    """Parse the cells of one column, answering a repeated cell from memory.

    A ledger repeats its unit names, townships, types, grades and dates on every row; the answer to
    a cell (value, warning, refusal) is worked out once, and equal cells share one value object.
    Once a column has shown two number classes, cells are remembered by class and value, so 1, 1.0
    and True stay apart. A column of mostly new values gives up remembering after a chunk.
    """

    def __init__(self, parse):
        self.parse = parse
        self.memo: dict | None = {}
        self.troubled = False  # some cell had a warning or was refused: the caller looks for them
        self.number_classes: set[type] = set()

    def attempt(self, raw) -> tuple:
        """Return (value, warning, refusal message) for one cell."""
        try:
            value, warning = self.parse(raw)
        except FieldError as exc:
            self.troubled = True
            return None, None, exc.message
        if warning:
            self.troubled = True
        return value, warning, None

    def column(self, cells) -> list[tuple]:
        """Return the (value, warning, refusal) of every cell of `cells`."""
        memo = self.memo
        if memo is None:
            return list(map(self.attempt, cells))
        known = len(memo)
        # Keyed by value alone while one number class has been seen in this column (in any chunk so far).
        self.number_classes.update(_NUMBER_CLASSES.intersection(map(type, cells)))
        keys = cells if len(self.number_classes) < 2 else list(zip(map(type, cells), cells))
        try:
            answers = list(map(memo.get, keys))  # None for every cell not seen in an earlier chunk
        except TypeError:  # a cell value that cannot be a key: this column is read cell by cell
            self.memo = None
            return list(map(self.attempt, cells))
        attempt, k = self.attempt, -1
        try:
            while True:
                k = answers.index(None, k + 1)  # the next unanswered cell, found in C
                key = keys[k]
                answer = memo.get(key)  # seen earlier in this chunk
                if answer is None:
                    answer = memo[key] = attempt(cells[k])
                answers[k] = answer
        except ValueError:  # every cell answered
            pass
        if len(memo) - known > MEMO_MISS_SHARE * len(cells):
            self.memo = None
        return answers


_VALUE = operator.itemgetter(0)


def _chunks_of_rows(result: ImportResult, max_rows: int, progress: Progress | None):
    """Yield (row numbers, rows) of at most PARSE_CHUNK non-blank data rows; raise TooLarge past `max_rows`."""
    rows = itertools.islice(result.sheet.iter_rows(), result.header_row, None)
    total, count = result.sheet.height, 0
    numbers: list[int] = []
    chunk: list[list] = []
    for row_no, row in enumerate(rows, start=result.header_row + 1):
        if progress and row_no % 5000 == 0:
            progress("校验", row_no, total)
        if _is_blank(row):
            continue
        if count >= max_rows:
            raise TooLarge(f"数据超过 {max_rows:,} 行的导入上限（第 {row_no} 行），请拆分文件后分批导入")
        count += 1
        numbers.append(row_no)
        chunk.append(row)
        if len(chunk) == PARSE_CHUNK:
            yield numbers, chunk
            numbers, chunk = [], []
    if chunk:
        yield numbers, chunk


def _rows_pass(values_by_column, code_at, township_at, unit_at, numbers, seen_codes, townships) -> bool:
    """Tell whether a chunk passes the rows' own checks, told a column at a time; if so, note its codes.

    When it does not, the caller checks it row by row to name each problem.
    """
    codes = [c for c in values_by_column[code_at] if c is not None]
    if len(set(codes)) != len(codes) or not seen_codes.keys().isdisjoint(codes):
        return False
    if not townships.issuperset(t for t in set(values_by_column[township_at]) if t is not None):
        return False
    for k, _name in unit_at:
        if max(map(len, filter(None, values_by_column[k])), default=0) > UNIT_NAME_MAX:
            return False
    seen_codes.update((c, n) for c, n in zip(values_by_column[code_at], numbers) if c is not None)
    return True


def parse_rows(result: ImportResult, max_rows: int, today: date, progress: Progress | None = None,
               steps: dict | None = None) -> list[ParsedRow]:
    """Parse every data row into field values; collect problems on `result` (nothing is raised per row).

    Rows are parsed a chunk at a time and, within a chunk, a column at a time; the problems are then
    recorded in the order of the sheet (row by row, left to right, then the row's own checks).
    `steps` maps decimal field names to the step their column stores (values are rounded to it).
    """
    columns = result.columns
    parsers = [(i, spec, _ColumnParser(compile_parser(spec, today))) for i, spec in enumerate(columns)
               if spec is not None]
    result.positions = {spec.name: k for k, (_, spec, _) in enumerate(parsers)}
    steps = {result.positions[n]: step for n, step in (steps or {}).items() if n in result.positions}
    unlabeled = [i for i, spec in enumerate(columns) if spec is None]
    extra_columns = getattr(result.sheet, "extra_columns", {}) or {}
    pos, code_col = result.positions, result.column_of("code")
    code_at, township_at = pos.get("code"), pos.get("township")
    unit_at = [(pos[n], n) for n in ("owner_unit", "user_unit") if n in pos]
    townships = set(TOWNSHIPS)
    width = len(columns)
    seen_codes: dict[str, int] = {}
    parsed: list[ParsedRow] = []
    after_fields = len(parsers)  # the order of a row's own checks, after its fields' problems
    for numbers, chunk in _chunks_of_rows(result, max_rows, progress):
        # (row index in the chunk, order within the row, column index, message, warning?)
        problems: list[tuple[int, int, int | None, str, bool]] = []
        cells = list(zip(*(row if len(row) >= width else row + [""] * (width - len(row)) for row in chunk)))
        values_by_column = []
        for k, (i, _spec, parser) in enumerate(parsers):
            answers = parser.column(cells[i])
            if parser.troubled:
                for n, (_value, warning, refusal) in enumerate(answers):
                    if refusal is not None:
                        problems.append((n, k, i, refusal, False))
                    elif warning:
                        problems.append((n, k, i, warning, True))
            values = list(map(_VALUE, answers))
            step = steps.get(k)
            if step is not None:
                values = [v if v is None else v.quantize(step, ROUND_HALF_UP) for v in values]
            values_by_column.append(values)
        row_extras: dict[int, dict] = {}
        for order, i in enumerate(unlabeled, start=after_fields):
            for n, raw in enumerate(cells[i]):
                if raw in ("", None):
                    continue
                if i in extra_columns:
                    if str(raw).strip():
                        row_extras.setdefault(n, {})[extra_columns[i]] = extra_text(raw)
                    continue
                problems.append((n, order, i, "该列没有列名，数据无法识别；请删除或补上列名", False))
        rows = list(zip(*values_by_column))
        if _rows_pass(values_by_column, code_at, township_at, unit_at, numbers, seen_codes, townships):
            parsed.extend(map(ParsedRow, numbers, rows))
        else:
            own = after_fields + len(unlabeled)
            for n, values in enumerate(rows):
                row_no = numbers[n]
                code = values[code_at]
                if code is not None:
                    if code in seen_codes:
                        problems.append((n, own, code_col, f"设备编码「{code}」与第 {seen_codes[code]} 行重复", False))
                    else:
                        seen_codes[code] = row_no
                township = values[township_at]
                if township is not None and township not in townships:
                    problems.append((n, own + 1, result.column_of("township"),
                                     f"「{township[:40]}」不是新郑市的乡镇/街道，可选：{'、'.join(TOWNSHIPS)}", False))
                for j, (k, name) in enumerate(unit_at):
                    if values[k] and len(values[k]) > UNIT_NAME_MAX:
                        problems.append((n, own + 2 + j, result.column_of(name),
                                         f"长度不能超过 {UNIT_NAME_MAX} 个字符", False))
                parsed.append(ParsedRow(row_no, values))
        for n in sorted(row_extras):
            result.extras.setdefault(numbers[n], {}).update(row_extras[n])
        problems.sort(key=lambda p: (p[0], p[1]))
        for n, _order, i, message, warning in problems:
            if warning:
                result.warnings.append(Problem(numbers[n], columns[i].label, message, i))
            else:
                result.add_error(numbers[n], i, message)
    result.rows = len(parsed)
    if progress:
        progress("校验", result.sheet.height, result.sheet.height)
    return parsed


def run_import(data: bytes, filename: str, user=None, category: Category | None = None, *,
               max_rows: int = 200_000, dry_run: bool = False, today: date | None = None,
               progress: Progress | None = None) -> ImportResult:
    """Import one uploaded file for `user` (None: the CLI operator); raise ImportRejected for file-level faults.

    The workbook's 处置记录 and 更新替换记录 sheets (registry.transfer.records) are imported with its asset
    sheet, in the same transaction, after the assets (so a record may name an asset the file creates); a
    workbook may also hold only those sheets.
    """
    with cyclic_gc_paused():
        today = today or clock.today()
        found, other_sheets = read_named_sheets(data, records.SHEETS)
        record_sheets = [records.locate(name, raw) for name, raw in found.items()]
        if record_sheets and not other_sheets:
            return _records_only(filename, user, record_sheets, dry_run)
        try:
            sheet = read_upload(data, filename, category)  # a sheet that is not the template's: the mapping page
        except LayoutMismatch:
            if record_sheets:  # the mapping page reads one table; the records would be left out unseen
                raise ImportRejected(f"工作表「{'、'.join(r.name for r in record_sheets)}」只能与本系统模板的设备工作表"
                                     f"（工作表名为设备类别）一起导入，或单独导入；现有其他工作表：{'、'.join(other_sheets)}") from None
            raise
        header_index, category, columns = locate_header(sheet)
        merged = [ref for last_row, ref in sheet.merged if last_row > header_index]
        if merged:
            raise ImportRejected(f"数据区域含有合并单元格（{'、'.join(merged[:20])}），请取消合并并在每个单元格填写数据",
                                 {"合并单元格": merged[:20]})
        import_writer.check_permission(user, category)
        result = ImportResult(filename=filename, category=category, sheet=sheet, header_row=header_index + 1,
                              columns=columns)
        parsed = parse_rows(result, max_rows, today, progress, import_writer.decimal_steps(columns, category))
        result.records = record_sheets
        records.parse(result, record_sheets)
        if not parsed and not result.errors and not any(r.rows for r in record_sheets):
            raise ImportRejected(f"文件中没有数据行（表头在第 {header_index + 1} 行，其下为空）")
        sheet.release()  # free the workbook before the database phase; an error report re-reads it
        then = (lambda: records.write(result, record_sheets, user)) if record_sheets else None
        import_writer.plan_and_write(result, parsed, user, dry_run=dry_run, progress=progress, then=then)
    return result


def _records_only(filename: str, user, record_sheets: list, dry_run: bool) -> ImportResult:
    """Import a workbook holding only record sheets: parse, then check and write them all or none."""
    result = ImportResult(filename=filename, records=record_sheets)
    records.parse(result, record_sheets)
    if not any(r.rows for r in record_sheets):
        raise ImportRejected("文件中没有数据行：" + "、".join(f"工作表「{r.name}」" for r in record_sheets) + "表头下为空")
    if result.errors:
        return result
    import_writer.finish(result, lambda: records.write(result, record_sheets, user), dry_run=dry_run)
    return result

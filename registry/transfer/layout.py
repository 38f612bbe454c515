"""Find the table inside a real ledger sheet: header rows, one label per column, data and skipped rows.

Bureaus' sheets carry a merged title, a 填报单位 row, two- or three-level merged headers, a 序号
column, 合计/注/签字 rows at the bottom and hidden helper columns. Nothing here knows the database.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from registry.transfer.upload import ImportRejected, SourceSheet, column_letter

HEADER_SEARCH_ROWS = 30
FOOTER_START = re.compile(r"^(合\s*计|小\s*计|总\s*计|注\s*[:：]|注\s*\d|说明\s*[:：]|备注\s*[:：])")
SIGNATURE = re.compile(r"(填表人|审核人|制表人|填报人|负责人|单位负责人|联系电话|经办人)\s*[:：]?")
META_ROW = re.compile(r"^(填报单位|填报日期|单位（盖章）|单位\(盖章\)|报送单位|统计时间|截至|截止)")


def norm(text) -> str:
    """Return a header or value as compared: NFKC (full-width to half-width), no spaces, no required marks."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"\s+", "", s).strip("*＊")


def extra_text(value) -> str:
    """Return a cell as an extra attribute stores it: dates ISO, whole numbers without .0, text stripped."""
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class Column:
    """One source column: its letter, its label (lowest header level) and the groups above it."""

    index: int
    label: str
    group: str = ""
    hidden: bool = False

    @property
    def letter(self) -> str:
        """Return the Excel column letter."""
        return column_letter(self.index)

    @property
    def title(self) -> str:
        """Return the label with its group, as shown for disambiguation (「基本信息 / 设备代码」)."""
        return f"{self.group} / {self.label}" if self.group else self.label


@dataclass
class Table:
    """Where the table is: header rows (0-based), columns, data rows, and what was skipped and why."""

    sheet: SourceSheet
    header_rows: list[int]
    columns: list[Column]
    data_rows: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (0-based row, reason)
    filled: list[str] = field(default_factory=list)  # merged data ranges filled down, e.g. "B5:B8"
    notes: list[str] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        """Return the 1-based Excel row of the lowest header row."""
        return self.header_rows[-1] + 1


def _cell(rows, r, c):
    row = rows[r] if r < len(rows) else []
    return row[c] if c < len(row) else ""


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _row_texts(row, limit: int | None = None) -> list[str]:
    """Return the row's non-blank cells as stripped text; stop after `limit` of them (None: all)."""
    out = []
    for v in row:
        if v is None:
            continue
        t = v.strip() if v.__class__ is str else str(v).strip()
        if t:
            out.append(t)
            if len(out) == limit:
                break
    return out


def locate_table(sheet: SourceSheet, known: set[str], keep_hidden: bool = False) -> Table:
    """Find the header rows by the known header words they hold, and classify every row below."""
    rows = sheet.rows
    best, best_score = None, 0
    for r in range(min(len(rows), HEADER_SEARCH_ROWS)):
        texts = [norm(t) for t in _row_texts(rows[r])]
        score = sum(1 for t in texts if t in known or _strip_unit(t) in known)
        if score > best_score:
            best, best_score = r, score
    if best is None or best_score < 2:
        where = f"工作表「{sheet.name}」" if sheet.name else "CSV 文件"
        raise ImportRejected(f"{where}缺少表头：前 {HEADER_SEARCH_ROWS} 行中没有找到可识别的列名"
                             "（如 设备编码、设备代码、车牌号、使用单位）")
    header_rows = [best]
    spans = [(r1, c1, r2, c2) for r1, c1, r2, c2 in sheet.merged]
    # Group rows above: a row joined to the header by a vertical merge, or with several horizontal groups.
    for _ in range(2):
        top = header_rows[0] - 1
        if top < 0 or not _row_texts(rows[top]):
            break
        vertical = any(r1 <= top < r2 and r2 >= header_rows[0] for r1, _, r2, _ in spans)
        groups = [s for s in spans if s[0] == top and s[3] > s[1]]
        width = max((len(r) for r in rows[top:best + 1]), default=0)
        title_like = len(_row_texts(rows[top])) == 1 and all(c2 - c1 + 1 >= width * 0.6 for _, c1, _, c2 in groups)
        if (vertical or len(groups) >= 1) and not title_like:
            header_rows.insert(0, top)
        else:
            break
    # A sub-header row below: the header row has horizontal groups whose columns are labelled underneath.
    below = header_rows[-1] + 1
    if any(s[0] == header_rows[-1] and s[3] > s[1] and s[2] == header_rows[-1] for s in spans) and below < len(rows):
        texts = [norm(t) for t in _row_texts(rows[below])]
        if texts and sum(1 for t in texts if t in known or _strip_unit(t) in known) >= 1:
            header_rows.append(below)
    grid = _filled_header(rows, header_rows, spans)
    width = max(len(g) for g in grid)
    columns = []
    for c in range(width):
        levels = []
        for g in grid:
            t = _text(g[c] if c < len(g) else "")
            if t and (not levels or levels[-1] != t):
                levels.append(t)
        if not levels:
            continue
        columns.append(Column(c, levels[-1], " / ".join(levels[:-1]), c in sheet.hidden_cols))
    table = Table(sheet, header_rows, columns)
    _classify_rows(table, keep_hidden)
    _fill_merged_data(table)
    return table


def _strip_unit(text: str) -> str:
    """Drop a trailing unit in brackets: 额定载重量(kg) -> 额定载重量."""
    return re.sub(r"[(（\[【][^()（）]*[)）\]】]$", "", text)


def _filled_header(rows, header_rows, spans) -> list[list]:
    grid = [list(rows[r]) if r < len(rows) else [] for r in header_rows]
    lo, hi = header_rows[0], header_rows[-1]
    for r1, c1, r2, c2 in spans:
        if r2 < lo or r1 > hi:
            continue
        value = _cell(rows, r1, c1)
        for r in range(max(r1, lo), min(r2, hi) + 1):
            g = grid[r - lo]
            if len(g) <= c2:
                g.extend([""] * (c2 + 1 - len(g)))
            for c in range(c1, c2 + 1):
                if c2 > c1 and r1 < lo:
                    continue  # a group spanning from above the block: only its top-left counts
                g[c] = value
    return grid


def _classify_rows(table: Table, keep_hidden: bool) -> None:
    rows, start = table.sheet.rows, table.header_rows[-1] + 1
    footer = False
    for r in range(start, len(rows)):
        # Five texts tell every kind of row apart (footers and signatures have at most four): a data row stops there.
        texts = _row_texts(rows[r], 5)
        if not texts:
            table.skipped.append((r, "空行"))
            continue
        if not footer and len(texts) == 5 and texts[0][0].isascii():
            # A data row (most rows start with their 序号): every footer, signature and 填报 pattern needs
            # four texts or fewer, or a first text that starts with a Chinese word.
            if r in table.sheet.hidden_rows and not keep_hidden:
                table.skipped.append((r, "隐藏行"))
            else:
                table.data_rows.append(r)
            continue
        first = norm(texts[0])
        if footer:
            table.skipped.append((r, "表尾"))
        elif FOOTER_START.match(first) or (len(texts) <= 3 and any(FOOTER_START.match(norm(t)) for t in texts)):
            table.skipped.append((r, "合计行" if re.match(r"^(合计|小计|总计)", first) else "注释行"))
            footer = not re.match(r"^(合计|小计)", first)
        elif len(texts) <= 4 and SIGNATURE.search("".join(texts)):
            table.skipped.append((r, "签字行"))
            footer = True
        elif META_ROW.match(first):
            table.skipped.append((r, "填报信息行"))
        elif r in table.sheet.hidden_rows and not keep_hidden:
            table.skipped.append((r, "隐藏行"))
        else:
            table.data_rows.append(r)


def _fill_merged_data(table: Table) -> None:
    """Fill merged cells down a column (one unit for several rows); refuse merges across data columns."""
    first = table.header_rows[-1] + 1
    across = []
    for r1, c1, r2, c2 in table.sheet.merged:
        if r2 < first:
            continue
        ref = f"{column_letter(c1)}{r1 + 1}:{column_letter(c2)}{r2 + 1}"
        if r1 in {r for r, _ in table.skipped}:
            continue  # a merged 合计 or 注 row
        if c2 > c1:
            across.append(ref)
            continue
        value = _cell(table.sheet.rows, r1, c1)
        for r in range(r1 + 1, r2 + 1):
            row = table.sheet.rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            row[c1] = value
        table.filled.append(ref)
    if across:
        raise ImportRejected(f"数据区域含有跨列的合并单元格（{'、'.join(across[:20])}），无法判断属于哪一列，"
                             "请取消合并并在每个单元格填写数据", {"合并单元格": across[:20]})

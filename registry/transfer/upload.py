"""Read an uploaded spreadsheet safely: sniff the content, check the zip, find the data sheet.

Every refusal is an ImportRejected with a Chinese message; nothing here touches the database.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook

from registry.enums import Category
from registry.errors import DomainError

# Uncompressed bytes a workbook may expand to, and the ratio above which a member looks like a bomb.
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 2000
IGNORED_SHEETS = {"说明", "导出信息", "错误清单"}
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]+\d+)\"")
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class ImportRejected(DomainError):
    """The file as a whole cannot be imported (wrong type, damaged, too big, wrong layout)."""

    status = 400


class UnsupportedFile(ImportRejected):
    status = 415


class LayoutMismatch(ImportRejected):
    """The file is not laid out like the registry's template: read it as a ledger with a column mapping."""


class TooLarge(ImportRejected):
    status = 413


@dataclass
class RawSheet:
    """The data sheet: its rows are produced lazily, row 1 first, as the user sees them in Excel."""

    name: str | None  # sheet name; None for CSV
    rows: list[list] | None = None  # CSV rows (an xlsx sheet is read lazily from `calamine`)
    category: Category | None = None
    kind: str = "xlsx"
    merged: list[tuple[int, str]] = field(default_factory=list)  # (last row, "B4:C4") per merged range
    calamine: object = None
    data: bytes | None = None  # the upload, to reopen the sheet after `release`
    extra_columns: dict[int, str] = field(default_factory=dict)  # column index -> label kept as extra attribute

    def release(self) -> None:
        """Drop the parsed workbook (it is reopened from `data` if rows are needed again)."""
        if self.calamine is not None:
            self.calamine = None

    @property
    def height(self) -> int:
        """Return the number of rows, counting from row 1."""
        if self.calamine is None and self.data is not None:
            self.calamine = _calamine_rows(self.data, self.name, self.category).calamine
        if self.calamine is None:
            return len(self.rows or [])
        return 0 if self.calamine.end is None else self.calamine.end[0] + 1

    def iter_rows(self):
        """Yield every row as a list of cell values, from row 1 and column A."""
        if self.calamine is None and self.data is not None:
            self.calamine = _calamine_rows(self.data, self.name, self.category).calamine
        if self.calamine is None:
            yield from self.rows or []
            return
        if self.calamine.start is None:  # an empty sheet
            return
        pad = [""] * self.calamine.start[1]  # calamine starts rows at 1 but columns at the first used one
        for row in self.calamine.iter_rows():
            yield pad + row if pad else row


def column_letter(index: int) -> str:
    """Return the Excel column letter of a 0-based column index (0 -> A)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def read_upload(data: bytes, filename: str = "", category: Category | None = None) -> RawSheet:
    """Decide from the content whether `data` is xlsx or csv and read its data sheet."""
    if not data:
        raise ImportRejected("上传的文件是空的")
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _read_xlsx(data, category)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise LayoutMismatch("旧版 .xls 工作簿按台账读取")
    if filename.lower().endswith((".ods", ".xls")):
        raise LayoutMismatch("按台账读取")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise UnsupportedFile("文件扩展名是 .xlsx，但内容不是 Excel 工作簿（文件可能已损坏或被改名）")
    return _read_csv(data, category)


# --- CSV -------------------------------------------------------------------------------------
def decode_text(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 with or without BOM, else GBK/GB18030; refuse binary content."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        encodings = ("utf-8",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFile("不支持 UTF-16 编码的 CSV，请另存为“CSV UTF-8（逗号分隔）”")
    else:
        encodings = ("utf-8", "gb18030")
    if b"\x00" in data[:65536]:
        raise UnsupportedFile("文件不是 xlsx 或 csv 格式（内容为二进制数据）")
    for enc in encodings:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text[:65536]):
            raise UnsupportedFile("文件不是 xlsx 或 csv 格式（含有控制字符）")
        return text
    raise UnsupportedFile("无法识别 CSV 文件的编码，请使用 UTF-8 或 GBK 编码保存")


def _read_csv(data: bytes, category: Category | None) -> RawSheet:
    text = decode_text(data)
    csv.field_size_limit(1024 * 1024)
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise ImportRejected(f"CSV 文件格式有误：{exc}") from None
    return RawSheet(name=None, rows=rows, category=category, kind="csv")


# --- XLSX ------------------------------------------------------------------------------------
def check_zip(zf: zipfile.ZipFile) -> None:
    """Refuse zip bombs from the central directory, before anything is decompressed."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ImportRejected("工作簿结构异常（内部文件过多），已拒绝")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 10 * 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRejected("工作簿压缩比异常（疑似“压缩炸弹”），已拒绝")
    if total > MAX_UNCOMPRESSED:
        raise TooLarge(f"工作簿解压后超过 {MAX_UNCOMPRESSED // (1024 * 1024)} MB，已拒绝")


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """Map sheet name -> (state, member path) from workbook.xml and its relationships."""
    try:
        wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        raise UnsupportedFile("文件不是 Excel 工作簿（缺少 workbook.xml）") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sheet in wb.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        target = targets.get(sheet.get(_NS_REL), "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out[sheet.get("name")] = (sheet.get("state", "visible"), path)
    return out


def find_formulas(zf: zipfile.ZipFile, path: str, limit: int = 20) -> list[str]:
    """Return cell references holding formulas in one sheet, scanning its XML in chunks."""
    found: list[str] = []
    tail = b""
    with zf.open(path) as fh:
        while len(found) < limit:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            if _FORMULA.search(buf):
                for m in _FORMULA.finditer(buf):
                    cells = list(_CELL.finditer(buf, 0, m.start()))
                    ref = cells[-1].group(1).decode() if cells else "?"
                    if ref not in found:
                        found.append(ref)
            tail = buf[-4096:]
    return found[:limit]


def _pick_sheet(names: list[str], category: Category | None) -> tuple[str, Category]:
    by_label = {c.label: c for c in Category}
    matches = [(n, by_label[n.strip()]) for n in names if n.strip() in by_label]
    if category is not None:
        for name, cat in matches:
            if cat is category:
                return name, cat
        raise LayoutMismatch(f"缺少工作表「{category.label}」：请使用本系统下载的{category.label}模板，"
                             f"数据填在名为「{category.label}」的工作表中（现有工作表：{'、'.join(names)}）")
    if not matches:
        raise LayoutMismatch("未找到数据工作表：工作表名称应为设备类别（" + "、".join(by_label)
                             + f"），请使用本系统下载的模板（现有工作表：{'、'.join(names)}）")
    if len(matches) > 1:
        raise LayoutMismatch("一个文件只能导入一个类别，找到多个数据工作表：" + "、".join(n for n, _ in matches))
    return matches[0]


def _read_xlsx(data: bytes, category: Category | None) -> RawSheet:
    zf, sheets = _open_xlsx(data)
    _refuse_hidden(sheets)
    name, cat = _pick_sheet(list(sheets), category)
    _refuse_formulas(zf, name, sheets[name][1])
    return _calamine_rows(data, name, cat)


def _open_xlsx(data: bytes) -> tuple[zipfile.ZipFile, dict[str, tuple[str, str]]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        check_zip(zf)
        return zf, _sheet_paths(zf)
    except zipfile.BadZipFile:
        raise ImportRejected("文件已损坏或不完整（无法解压），请重新保存后上传") from None
    except ElementTree.ParseError:
        raise ImportRejected("工作簿内容已损坏（workbook.xml 无法解析）") from None


def _refuse_hidden(sheets: dict[str, tuple[str, str]]) -> None:
    hidden = [n for n, (state, _) in sheets.items() if state != "visible"]
    if hidden:
        raise ImportRejected("工作簿含有隐藏的工作表：" + "、".join(hidden)
                             + "。隐藏内容不会被核对，请取消隐藏或删除后再上传")


def _refuse_formulas(zf: zipfile.ZipFile, name: str, path: str) -> None:
    try:
        formulas = find_formulas(zf, path)
    except (KeyError, zipfile.BadZipFile, EOFError, OSError, zlib.error):
        raise ImportRejected("文件已损坏或不完整（工作表数据无法读取）") from None
    if formulas:
        raise ImportRejected(f"工作表「{name}」含有公式（单元格 {'、'.join(formulas)}）。"
                             "请复制后“选择性粘贴为数值”再上传", {"公式单元格": formulas})


def read_named_sheets(data: bytes, names) -> tuple[dict[str, RawSheet], list[str]]:
    """Return those of the sheets `names` an .xlsx upload holds (none for any other file), each checked like the
    data sheet (no hidden sheets, no formulas) and read lazily, and the names of its other data sheets."""
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return {}, []
    zf, sheets = _open_xlsx(data)
    by_name = {n.strip(): n for n in sheets}
    present = {wanted: by_name[wanted] for wanted in names if wanted in by_name}  # in the order of `names`
    others = [n for n in sheets if n.strip() not in present and n.strip() not in IGNORED_SHEETS]
    if not present:
        return {}, others
    _refuse_hidden(sheets)
    out = {}
    for wanted, name in present.items():
        _refuse_formulas(zf, name, sheets[name][1])
        out[wanted] = _calamine_rows(data, name, None)
    return out, others


def _calamine_rows(data: bytes, name: str, category: Category | None) -> RawSheet:
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = wb.get_sheet_by_name(name)
        merged = sheet.merged_cell_ranges or []
    except Exception as exc:  # noqa: BLE001 - calamine raises its own classes for every kind of damage
        raise ImportRejected(f"工作表「{name}」无法读取，文件可能已损坏：{type(exc).__name__}") from None
    ranges = [(b[0] + 1, f"{column_letter(a[1])}{a[0] + 1}:{column_letter(b[1])}{b[0] + 1}") for a, b in merged]
    return RawSheet(name=name, category=category, merged=ranges, calamine=sheet, data=data)


# --- Any ledger: every sheet of .xlsx / .xls / .ods / .csv ---------------------------------------
@dataclass
class SourceSheet:
    """One sheet of a real ledger, fully read: values from row 1 / column A, merges and hidden parts."""

    name: str | None
    rows: list[list]
    kind: str = "xlsx"
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based (r1, c1, r2, c2)
    hidden_rows: set[int] = field(default_factory=set)  # 0-based
    hidden_cols: set[int] = field(default_factory=set)


# A <row> or <col> tag that carries hidden="1"/"true" (any prefix, any attribute order).
_HIDDEN_TAG = re.compile(rb'<(?:\w+:)?(row|col)\b[^>]*?\shidden\s*=\s*"(?:1|true)"[^>]*>')
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _xlsx_hidden(zf: zipfile.ZipFile, path: str) -> tuple[set[int], set[int]]:
    """Return the 0-based hidden rows and columns of one sheet, read from its XML tags."""
    rows, cols = set(), set()
    try:
        data = zf.read(path)
    except KeyError:
        return rows, cols
    if b"hidden" not in data:
        return rows, cols  # the common case: one scan in C instead of parsing every <row> tag
    for m in _HIDDEN_TAG.finditer(data):
        attrs = dict(_ATTR.findall(m.group(0)))
        if m.group(1) == b"col":
            lo, hi = int(attrs.get(b"min", b"1")), int(attrs.get(b"max", b"1"))
            cols.update(range(lo - 1, min(hi, lo + 16384)))
        elif attrs.get(b"r", b"").isdigit():
            rows.add(int(attrs[b"r"]) - 1)
    return rows, cols


def _encrypted(data: bytes) -> bool:
    # An encrypted .xlsx is an OLE container holding an "EncryptedPackage" stream (names are UTF-16LE).
    return "EncryptedPackage".encode("utf-16-le") in data[:1 << 20] or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in data[:4096]


def read_sheets(data: bytes, filename: str = "") -> list[SourceSheet]:
    """Read every visible sheet of an .xlsx/.xls/.ods/.csv ledger; refuse what is not a spreadsheet."""
    if not data:
        raise ImportRejected("上传的文件是空的")
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            check_zip(zf)
            names = set(zf.namelist())
        except zipfile.BadZipFile:
            raise ImportRejected("文件已损坏或不完整（无法解压），请重新保存后上传") from None
        if "content.xml" in names and "xl/workbook.xml" not in names:
            return _calamine_sheets(data, "ods", None)
        sheets = _sheet_paths(zf)
        return _calamine_sheets(data, "xlsx", lambda name: _xlsx_hidden(zf, sheets[name][1]) if name in sheets
                                else (set(), set()))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if _encrypted(data):
            raise ImportRejected("工作簿设置了打开密码（已加密），请在 Excel 中取消密码后再上传")
        return _calamine_sheets(data, "xls", None)
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise UnsupportedFile("文件扩展名是表格文件，但内容不是 Excel/WPS 工作簿（文件可能已损坏或被改名）")
    return [SourceSheet(name=None, rows=_read_csv_any(data), kind="csv")]


def _read_csv_any(data: bytes) -> list[list]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnsupportedFile("无法识别 CSV 文件的编码（UTF-16 内容有误）") from None
        data = text.encode("utf-8")
    text = decode_text(data)
    csv.field_size_limit(1024 * 1024)
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise ImportRejected(f"CSV 文件格式有误：{exc}") from None


def _calamine_sheets(data: bytes, kind: str, hidden_of) -> list[SourceSheet]:
    out = []
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = wb.sheets_metadata
    except Exception as exc:  # noqa: BLE001 - calamine raises its own classes for every kind of damage
        if _encrypted(data):
            raise ImportRejected("工作簿设置了打开密码（已加密），请在 Excel 中取消密码后再上传") from None
        raise ImportRejected(f"文件无法读取，可能已损坏或不是表格文件：{type(exc).__name__}") from None
    for meta in metas:
        if str(getattr(meta, "visible", "Visible")).lower().find("hidden") >= 0:
            continue  # a hidden sheet holds helper data, never the ledger
        try:
            sheet = wb.get_sheet_by_name(meta.name)
            merged = sheet.merged_cell_ranges or []
            rows = []
            if sheet.start is not None:
                pad = [""] * sheet.start[1]  # rows start at row 1, columns at the first used one
                rows = [pad + list(r) for r in sheet.iter_rows()]
        except Exception as exc:  # noqa: BLE001
            raise ImportRejected(f"工作表「{meta.name}」无法读取，文件可能已损坏：{type(exc).__name__}") from None
        hidden_rows, hidden_cols = hidden_of(meta.name) if hidden_of else (set(), set())
        out.append(SourceSheet(name=meta.name, rows=rows, kind=kind,
                               merged=[(a[0], a[1], b[0], b[1]) for a, b in merged],
                               hidden_rows=hidden_rows, hidden_cols=hidden_cols))
    if not out:
        raise ImportRejected("工作簿中没有可见的工作表")
    return out

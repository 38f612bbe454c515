"""The 处置记录 and 更新替换记录 sheets of a 台账 workbook: their columns, export rows and import.

A row is read into the same dict the web form and the JSON API send, and validated by the same
functions (registry.disposals.services: parse_disposal / parse_replacement, then add_disposal /
add_replacement with their checks). A service's error names a field; here it becomes the cell the
clerk sees, 「处置记录」第 7 行 C 列（处置日期）. A row whose record is already stored with the same values
is unchanged (so an export re-imports as no change); a stored record is never changed by an import.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.bulk import chunked
from registry.disposals import services as records
from registry.disposals.models import Disposal, Replacement
from registry.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.transfer.layout import extra_text
from registry.transfer.upload import ImportRejected, RawSheet, column_letter

DISPOSAL_SHEET = "处置记录"
REPLACEMENT_SHEET = "更新替换记录"
HEADER_SEARCH_ROWS = 10
MAX_RECORD_ROWS = 20_000
RECORD_CHUNK = 1_000  # records loaded per statement by an export (memory stays flat)


@dataclass(frozen=True)
class RecordColumn:
    """One column of a record sheet: the key the disposals parser reads, its label, whether it is required."""

    name: str
    label: str
    required: bool = False
    help: str = ""


DISPOSAL_COLUMNS = (
    RecordColumn("asset", "设备编码", True, "已登记设备（或本文件设备工作表中）的设备编码"),
    RecordColumn("way", "处置方式", True, "报废拆解、转让、调拨、再制造"),
    RecordColumn("disposed_on", "处置日期", True, "不早于投入使用日期，不晚于今天"),
    RecordColumn("receiver", "接收企业", True),
    RecordColumn("recycling_certificate_no", "报废机动车回收证明编号", False, "车辆报废拆解必填；一个编号只对应一台设备"),
    RecordColumn("deregistration_no", "注销登记编号", False, "车辆、电梯、工程机械报废拆解必填；一个编号只对应一台设备"),
    RecordColumn("note", "备注"),
)
REPLACEMENT_COLUMNS = (
    RecordColumn("new_asset", "新设备编码", True, "已登记设备（或本文件设备工作表中）的设备编码"),
    RecordColumn("replaces", "被替换设备编码", True, "多个用顿号或逗号分隔，须与新设备同一部门"),
    RecordColumn("replaced_on", "更新日期", True),
    RecordColumn("investment_yuan", "投资金额（元）", True, "大于 0，不超过 10 亿元，最多两位小数"),
    RecordColumn("funding_source", "资金来源", True),
    RecordColumn("efficiency_level", "能效水平"),
    RecordColumn("emission_standard", "排放标准"),
    RecordColumn("new_energy", "是否新能源", False, "是 / 否"),
    RecordColumn("note", "备注"),
)
SHEETS = {DISPOSAL_SHEET: DISPOSAL_COLUMNS, REPLACEMENT_SHEET: REPLACEMENT_COLUMNS}


# --- export --------------------------------------------------------------------------------------
def export_rows(asset_ids) -> dict[str, list[list]]:
    """Return the rows of both record sheets for the assets `asset_ids` (a SELECT of ids): their disposals, and
    the replacements whose new asset is among them, in the columns above."""
    disposals = _records_of(Disposal, Disposal.asset_id, asset_ids)
    out = {DISPOSAL_SHEET: [[d.asset.code, d.way.label, d.disposed_on, d.receiver, d.recycling_certificate_no,
                             d.deregistration_no, d.note] for d in disposals]}
    replacements = _records_of(Replacement, Replacement.new_asset_id, asset_ids)
    out[REPLACEMENT_SHEET] = [[r.new_asset.code, "、".join(link.old_asset.code for link in r.links), r.replaced_on,
                               r.investment_yuan, r.funding_source.label,
                               r.efficiency_level.label if r.efficiency_level else None, r.emission_standard,
                               r.new_energy, r.note] for r in replacements]
    return out


def _records_of(model, asset_column, asset_ids):
    """Yield the `model` records whose `asset_column` is among `asset_ids`, in id order, 1,000 at a time.

    The ids first, then the records with their eager joins: in one statement PostgreSQL joined every
    record to its asset and units before filtering (~40 ms a sheet at 1M assets, for a handful of rows).
    """
    ids = list(db.session.scalars(sa.select(model.id).where(asset_column.in_(asset_ids)).order_by(model.id)))
    for chunk in chunked(ids, RECORD_CHUNK):
        yield from db.session.scalars(sa.select(model).where(model.id.in_(chunk)).order_by(model.id))


# --- import --------------------------------------------------------------------------------------
@dataclass
class RecordRow:
    """One data row of a record sheet: its Excel row number and the raw values by parser key."""

    row: int
    raw: dict
    values: dict | None = None  # parsed (None when the row did not parse)


@dataclass
class RecordSheet:
    """A record sheet as found in the upload: its columns (parser key -> column index) and rows."""

    name: str
    sheet: RawSheet
    header_row: int = 1
    columns: dict[str, int] = field(default_factory=dict)
    rows: list[RecordRow] = field(default_factory=list)
    created: int = 0
    unchanged: int = 0


def _cell(value):
    """Return a cell as the parsers take it: text stripped; whole numbers (a code typed as a number) as text."""
    if value is None or isinstance(value, (bool,)) or hasattr(value, "isoformat"):
        return value
    if isinstance(value, float):
        return extra_text(value) if value.is_integer() else value
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def locate(name: str, sheet: RawSheet) -> RecordSheet:
    """Find the header row of a record sheet and its columns; refuse unknown, repeated or missing columns."""
    columns = SHEETS[name]
    by_label = {c.label: c for c in columns}
    for index, row in enumerate(itertools.islice(sheet.iter_rows(), HEADER_SEARCH_ROWS)):
        header = [str(c).strip().rstrip("*＊").strip() if c is not None else "" for c in row]
        if columns[0].label in header:
            break
    else:
        raise ImportRejected(f"工作表「{name}」缺少表头：前 {HEADER_SEARCH_ROWS} 行中没有找到“{columns[0].label}”列，"
                             "请使用本系统导出的台账或模板")
    found: dict[str, int] = {}
    problems = []
    for i, text in enumerate(header):
        if not text:
            continue
        column = by_label.get(text)
        if column is None:
            problems.append(f"{column_letter(i)}{index + 1}「{text[:40]}」不是「{name}」的列名")
        elif column.name in found:
            problems.append(f"{column_letter(i)}{index + 1}「{text}」列重复")
        else:
            found[column.name] = i
    missing = [c.label for c in columns if c.required and c.name not in found]
    if missing:
        problems.insert(0, "缺少必填列：" + "、".join(missing))
    if problems:
        raise ImportRejected(f"工作表「{name}」的表头有误，可用的列：{'、'.join(by_label)}", problems)
    located = RecordSheet(name=name, sheet=sheet, header_row=index + 1, columns=found)
    for row_no, row in enumerate(itertools.islice(sheet.iter_rows(), index + 1, None), start=index + 2):
        raw = {key: _cell(row[i]) if i < len(row) else None for key, i in found.items()}
        if all(v in (None, "") for v in raw.values()):
            continue
        if len(located.rows) >= MAX_RECORD_ROWS:
            raise ImportRejected(f"工作表「{name}」超过 {MAX_RECORD_ROWS:,} 行，请拆分后分批导入")
        located.rows.append(RecordRow(row_no, raw))
    return located


def _report(result, sheet: RecordSheet, row: RecordRow, exc: DomainError) -> None:
    """Turn a service refusal (errors by field) into problems at the cells of `row`."""
    labels = {c.name: c.label for c in SHEETS[sheet.name]}
    errors = exc.errors if isinstance(exc.errors, dict) and exc.errors else {"_schema": [exc.message]}
    for key, messages in errors.items():
        col = sheet.columns.get(key)
        for message in messages if isinstance(messages, list) else [str(messages)]:
            result.add_record_error(sheet.name, row.row, col, labels.get(key), message)


def parse(result, sheets: list[RecordSheet]) -> None:
    """Parse every row with the services' parsers (no database); problems go on `result`."""
    for sheet in sheets:
        parser = records.parse_disposal if sheet.name == DISPOSAL_SHEET else records.parse_replacement
        key = "asset" if sheet.name == DISPOSAL_SHEET else "new_asset"
        for row in sheet.rows:
            if key == "asset" and row.raw.get(key) in (None, ""):  # parse_replacement checks its own new_asset
                result.add_record_error(sheet.name, row.row, sheet.columns.get(key), SHEETS[sheet.name][0].label,
                                        f"{SHEETS[sheet.name][0].label}：不能为空")
            try:
                row.values = parser(row.raw)
            except ValidationFailed as exc:
                _report(result, sheet, row, exc)


def _same_disposal(stored: Disposal, values: dict) -> bool:
    return all(getattr(stored, k) == v for k, v in values.items())


def _same_replacement(stored: Replacement, values: dict) -> bool:
    replaced = {link.old_asset.code for link in stored.links}
    wanted = {a.code for ref in values["replaces"] if (a := records.find_asset(ref)) is not None}
    return replaced == wanted and len(wanted) == len(set(values["replaces"])) and all(
        getattr(stored, k) == values[k] for k in ("replaced_on", "investment_yuan", "funding_source",
                                                   "efficiency_level", "emission_standard", "new_energy", "note"))


def _asset_for(user, code: str, label: str) -> Asset:
    asset = records.find_asset(code)
    if asset is None or not records.may_edit(user, asset):
        raise ValidationFailed("校验未通过", {"_key": [f"{label}：「{code}」不存在或您无权修改"]})
    return asset


def write(result, sheets: list[RecordSheet], user) -> None:
    """Check and add every parsed row through the services, in the caller's transaction (not committed).

    Assets of the same upload are already written, so a record may name an asset the file creates.
    Replacements go first: an asset both replaced and disposed of stays 已更新 without passing 已报废.
    """
    for sheet in sorted(sheets, key=lambda s: s.name != REPLACEMENT_SHEET):
        is_disposal = sheet.name == DISPOSAL_SHEET
        key = "asset" if is_disposal else "new_asset"
        label = SHEETS[sheet.name][0].label
        for row in sheet.rows:
            if row.values is None or row.raw.get(key) in (None, ""):
                continue
            try:
                try:
                    asset = _asset_for(user, str(row.raw[key]), label)
                except ValidationFailed as exc:
                    raise ValidationFailed(exc.message, {key: exc.errors["_key"]}) from None
                if is_disposal:
                    stored = records.disposal_of(asset.id)
                    if stored is not None and _same_disposal(stored, row.values):
                        sheet.unchanged += 1
                        continue
                    records.add_disposal(asset, user, row.values)  # checks first: a refused row writes nothing
                else:
                    stored = records.replacement_by_new(asset.id)
                    if stored is not None and _same_replacement(stored, row.values):
                        sheet.unchanged += 1
                        continue
                    records.add_replacement(user, asset, row.values)
                sheet.created += 1
            except (ValidationFailed, Conflict, NotFound, PermissionDenied) as exc:
                if isinstance(exc, Conflict):
                    exc = ValidationFailed(exc.message, {key: [f"{label}：{exc.message}；已有的记录不能通过导入修改"]})
                _report(result, sheet, row, exc)

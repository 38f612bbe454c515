"""Import a real ledger (any sheet, any header) through a column/value mapping.

`analyse` reads the file, finds the table and suggests a mapping (or takes a stored profile);
`run_ledger_import` applies a mapping and hands the rows, in the registry's own layout, to the
template importer, so validation, all-or-nothing writing and history are the same code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from registry import clock
from registry.assets.codes import next_codes
from registry.assets.fields import display_value
from registry.assets.models import DETAIL_MODELS, Asset
from registry.audit import services as audit
from registry.bulk import IN_LIST_CHUNK, cyclic_gc_paused
from registry.enums import Category
from registry.extensions import db
from registry.transfer import import_writer
from registry.transfer import mapping as mp
from registry.transfer.importer import ImportResult, Problem, Progress, locate_header, parse_rows
from registry.transfer.layout import Table, locate_table
from registry.transfer.models import ImportProfile
from registry.transfer.profiles import check_profile_department, header_key
from registry.transfer.upload import ImportRejected, RawSheet, SourceSheet, column_letter, read_sheets

PREVIEW_ROWS = 20
# The natural key that finds an asset again when the ledger has no registry code.
NATURAL_KEYS = {
    Category.OFFICIAL_CAR: ("plate_number",),
    Category.ELEVATOR: ("registration_code",),
    Category.CONSTRUCTION_MACHINE: ("factory_serial_no", "brand_model"),
    Category.FARM_MACHINE: ("factory_serial_no", "brand_model"),
    Category.MEDICAL_DEVICE: ("registration_cert_no", "出厂编号"),
}

# The type a composed name starts with (「轿车 帕萨特」) when the ledger has no name column.
NAME_TYPE = {Category.OFFICIAL_CAR: "vehicle_type", Category.ELEVATOR: "elevator_type",
             Category.FARM_MACHINE: "machine_type", Category.CONSTRUCTION_MACHINE: "machine_type",
             Category.PIPE: "facility_type", Category.MEDICAL_DEVICE: "device_class"}


@dataclass
class Analysis:
    """What a ledger file holds: its sheets, the table found, the category and a mapping to use."""

    filename: str
    sheets: list[SourceSheet]
    sheet: SourceSheet
    table: Table
    category: Category
    mapping: dict
    profile: ImportProfile | None = None
    choices: list = field(default_factory=list)  # mapping.ColumnChoice per column (suggestions)
    keep_hidden: bool = False  # hidden rows and columns were kept as data

    @property
    def header_key(self) -> str:
        """Return the fingerprint of the header that a profile is matched on."""
        return header_key(self.category, [c.title for c in self.table.columns])


def data_sheets(sheets: list[SourceSheet]) -> list[tuple[SourceSheet, int]]:
    """Return the sheets that hold a recognisable table, each with its number of data rows."""
    out = []
    for s in sheets:
        try:
            table = locate_table(s, mp.known_words())
        except ImportRejected:
            continue
        out.append((s, len(table.data_rows)))
    return out


def analyse(data: bytes, filename: str, *, category: Category | None = None, sheet: str | None = None,
            keep_hidden: bool = False, department_id: int | None = None) -> Analysis:
    """Read a ledger, pick its sheet, find its table and category, and suggest (or recall) a mapping."""
    with cyclic_gc_paused():
        sheets = read_sheets(data, filename)
        if sheet is not None:
            chosen = [s for s in sheets if s.name == sheet]
            if not chosen:
                raise ImportRejected(f"没有名为「{sheet}」的工作表（现有：{'、'.join(str(s.name) for s in sheets)}）")
            source = chosen[0]
        else:
            candidates = data_sheets(sheets) if len(sheets) > 1 else [(sheets[0], 0)]
            if len(candidates) > 1:
                raise SheetChoiceNeeded([(s.name, n) for s, n in candidates])
            source = candidates[0][0] if candidates else sheets[0]
        table = locate_table(source, mp.known_words(), keep_hidden)
        category = category or mp.detect_category(table)
        if category is None:
            raise ImportRejected("无法从列名判断设备类别，请选择类别（命令行：--category）",
                                 [f"{c.letter} 列：{c.title}" for c in table.columns][:40])
        choices = mp.suggest_columns(table, category, keep_hidden)
        analysis = Analysis(filename, sheets, source, table, category, mp.suggest(table, category, keep_hidden),
                            choices=choices, keep_hidden=keep_hidden)
        if department_id is not None:
            profile = db.session.scalar(sa.select(ImportProfile).where(
                ImportProfile.department_id == department_id, ImportProfile.header_key == analysis.header_key,
                ImportProfile.deleted_at.is_(None)).order_by(ImportProfile.updated_at.desc()).limit(1))
            if profile is not None:
                analysis.profile = profile
                analysis.mapping = merge_profile(analysis.mapping, profile.mapping)
    return analysis


class SheetChoiceNeeded(ImportRejected):
    """Several sheets hold data: the user picks one (names and row counts in `errors`)."""

    def __init__(self, sheets: list[tuple[str, int]]):
        super().__init__("文件中有多个工作表含有数据，请选择要导入的工作表（命令行：--sheet 名称）",
                         [f"「{n}」：{c} 行" for n, c in sheets])
        self.sheets = sheets


def merge_profile(suggested: dict, profile: dict) -> dict:
    """Overlay a saved mapping on the suggestions (columns and values the profile knows win)."""
    out = json.loads(json.dumps(suggested))
    out["columns"].update({k: v for k, v in profile.get("columns", {}).items() if k in out["columns"]})
    for name, values in profile.get("values", {}).items():
        out["values"].setdefault(name, {}).update(values)
    for key in ("set", "copy"):
        out[key] = {**profile.get(key, {}), **out.get(key, {})}
    for key in ("partial_dates", "keep_hidden", "category"):
        if key in profile:
            out[key] = profile[key]
    return out


def _key_part(value) -> str:
    """Return one part of a natural key as compared: the value's text, stripped ("" when empty)."""
    if value.__class__ is str:
        return value.strip()
    if value.__class__ is float and value.is_integer() and abs(value) < 1e18:
        # Excel keeps an all-digit serial as a number (read as 2011001.0); the asset stores the text
        # the field parser made of it, 「2011001」 (fields.parse_value), so both must read alike.
        return str(int(value))
    return "" if value is None else str(value).strip()


def _fill_keys(prepared: mp.Prepared, category: Category, result: ImportResult) -> None:
    """Give rows without a code the code of the asset their natural key finds, or a new one; compose names."""
    pos = {s.name: i for i, s in enumerate(prepared.specs)}
    code_at, name_at = pos["code"], pos["name"]
    name_generated = prepared.sources[name_at] is None and prepared.source_titles[name_at] == mp.GENERATED["name"]
    keys = NATURAL_KEYS.get(category, ())
    key_at = [(k, pos.get(k)) for k in keys]  # position None: the part is an extra attribute
    type_at = pos.get(NAME_TYPE.get(category, ""))
    extras = prepared.extras

    def key_of(r, values):
        parts = tuple(_key_part(values[at] if at is not None else extras.get(r, {}).get(k)) for k, at in key_at)
        return parts if keys and all(parts) else None

    missing = [(r, values, key_of(r, values)) for r, values in prepared.rows.items()
               if not _key_part(values[code_at] or "")]
    wanted = {key for _, _, key in missing if key is not None}
    found = _existing_by_key(category, keys, wanted) if wanted else {}
    seen: dict[tuple, int] = {}
    fresh = iter(next_codes(category, sum(1 for _, _, key in missing if key not in found)))
    for r, values, key in missing:
        if key is not None:
            if key in seen:
                label = "+".join(k if k not in pos else prepared.specs[pos[k]].label for k in keys)
                result.add_error(r + 1, None, f"{label}「{' '.join(key)}」与第 {seen[key] + 1} 行重复")
            seen.setdefault(key, r)
        values[code_at] = found.get(key) or next(fresh)
    if name_generated:
        for r, values in prepared.rows.items():
            parts = [values[type_at] if type_at is not None else "", values[pos["brand_model"]]
                     if "brand_model" in pos else ""]
            values[name_at] = " ".join(str(p).strip() for p in parts if p not in (None, "") and str(p).strip()) \
                or category.label


def _existing_by_key(category: Category, keys: tuple, wanted: set[tuple]) -> dict[tuple, str]:
    """Return {natural key: code} of the category's live assets whose natural key is in `wanted`."""
    detail = DETAIL_MODELS[category].__table__
    assets = Asset.__table__
    cols, in_extra = [], []
    for k in keys:
        column = detail.c.get(k) if k in detail.c else assets.c.get(k)
        cols.append(assets.c.extra if column is None else column)
        in_extra.append(column is None)  # a part kept as an extra attribute: read from the JSON below
    stmt = sa.select(assets.c.code, *cols).select_from(assets.join(detail, detail.c.asset_id == assets.c.id)) \
        .where(assets.c.category == category, assets.c.deleted_at.is_(None))
    # Narrow by the first key when it is a column (serial numbers, plates) and the keys fit one IN list
    # (PostgreSQL allows 65,535 bind parameters). The keys have no index, so every IN query scans the
    # category: more keys than one list read it once, unfiltered. The other parts are compared below.
    firsts = {k[0] for k in wanted}
    if not in_extra[0] and len(firsts) <= IN_LIST_CHUNK:
        stmt = stmt.where(cols[0].in_(sorted(firsts)))
    out = {}
    plain = not any(in_extra)
    for code, *values in db.session.execute(stmt).all():  # plain (code, key parts...) tuples, no ORM objects
        if plain:
            key = tuple(_key_part(v) for v in values)
        else:
            key = tuple(_key_part((v or {}).get(k) if extra else v) for k, v, extra in zip(keys, values, in_extra))
        if key in wanted:
            out[key] = code
    return out


def run_ledger_import(analysis: Analysis, mapping: dict, user=None, *, dry_run: bool = False,
                      max_rows: int = 200_000, today: date | None = None,
                      progress: Progress | None = None) -> ImportResult:
    """Apply `mapping` to the analysed ledger; validate every row and write all rows or none."""
    with cyclic_gc_paused():
        today = today or clock.today()  # the users' date (Asia/Shanghai), not the server's
        category, table = analysis.category, analysis.table
        check_profile_department(mapping, user)
        import_writer.check_permission(user, category)
        mp.refuse_if_unusable(table, category, mapping)
        if len(table.data_rows) > max_rows:
            raise ImportRejected(f"数据超过 {max_rows:,} 行的导入上限，请拆分文件后分批导入")
        prepared = mp.apply(table, category, mapping)
        result = ImportResult(filename=analysis.filename, category=category)
        result.skipped = [(r + 1, why) for r, why in table.skipped]
        _fill_keys(prepared, category, result)
        header = table.header_rows[-1]
        rows = [[] for _ in range(header)] + [[s.label for s in prepared.specs]]
        rows += [prepared.rows.get(r, []) for r in range(header + 1, len(table.sheet.rows))]
        raw = RawSheet(name=category.label, rows=rows, category=category, kind="ledger")
        _, _, columns = locate_header(raw)
        result.sheet, result.header_row, result.columns = raw, header + 1, columns
        result.extras = {r + 1: extras for r, extras in prepared.extras.items()}
        parsed = parse_rows(result, max_rows, today, progress, import_writer.decimal_steps(columns, category))
        for r, col, title, message in prepared.errors:
            result.errors.append(Problem(r + 1, _place(col, title), message, col))
        for r, col, title, message in prepared.warnings:
            result.warnings.append(Problem(r + 1, _place(col, title), message, col))
        for p in result.errors + result.warnings:
            if p.col is not None and p.column in {s.label for s in prepared.specs}:
                src = prepared.sources[p.col] if p.col < len(prepared.sources) else None
                p.column, p.col = _place(src, prepared.source_titles[p.col]), src
        result.errors.sort(key=lambda p: (p.row, p.col if p.col is not None else -1))
        specs = prepared.specs
        pos = result.positions
        for prow in parsed[:PREVIEW_ROWS]:
            result.preview.append((prow.row, [display_value(s, prow.values[pos[s.name]]) or "" for s in specs]))
        result.preview_header = [s.label for s in specs]
        if not parsed and not result.errors:
            raise ImportRejected(f"文件中没有数据行（表头在第 {header + 1} 行）")
        # Error cells are marked on a copy of the upload itself, as the clerk laid it out.
        result.sheet = RawSheet(name=analysis.sheet.name or category.label, rows=analysis.sheet.rows, kind="copy")
        import_writer.plan_and_write(result, parsed, user, dry_run=dry_run, progress=progress)
    return result


def _place(col: int | None, title: str) -> str:
    return f"{column_letter(col)} 列（{title}）" if col is not None else title


def record_rejection(filename: str, details: dict, user=None) -> None:
    """Undo whatever a failed import left in the session and audit the refusal (its own transaction)."""
    db.session.rollback()
    audit.record("asset.import", outcome="rejected", object_type="asset", user=user,
                 details={"file": filename, **details})
    db.session.commit()

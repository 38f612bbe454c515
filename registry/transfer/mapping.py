"""Map a real ledger's columns and values onto registry fields, using synonyms kept as data.

`suggest` proposes a mapping (every column and every enumeration value, with a confidence);
`apply` turns the located table into the registry's own layout, so the template importer
(importer.parse_rows / import_writer) validates and writes it exactly like a template upload.
A mapping is plain JSON: it is what a profile stores and what `--mapping FILE` reads.
"""
from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from registry.assets.fields import FieldSpec, fields_for
from registry.enums import Category
from registry.transfer.layout import Column, Table, _strip_unit, extra_text, norm
from registry.transfer.upload import ImportRejected, column_letter

SYNONYMS_PATH = os.path.join(os.path.dirname(__file__), "synonyms.json")
EXTRA, IGNORE, FLOORS_STOPS = "extra", "ignore", "floors_stops"
PARTIAL_DATE_POLICIES = {"first": "按首日计（2015年6月→2015-06-01，2010年→2010-01-01）",
                         "mid": "按年中/月中计（2015年6月→2015-06-15，2010年→2010-07-01）",
                         "refuse": "拒绝，要求填写完整日期"}
MAX_NUMBER_TEXT = 40  # longer "numbers" are refused before any conversion
TARGET_LABELS = {EXTRA: "附加属性（保存原值）", IGNORE: "不导入", FLOORS_STOPS: "层数 和 站数（如 24/24）"}
GENERATED = {"code": "按系统编码规则生成", "name": "由类型和型号组成"}


@functools.cache
def synonyms() -> dict:
    """Return the synonym data (header words and value words) from synonyms.json."""
    with open(SYNONYMS_PATH, encoding="utf-8") as fh:
        return json.load(fh)


@functools.cache
def header_words(category: Category) -> dict[str, tuple[str, float]]:
    """Map each normalized header word to (target, confidence) for `category`."""
    data = synonyms()
    out: dict[str, tuple[str, float]] = {}
    for word in data["ignore"]:
        out[norm(word)] = (IGNORE, 0.95)
    for name, words in data["fields"].items():
        for w in words:
            out.setdefault(norm(w), (name, 0.9))
    for name, words in data["by_category"].get(category.value, {}).items():
        for w in words:
            out[norm(w)] = (name, 0.9)
    names = {s.name for s in fields_for(category)} | {FLOORS_STOPS}
    out = {w: t for w, t in out.items() if t[0] in names or t[0] == IGNORE}
    for spec in fields_for(category):
        out[norm(spec.label)] = (spec.name, 1.0)
    return out


@functools.cache
def known_words() -> frozenset[str]:
    """Return every header word of every category (to find the header row)."""
    return frozenset(w for c in Category for w in header_words(c))


def specs_by_name(category: Category) -> dict[str, FieldSpec]:
    """Return the category's fields by name."""
    return {s.name: s for s in fields_for(category)}


def match_header(text: str, category: Category) -> tuple[str, float]:
    """Return (target, confidence) of one header text; unknown headers become extra attributes."""
    words = header_words(category)
    key = norm(text)
    if key in words:
        return words[key]
    bare = _strip_unit(key)
    if bare in words:
        target, conf = words[bare]
        return target, round(conf - 0.1, 2)
    for word, (target, conf) in sorted(words.items(), key=lambda kv: -len(kv[0])):
        if len(word) >= 3 and word in key and target != IGNORE:
            return target, 0.6
    return EXTRA, 0.5


def detect_category(table: Table) -> Category | None:
    """Guess the category from the columns that match category-specific words, and the sheet name."""
    scores = {}
    for cat in Category:
        own = {s.name for s in fields_for(cat) if s.table != "asset"} | {FLOORS_STOPS}
        score = sum(2 if match_header(c.label, cat)[0] in own and match_header(c.label, cat)[1] >= 0.8 else 0
                    for c in table.columns)
        name = table.sheet.name or ""
        if cat.label in name or (cat is Category.OFFICIAL_CAR and "车" in name):
            score += 1
        scores[cat] = score
    best = max(scores.values())
    winners = [c for c, s in scores.items() if s == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


@dataclass
class ColumnChoice:
    """The suggested (or chosen) target of one source column."""

    index: int
    letter: str
    title: str
    label: str
    target: str
    confidence: float
    note: str = ""


def suggest(table: Table, category: Category, keep_hidden: bool = False) -> dict:
    """Return a suggested mapping (profile JSON) for `table`, with confidences in `_confidence`."""
    choices = suggest_columns(table, category, keep_hidden)
    mapping = {"category": category.value, "header": [c.title for c in table.columns],
               "columns": {c.title: c.target for c in choices},
               "_confidence": {c.title: c.confidence for c in choices},
               "values": {}, "set": {}, "copy": {}, "partial_dates": "first", "keep_hidden": keep_hidden}
    stats = value_stats(table, category, mapping)
    mapping["_value_confidence"] = {}
    for name, counts in stats.items():
        spec = specs_by_name(category)[name]
        found = {raw: suggest_value(spec, raw) for raw in counts}
        mapping["values"][name] = {raw: label for raw, (label, _) in found.items()}
        mapping["_value_confidence"][name] = {raw: conf for raw, (_, conf) in found.items()}
    return mapping


def suggest_columns(table: Table, category: Category, keep_hidden: bool = False) -> list[ColumnChoice]:
    """Suggest a target for each column; a field is given to one column only (the most confident)."""
    out = []
    for col in table.columns:
        target, conf = match_header(col.label, category)
        if target in (EXTRA, "name") and col.group:
            g_target, g_conf = match_header(col.group, category)  # 「使用单位 / 名称」 -> 使用单位
            if g_target not in (EXTRA, IGNORE, "name"):
                target, conf = g_target, round(g_conf - 0.1, 2)
        note = "隐藏列" if col.hidden else ""
        if col.hidden and not keep_hidden:
            target, conf = IGNORE, 0.9
        out.append(ColumnChoice(col.index, col.letter, col.title, col.label, target, conf, note))
    best: dict[str, ColumnChoice] = {}
    for choice in out:
        if choice.target in (EXTRA, IGNORE):
            continue
        other = best.get(choice.target)
        if other is None or choice.confidence > other.confidence:
            if other is not None:
                other.target, other.note = EXTRA, f"与 {choice.letter} 列同为该字段，改为附加属性"
            best[choice.target] = choice
        else:
            choice.target, choice.note = EXTRA, f"与 {other.letter} 列同为该字段，改为附加属性"
    return out


def enum_table(spec: FieldSpec) -> dict[str, str]:
    """Map normalized words (labels, values, synonyms) to the label of a member of `spec.enum`."""
    labels = spec.enum.labels()
    out = {}
    for word_label, words in synonyms()["values"].get(spec.name, {}).items():
        if word_label in labels:
            for w in words:
                out[norm(w).lower()] = word_label
    for m in spec.enum:
        out[norm(m.label).lower()] = m.label
        out[norm(m.value).lower()] = m.label
    return out


def suggest_value(spec: FieldSpec, raw: str) -> tuple[str | None, float]:
    """Suggest the registry label for one source value of an enumeration column, with a confidence."""
    key = norm(raw).lower()
    labels = spec.enum.labels()
    if key in {norm(lbl).lower() for lbl in labels}:
        return next(lbl for lbl in labels if norm(lbl).lower() == key), 1.0
    table = enum_table(spec)
    if key in table:
        return table[key], 0.9
    hits = [lbl for lbl in labels if len(norm(lbl)) >= 2 and norm(lbl).lower() in key]
    if len(hits) == 1:
        return hits[0], 0.6
    return None, 0.0


def _source_columns(table: Table, mapping: dict) -> dict[str, int]:
    return {c.title: c.index for c in table.columns}


def value_stats(table: Table, category: Category, mapping: dict) -> dict[str, Counter]:
    """Count the distinct values of every enumeration column the mapping uses."""
    specs = specs_by_name(category)
    titles = _source_columns(table, mapping)
    out: dict[str, Counter] = {}
    for title, target in mapping["columns"].items():
        spec = specs.get(target)
        if spec is None or spec.kind != "enum" or title not in titles:
            continue
        c, rows = titles[title], table.sheet.rows
        cells = (rows[r][c] if c < len(rows[r]) else "" for r in table.data_rows)
        texts = (v.strip() if v.__class__ is str else "" if v is None else str(v).strip() for v in cells)
        out.setdefault(target, Counter()).update(t for t in texts if t)  # Counter counts in C
    return out


@dataclass
class Prepared:
    """The table in the registry's layout: field labels, rows by Excel row, and where each value came from."""

    category: Category
    specs: list[FieldSpec]
    rows: dict[int, list]  # 0-based source row -> values in `specs` order
    sources: list[int | None]  # per spec: source column index (None: set, generated)
    source_titles: list[str]
    extras: dict[int, dict[str, str]] = field(default_factory=dict)
    errors: list[tuple[int, int | None, str, str]] = field(default_factory=list)  # row, col, column title, message
    warnings: list[tuple[int, int | None, str, str]] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def check_mapping(table: Table, category: Category, mapping: dict) -> list[str]:
    """Return what is wrong or unresolved in `mapping` (Chinese, naming columns and values); [] when usable."""
    problems = []
    specs = specs_by_name(category)
    titles = _source_columns(table, mapping)
    labels = {c.title: c.label for c in table.columns}
    if mapping.get("category") not in (None, category.value):
        problems.append(f"映射方案属于「{Category(mapping['category']).label}」，与本文件的类别「{category.label}」不符")
    used: dict[str, str] = {}
    letters = {c.title: c.letter for c in table.columns}
    for title, target in mapping.get("columns", {}).items():
        if title not in titles or target in (EXTRA, IGNORE):
            continue
        if target not in specs and target != FLOORS_STOPS:
            problems.append(f"{letters[title]} 列「{title}」映射到未知字段「{target}」")
            continue
        targets = ["floors", "stops"] if target == FLOORS_STOPS else [target]
        for t in targets:
            if t in used:
                problems.append(f"{used[t]} 列和 {letters[title]} 列都映射到「{specs[t].label}」，一个字段只能对应一列")
            used[t] = letters[title]
    for name, value in mapping.get("set", {}).items():
        if name not in specs:
            problems.append(f"--set 的字段「{name}」不是{category.label}的字段")
        elif name in used:
            problems.append(f"「{specs[name].label}」已对应 {used[name]} 列，不能再用 --set 指定")
        else:
            used[name] = "指定值"
    for name, source in mapping.get("copy", {}).items():
        if name not in specs:
            problems.append(f"--copy 的字段「{name}」不是{category.label}的字段")
        elif source not in titles and source not in {labels[t] for t in titles}:
            problems.append(f"--copy {specs[name].label}=「{source}」：文件中没有这一列")
        elif name in used:
            problems.append(f"「{specs[name].label}」已对应 {used[name]} 列，不能再用 --copy 指定")
        else:
            used[name] = "复制列"
    for spec in fields_for(category):
        if spec.required and spec.name not in used and spec.name not in GENERATED:
            problems.append(f"必填字段「{spec.label}」没有对应的列：请指定对应的列，"
                            f"或为所有行填同一个值（--set {spec.label}=值），或复制另一列（--copy {spec.label}=源列名）")
    for name, counts in value_stats(table, category, mapping).items():
        spec = specs[name]
        chosen = mapping.get("values", {}).get(name, {})
        allowed = set(spec.enum.labels())
        for raw, n in counts.items():
            label = chosen.get(raw)
            if label is None:
                label, conf = suggest_value(spec, raw)
                if conf < 1.0:
                    label = None
            if label not in allowed:
                problems.append(f"「{spec.label}」的值「{raw[:40]}」（{n} 行）没有对应的系统选项，"
                                f"可选：{'、'.join(spec.enum.labels())}")
    if mapping.get("partial_dates", "first") not in PARTIAL_DATE_POLICIES:
        problems.append("partial_dates 只能是 first、mid 或 refuse")
    return problems


def lookup_field(category: Category, text: str) -> str | None:
    """Return the field name for a field name or Chinese label typed by the user (for --set/--copy)."""
    for spec in fields_for(category):
        if text in (spec.name, spec.label) or norm(text) == norm(spec.label):
            return spec.name
    target, conf = match_header(text, category)
    return target if conf >= 0.9 and target not in (EXTRA, IGNORE) else None


# --- transforms ------------------------------------------------------------------------------
_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*([^\d.+-][^\d]*)?$")
_YEAR = re.compile(r"^(\d{4})\s*年?$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*(?:年|[-./])\s*(\d{1,2})\s*月?$")
_DATE_TIME = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})[ T]\d{1,2}:\d{2}(:\d{2})?$")
_SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")
_FLOORS = re.compile(r"^(\d{1,3})\s*(?:层)?\s*[/／、,，\-]\s*(\d{1,3})\s*(?:站)?(?:\s*[/／、,，\-]\s*\d{1,3}\s*门?)?$|"
                     r"^(\d{1,3})\s*层\s*(\d{1,3})\s*站")


class TransformError(ValueError):
    """A source value that no transform can read; the message is Chinese."""


def to_number_text(raw):
    """Return a number cell without units or thousands separators (「1,000kg」 -> 1000); bounded by length."""
    if not isinstance(raw, str):
        return raw
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise TransformError(f"「{text[:20]}…」过长（{len(text)} 个字符），不是有效数字")
    text = text.replace(",", "").replace("，", "").replace(" ", "")
    m = _NUMBER.match(text)
    return m.group(1) if m else text


def to_date_value(raw, policy: str) -> tuple[object, str | None]:
    """Turn a date written as text into one the date parser reads; apply the year-only/year-month policy."""
    if not isinstance(raw, str):
        if isinstance(raw, float) and 1900 <= raw <= 2100 and raw.is_integer():
            raw = str(int(raw))  # a year typed into a number cell
        else:
            return raw, None
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise TransformError(f"「{text[:20]}…」过长，不是日期")
    if _SERIAL.match(text):
        return int(float(text)), None
    m = _DATE_TIME.match(text)
    if m:
        return m.group(1), None
    m = _YEAR.match(text)
    ym = _YEAR_MONTH.match(text)
    if m or ym:
        if policy == "refuse":
            raise TransformError(f"「{text}」只有年份或年月，按所选规则不接受，请填写完整日期")
        year = int((m or ym).group(1))
        if m:
            month, day = (7, 1) if policy == "mid" else (1, 1)
        else:
            month, day = int(ym.group(2)), 15 if policy == "mid" else 1
            if not 1 <= month <= 12:
                raise TransformError(f"「{text}」不是有效日期")
        value = f"{year:04d}-{month:02d}-{day:02d}"
        return value, f"「{text}」不是完整日期，按 {value} 计（{PARTIAL_DATE_POLICIES[policy].split('（')[0]}）"
    return text, None


def split_floors(raw) -> tuple[int | None, int | None]:
    """Read 「24/24」, 「24层24站」 or 「24/24/24」 as (floors, stops)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, float) and raw.is_integer():
        return int(raw), int(raw)
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise TransformError("层站数过长，应写成 层/站，如 24/24")
    m = _FLOORS.match(text)
    if not m:
        raise TransformError(f"「{text}」无法识别为层站数，应写成 层/站，如 24/24")
    floors, stops = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return int(floors), int(stops)


def apply(table: Table, category: Category, mapping: dict) -> Prepared:
    """Build the rows in the registry's layout from `table` under `mapping` (already checked)."""
    specs = specs_by_name(category)
    index = {c.title: c for c in table.columns}
    by_label = {c.label: c for c in table.columns}
    plan: list[tuple[FieldSpec, object]] = []  # (spec, source) where source is a column, ("set", v) or ("floors"...)
    extras: list = []
    for title, target in mapping.get("columns", {}).items():
        col = index.get(title)
        if col is None:
            continue
        if target == EXTRA:
            extras.append(col)
        elif target == FLOORS_STOPS:
            plan.append((specs["floors"], ("floors", col)))
            plan.append((specs["stops"], ("stops", col)))
        elif target in specs:
            plan.append((specs[target], col))
    for name, value in mapping.get("set", {}).items():
        plan.append((specs[name], ("set", value)))
    for name, source in mapping.get("copy", {}).items():
        plan.append((specs[name], index.get(source) or by_label[source]))
    present = {spec.name for spec, _ in plan}
    for name in GENERATED:
        if name not in present:
            plan.append((specs[name], ("generated", name)))
    order = {s.name: i for i, s in enumerate(fields_for(category))}
    plan.sort(key=lambda p: order[p[0].name])
    out_specs = [p[0] for p in plan]
    sources = [p[1].index if isinstance(p[1], Column) else (p[1][1].index if p[1][0] in ("floors", "stops") else None)
               for p in plan]
    titles = [p[1].title if isinstance(p[1], Column) else
              (p[1][1].title if p[1][0] in ("floors", "stops") else GENERATED.get(p[1][1], "指定值"))
              for p in plan]
    prepared = Prepared(category, out_specs, {}, sources, titles)
    values_map = {name: {norm(k).lower(): v for k, v in m.items() if v} for name, m in mapping.get("values", {}).items()}
    policy = mapping.get("partial_dates", "first")
    # Compile the plan once: per output slot a constant, or a source column with its transform (None:
    # the cell passes as it is) and a memo of the texts already seen, since ledger columns repeat values.
    template: list = [""] * len(plan)
    constants: list[tuple[int, FieldSpec, Note]] = []  # a set value whose transform warned or failed: per row
    cells: list[tuple[int | tuple[int, int], int, object, dict]] = []  # (slot, column, transform, memo)
    floors: dict[int, list[int]] = {}  # source column -> [floors slot, stops slot]
    for k, (spec, source) in enumerate(plan):
        if isinstance(source, Column):
            cells.append((k, source.index, compile_transform(spec, values_map.get(spec.name, {}), policy), {}))
        elif source[0] == "set":
            transform = compile_transform(spec, values_map.get(spec.name, {}), policy)
            found = source[1] if transform is None else _outcome(transform, source[1])
            if found.__class__ is Note:
                template[k] = found.value
                constants.append((k, spec, found))
            else:
                template[k] = found
        elif source[0] in ("floors", "stops"):
            floors.setdefault(source[1].index, [None, None])[source[0] == "stops"] = k
    for col, (floors_at, stops_at) in floors.items():
        cells.append(((floors_at, stops_at), col, split_floors, {}))  # one 层站数 cell fills two slots
    extra_keys = _extra_keys(extras)
    extra_at = [(c.index, extra_keys[c.index]) for c in extras]
    sheet_rows, rows_out = table.sheet.rows, prepared.rows
    errors, warnings = prepared.errors, prepared.warnings
    for r in table.data_rows:
        row = sheet_rows[r]
        width = len(row)
        out = template.copy()
        for k, spec, note in constants:
            (errors if note.error else warnings).append((r, None, "指定值" if note.error else spec.label, note.message))
        for k, col, transform, memo in cells:
            raw = row[col] if col < width else ""
            if transform is None:
                out[k] = raw
                continue
            if raw.__class__ is str:
                hit = memo.get(raw)
                if hit is None:
                    hit = memo[raw] = _outcome(transform, raw)
            else:
                hit = _outcome(transform, raw)
            pair = k.__class__ is tuple
            if hit.__class__ is Note:
                if hit.error:
                    errors.append((r, col, titles[k[0] if pair else k], hit.message))
                else:
                    warnings.append((r, col, plan[k][0].label, hit.message))
                hit = hit.value
            if pair:
                out[k[0]], out[k[1]] = hit
            else:
                out[k] = hit
        rows_out[r] = out
        if extra_at:
            found = {key: extra_text(row[c]) for c, key in extra_at
                     if c < width and row[c] not in (None, "") and str(row[c]).strip()}
            if found:
                prepared.extras[r] = found
    return prepared


class Note:
    """A transform's outcome that must be reported per row: a warning with its value, or an error."""

    __slots__ = ("value", "message", "error")

    def __init__(self, value, message: str, error: bool):
        self.value, self.message, self.error = value, message, error


def _outcome(transform, raw):
    """Run `transform` on one cell: its value, or a Note (warning with value; error with the empty value)."""
    try:
        return transform(raw)
    except TransformError as exc:
        return Note((None, None) if transform is split_floors else "", str(exc), True)


def _extra_keys(columns) -> dict[int, str]:
    """Name each extra attribute by its column label, or by group / label where labels repeat."""
    counts = Counter(c.label for c in columns)
    return {c.index: (c.label if counts[c.label] == 1 else c.title) for c in columns}


def compile_transform(spec: FieldSpec, values: dict[str, str], policy: str):
    """Return the cell transform of `spec`'s source column (None: cells pass unchanged); it may raise TransformError.

    `values` is the mapping's value map of the field, keyed by normalized lower-case source text.
    A date transform returns a Note (the value with its warning) for a year-only or year-month date.
    Text kinds pass unchanged: the field parser strips them, as every later reader of the row does.
    """
    kind = spec.kind
    if kind == "enum":
        table = enum_table(spec)

        def to_enum(raw):
            if raw is None:
                return ""
            text = norm(raw).lower()
            if not text:
                return ""
            return values.get(text) or table.get(text) or str(raw).strip()
        return to_enum
    if kind in ("int", "decimal"):
        return to_number_text
    if kind == "date":
        def to_date(raw):
            if raw is None:
                return ""
            value, warning = to_date_value(raw, policy)
            return Note(value, warning, False) if warning else value
        return to_date
    if kind == "bool":
        return lambda raw: unicodedata.normalize("NFKC", raw).strip() if isinstance(raw, str) else raw
    return None


def describe_target(category: Category, target: str) -> str:
    """Return the Chinese name of a mapping target."""
    if target in TARGET_LABELS:
        return TARGET_LABELS[target]
    spec = specs_by_name(category).get(target)
    return spec.label if spec else target


def target_choices(category: Category) -> list[tuple[str, str]]:
    """Return every target a column may be given, for the mapping page."""
    out = [(s.name, s.label + ("（必填）" if s.required else "")) for s in fields_for(category)]
    if category is Category.ELEVATOR:
        out.append((FLOORS_STOPS, TARGET_LABELS[FLOORS_STOPS]))
    return out + [(EXTRA, TARGET_LABELS[EXTRA]), (IGNORE, TARGET_LABELS[IGNORE])]


def source_place(row0: int, col: int | None, title: str) -> str:
    """Name a cell as the clerk sees it in Excel: 第 7 行 H 列（投入使用日期）."""
    if col is None:
        return f"第 {row0 + 1} 行（{title}）"
    return f"第 {row0 + 1} 行 {column_letter(col)} 列（{title}）"


def refuse_if_unusable(table: Table, category: Category, mapping: dict) -> None:
    """Raise ImportRejected listing every unresolved column or value of `mapping`."""
    problems = check_mapping(table, category, mapping)
    if problems:
        raise ImportRejected("列或值的对应关系尚未确定，未写入任何数据", problems)

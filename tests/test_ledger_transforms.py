"""The compiled column transforms of `mapping.apply` give what the plain per-cell transforms give.

`apply` compiles a mapping once into one callable per column with a memo of the texts already seen
(issue 14's performance aim). `_reference_cell` below is the straightforward per-cell version it
replaced; both must agree on every value, error and warning over a table of awkward cells.
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime

import pytest

from registry.enums import Category
from registry.transfer import mapping as mp
from registry.transfer.layout import locate_table, norm
from registry.transfer.upload import SourceSheet

HEADER = ["序号", "注册代码", "电梯类型", "层站数", "额定载重量(kg)", "额定速度", "使用单位", "所在乡镇（街道）",
          "投入使用日期", "是否住宅", "近12个月故障次数", "安全管理员"]
AWKWARD = [
    # 注册代码, 电梯类型, 层站数, 额定载重量, 额定速度, 使用单位, 乡镇, 投入使用日期, 是否住宅, 故障次数, 安全管理员
    ("R1", "曳引式乘客电梯", "24/24", "1,000kg", "1.75m/s", " 锦绣物业 ", "新建路街道", "2015年6月", "是", 3.0, "张工"),
    ("R2", "曳引", "24层24站", "８００", "1.0", "锦绣物业", "新建路街道", "2015", "√", 0, ""),
    (" R3 ", "自动扶梯", 24.0, "", "0.5 m/s", "", "", "2010-6", "１", "2", None),
    ("R4", "扶梯", "abc", "1" * 41, "fast", None, "新华路街道", 2015.0, "否", "", "李工"),
    (123.0, "不知道的类型", "", 630, 1.5, "单位", "龙湖镇", "2015/06/01 10:00", True, "  ", "  "),
    ("R6", "", None, "1，000", "", "单位", "龙湖镇", "42000", "", None, 7),
    ("R7", None, "3/3/3", "  630 ", None, "单位", "龙湖镇", date(2010, 1, 5), None, "x", ""),
    ("R8", "液压电梯", "1/2", "630kg", "2", "单位", "龙湖镇", datetime(2011, 2, 3, 4, 5), "no", 1, "王工"),
    ("R9", "曳引式乘客电梯", "24/24", "1,000kg", "1.75m/s", " 锦绣物业 ", "新建路街道", "2015年6月", "是", 3.0, "张工"),
    ("R10", "曳引", "2015年13月", "1e5", "-1", "单位", "龙湖镇", "2015年13月", "是", -1, ""),
]


def _reference_cell(spec, raw, values_map, enum_tables, policy, prepared, r, col):
    """The per-cell transform `apply` used before it was compiled per column."""
    kind = spec.kind
    if raw is None:
        return ""
    if kind == "enum":
        text = norm(raw).lower()
        if not text:
            return ""
        label = values_map.get(spec.name, {}).get(text) or enum_tables[spec.name].get(text)
        return label if label else str(raw).strip()
    if kind in ("int", "decimal"):
        return mp.to_number_text(raw)
    if kind == "date":
        value, warning = mp.to_date_value(raw, policy)
        if warning:
            prepared.warnings.append((r, col, spec.label, warning))
        return value
    if kind == "bool" and isinstance(raw, str):
        return unicodedata.normalize("NFKC", raw).strip()
    if kind in ("str", "unit") and isinstance(raw, str):
        return raw.strip()
    return raw


def _reference_apply(table, category, mapping) -> mp.Prepared:
    """Apply `mapping` cell by cell, as `apply` did before (same plan, same order of slots)."""
    compiled = mp.apply(table, category, {**mapping})  # only for its plan: specs, sources and titles
    specs = mp.specs_by_name(category)
    index = {c.title: c for c in table.columns}
    out = mp.Prepared(category, compiled.specs, {}, compiled.sources, compiled.source_titles)
    values_map = {name: {norm(k).lower(): v for k, v in m.items() if v} for name, m in mapping.get("values", {}).items()}
    enum_tables = {s.name: mp.enum_table(s) for s in compiled.specs if s.kind == "enum"}
    policy = mapping.get("partial_dates", "first")
    floors_col = next((index[t].index for t, target in mapping["columns"].items() if target == mp.FLOORS_STOPS), None)
    for r in table.data_rows:
        row = table.sheet.rows[r]
        values, floors = [], None
        for k, spec in enumerate(compiled.specs):
            col = compiled.sources[k]
            if spec.name in mapping.get("set", {}):
                raw, col = mapping["set"][spec.name], None
            elif col is None:
                values.append("")
                continue
            elif col == floors_col:
                if floors is None:
                    try:
                        floors = mp.split_floors(row[col] if col < len(row) else "")
                    except mp.TransformError as exc:
                        floors = (None, None)
                        out.errors.append((r, col, compiled.source_titles[k], str(exc)))
                values.append(floors[0] if spec.name == "floors" else floors[1])
                continue
            else:
                raw = row[col] if col < len(row) else ""
            try:
                values.append(_reference_cell(specs[spec.name], raw, values_map, enum_tables, policy, out, r, col))
            except mp.TransformError as exc:
                out.errors.append((r, col, compiled.source_titles[k] if col is not None else "指定值", str(exc)))
                values.append("")
        out.rows[r] = values
    return out


def _table():
    rows = [["电梯台账"], HEADER] + [[i, *row] for i, row in enumerate(AWKWARD, 1)] + [["合计"]]
    return locate_table(SourceSheet(name="电梯", rows=rows, merged=[(0, 0, 0, 11)]), mp.known_words())


def _blank(value):
    return "" if value is None else value  # both mean an empty cell to the field parsers


@pytest.mark.parametrize("policy", ["first", "mid", "refuse"])
@pytest.mark.parametrize("set_values", [{}, {"owner_unit": " 新郑市住建局 ", "condition_assessed_on": "2016年"},
                                        {"owner_unit": "新郑市住建局", "condition_assessed_on": "2016年13月"}])
def test_compiled_transforms_agree_with_per_cell_transforms(policy, set_values):
    table = _table()
    category = Category.ELEVATOR
    mapping = mp.suggest(table, category)
    mapping.update(partial_dates=policy, set=set_values)
    mapping["values"]["elevator_type"]["不知道的类型"] = "液压"  # the user's choice wins
    mapping["values"]["elevator_type"]["自动扶梯"] = ""  # left open: the built-in words answer
    del mapping["values"]["elevator_type"]["液压电梯"]  # not in the mapping at all: the built-in words answer
    got, want = mp.apply(table, category, mapping), _reference_apply(table, category, mapping)
    assert got.specs == want.specs and got.sources == want.sources and got.source_titles == want.source_titles
    assert set(got.rows) == set(want.rows) == set(table.data_rows)
    for r in table.data_rows:
        for spec, g, w in zip(got.specs, got.rows[r], want.rows[r]):
            # Text fields pass unstripped now: the field parser strips them, as the reference did here.
            if spec.kind in ("str", "unit") and isinstance(g, str):
                g, w = g.strip(), w.strip() if isinstance(w, str) else w
            assert (_blank(g), type(_blank(g))) == (_blank(w), type(_blank(w))), (r, spec.name, g, w)
    assert sorted(got.errors, key=str) == sorted(want.errors, key=str)
    assert sorted(got.warnings, key=str) == sorted(want.warnings, key=str)
    assert got.extras == {r: {"安全管理员": v} for r, v in
                          ((r, str(table.sheet.rows[r][11]).strip()) for r in table.data_rows) if v and v != "None"}
    assert got.errors, "the table must exercise the error paths"


def test_hidden_rows_and_columns_are_read_from_any_tag_form():
    """`_xlsx_hidden` finds hidden="1"/"true" on <row> and <col> in any attribute order or prefix, nothing else."""
    import io
    import zipfile

    from registry.transfer.upload import _xlsx_hidden

    xml = (b'<worksheet xmlns="x"><cols><col min="2" max="3" width="9" hidden="1"/><col min="5" max="5" hidden="0"/>'
           b'<col hidden="true" min="7" max="7"/></cols><sheetData>'
           b'<row r="1" spans="1:3"><c r="A1"><v>hidden</v></c></row>'
           b'<row r="4" hidden="1" ht="15"><c r="A4"/></row><row hidden="true" r="6"/>'
           b'<x:row r="8" x:dyDescent="0.2" hidden="1"/><row r="9" customHidden="1"/><row r="10" hidden="0"/>'
           b'<rowBreaks hidden="1"/></sheetData></worksheet>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", xml)
        zf.writestr("xl/worksheets/sheet2.xml", xml.replace(b"hidden=", b"width="))
    with zipfile.ZipFile(buf) as zf:
        assert _xlsx_hidden(zf, "xl/worksheets/sheet1.xml") == ({3, 5, 7}, {1, 2, 6})
        assert _xlsx_hidden(zf, "xl/worksheets/sheet2.xml") == (set(), set())
        assert _xlsx_hidden(zf, "xl/worksheets/missing.xml") == (set(), set())

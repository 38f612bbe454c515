"""Build the malformed-upload corpus: `python tests/corpus/make_corpus.py` rewrites tests/corpus/files/.

Each file is small and deterministic. MANIFEST maps file name -> (expected HTTP status, a fragment of
the Chinese message the importer must give). tests/test_excel_corpus.py uploads every file as a
住建局 maintainer and checks the answer and that the database did not change.
"""
from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import date

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "files")
CORPUS_MAX_ROWS = 1000  # the corpus test lowers REGISTRY_IMPORT_MAX_ROWS to this

ELEVATOR_HEADERS = [
    "设备编码", "设备名称", "品牌型号", "产权单位", "使用单位", "地址", "乡镇/街道", "纬度", "经度", "出厂日期",
    "投入使用日期", "登记日期", "设计使用年限（年）", "状况等级", "状况评定日期", "使用状态", "备注", "注册代码",
    "电梯类型", "层数", "站数", "所在小区", "近12个月故障次数", "配置水平", "最近定期检验日期", "评估结论",
]


def good_row(n: int = 1, **changes) -> dict:
    """A valid elevator row, by header label."""
    row = {"设备编码": f"C-DT-{n:05d}", "设备名称": "乘客电梯", "产权单位": "锦绣小区业主委员会", "乡镇/街道": "新建路街道",
           "投入使用日期": date(2010, 5, 1), "状况等级": "一般", "使用状态": "在用", "电梯类型": "曳引", "层数": 18}
    row.update(changes)
    return row


def workbook(rows: list[dict], headers=ELEVATOR_HEADERS, title="电梯", extra=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    if extra:
        extra(wb, ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[dict], encoding="utf-8", headers=ELEVATOR_HEADERS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if row.get(h) is None else str(row.get(h)) for h in headers])
    return buf.getvalue().encode(encoding)


def _zip(members: dict[str, bytes], level=9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _replace_member(data: bytes, name: str, new: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    return _zip({i.filename: (new if i.filename == name else src.read(i.filename)) for i in src.infolist()})


def _hidden(state):
    def extra(wb, ws):
        other = wb.create_sheet("备用")
        other["A1"] = "隐藏数据"
        other.sheet_state = state
    return extra


def _merge(wb, ws):
    ws.merge_cells("B2:C2")


def _formula(wb, ws):
    ws["T2"] = "=10+8"


def _empty_rows(wb, ws):
    # 100,000 rows that hold only empty strings and a style: nothing to import, read quickly.
    for r in range(2, 100_002):
        ws.cell(row=r, column=1, value="").number_format = "@"


def _unlabeled(wb, ws):
    ws.cell(row=2, column=len(ELEVATOR_HEADERS) + 2, value="无主数据")


def build() -> dict[str, tuple[int, str]]:
    """Write every corpus file; return the manifest."""
    ok = workbook([good_row(1)])
    files: dict[str, tuple[bytes, int, str]] = {
        "not_a_spreadsheet.png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 415, "不是 xlsx 或 csv"),
        "pdf_renamed.xlsx": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", 415, "内容不是 Excel 工作簿"),
        "old_format.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, 400, "无法读取"),
        "encrypted.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512 + "EncryptedPackage".encode("utf-16-le"),
                           400, "已加密"),
        "csv_named_xlsx.xlsx": (csv_bytes([good_row(1)]), 415, "内容不是 Excel 工作簿"),
        "truncated_half.xlsx": (ok[: len(ok) // 2], 400, "文件已损坏或不完整"),
        "truncated_tiny.xlsx": (ok[:100], 400, "文件已损坏或不完整"),
        "damaged_sheet_xml.xlsx": (_replace_member(ok, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row"),
                                   400, "无法读取"),
        "zip_without_workbook.xlsx": (_zip({"hello.txt": b"hello"}), 415, "缺少 workbook.xml"),
        "zip_bomb.xlsx": (_replace_member(ok, "xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024)), 400,
                          "压缩炸弹"),
        "zip_many_members.xlsx": (_zip({f"x/{i}.xml": b"" for i in range(2100)}, level=1), 400, "内部文件过多"),
        "empty.csv": (b"", 400, "文件是空的"),
        "binary_garbage.csv": (bytes((i * 37) % 256 for i in range(4096)), 415, "不是 xlsx 或 csv"),
        "utf16.csv": (csv_bytes([good_row(1)], "utf-16"), 415, "不支持 UTF-16 编码"),
        "undecodable.csv": ("设备编码,设备名称\n".encode() + b"abc\x80\xff,x\n", 415, "无法识别 CSV 文件的编码"),
        "missing_header.xlsx": (workbook([good_row(1)], headers=[]), 400, "缺少表头"),
        "header_only.csv": (csv_bytes([]), 400, "没有数据行"),
        "missing_required_column.xlsx": (workbook([good_row(1)], headers=[h for h in ELEVATOR_HEADERS
                                                                           if h != "电梯类型"]), 400, "缺少必填列：电梯类型"),
        "duplicate_header.xlsx": (workbook([good_row(1)], headers=ELEVATOR_HEADERS + ["层数"]), 400, "「层数」列重复"),
        "merged_cells.xlsx": (workbook([good_row(1)], extra=_merge), 400, "合并单元格（B2:C2）"),
        "formula.xlsx": (workbook([good_row(1)], extra=_formula), 400, "含有公式（单元格 T2）"),
        "hidden_sheet.xlsx": (workbook([good_row(1)], extra=_hidden("hidden")), 400, "隐藏的工作表：备用"),
        "very_hidden_sheet.xlsx": (workbook([good_row(1)], extra=_hidden("veryHidden")), 400, "隐藏的工作表：备用"),
        "empty_rows_100k.xlsx": (workbook([], extra=_empty_rows), 400, "没有数据行"),
        "too_many_rows.csv": (csv_bytes([good_row(i) for i in range(1, CORPUS_MAX_ROWS + 2)]), 413, "导入上限"),
        "huge_cell.xlsx": (workbook([good_row(1, 设备名称="梯" * 30000)]), 422, "长度不能超过 120 个字符"),
        "huge_cell.csv": (csv_bytes([good_row(1, 备注="长" * 60_000)]), 422, "长度不能超过 2000 个字符"),
        "unknown_enum.xlsx": (workbook([good_row(1, 电梯类型="磁悬浮")]), 422, "「磁悬浮」不是有效选项"),
        "text_in_number.xlsx": (workbook([good_row(1, 层数="十八层")]), 422, "「十八层」不是数字"),
        "decimal_in_int.xlsx": (workbook([good_row(1, 层数=18.5)]), 422, "应为整数"),
        "number_out_of_range.xlsx": (workbook([good_row(1, 层数=500)]), 422, "不能大于 200"),
        "bad_bool_and_grade.xlsx": (workbook([good_row(1, 状况等级="还行")]), 422, "「还行」不是有效选项"),
        "future_date.xlsx": (workbook([good_row(1, 投入使用日期=date(2099, 1, 1))]), 422, "不能填写未来日期"),
        "ambiguous_date.xlsx": (workbook([good_row(1, 投入使用日期="20150601")]), 422, "格式有歧义"),
        "year_only_number.xlsx": (workbook([good_row(1, 投入使用日期=2015)]), 422, "像是年份而不是日期"),
        "odd_dates.csv": (csv_bytes([good_row(1, 投入使用日期="2015-02-30"), good_row(2, 投入使用日期="6/1/2015"),
                                     good_row(3, 投入使用日期="二〇一五年六月"), good_row(4, 投入使用日期="1899-12-01"),
                                     good_row(5, 投入使用日期="2015年13月")]), 422, "「6/1/2015」无法识别为日期"),
        "manufactured_after_commissioned.xlsx": (workbook([good_row(1, 出厂日期=date(2012, 1, 1))]), 422,
                                                 "出厂日期不能晚于投入使用日期"),
        "duplicate_codes.xlsx": (workbook([good_row(1), good_row(1)]), 422, "与第 2 行重复"),
        "duplicate_registration_code.xlsx": (workbook([good_row(1, 注册代码="R1"), good_row(2, 注册代码="R1")]), 422,
                                             "「R1」与第 2 行重复"),
        "missing_required_value.xlsx": (workbook([good_row(1, 电梯类型=None)]), 422, "不能为空"),
        "unknown_township.xlsx": (workbook([good_row(1, **{"乡镇/街道": "金水区"})]), 422, "不是新郑市的乡镇/街道"),
        "unit_name_too_long.xlsx": (workbook([good_row(1, 产权单位="单" * 200)]), 422, "长度不能超过 128 个字符"),
        "unlabeled_column.xlsx": (workbook([good_row(1)], extra=_unlabeled), 422, "该列没有列名"),
        "gbk_unknown_enum.csv": (csv_bytes([good_row(1, 配置水平="超高")], "gbk"), 422, "「超高」不是有效选项"),
        "utf8_bom_future_date.csv": (csv_bytes([good_row(1, 最近定期检验日期="2999/1/1")], "utf-8-sig"), 422,
                                     "不能填写未来日期"),
        "other_department_category.xlsx": (workbook([{"设备编码": "C-GC-1"}], headers=["设备编码", "设备名称", "产权单位",
                                                                                   "乡镇/街道", "号牌号码", "车辆用途类别"],
                                                    title="公务用车"), 403, "无权导入「公务用车」"),
    }
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.unlink(os.path.join(OUT, old))
    manifest = {}
    for name, (data, status, fragment) in files.items():
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(data)
        manifest[name] = [status, fragment]
    with open(os.path.join(HERE, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1, sort_keys=True)
    return manifest


if __name__ == "__main__":
    print(f"{len(build())} files written to {OUT}")

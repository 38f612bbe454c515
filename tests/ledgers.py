"""Messy real-world ledgers built by code: what bureaus actually send, for the mapping import tests."""
from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import xlwt

from registry import clock

ELEVATOR_ROWS = [
    # 设备代码, 注册代码, 电梯类型, 层站数, 额定载重量(kg), 使用单位, 所在乡镇（街道）, 小区, 投入使用日期
    ("31104101002015060001", "豫AT0001", "曳引式乘客电梯", "24/24", "1,000kg", "锦绣物业公司", "新建路街道", "锦绣小区",
     "2015年6月"),
    ("31104101002015060002", "豫AT0002", "曳引式乘客电梯", "18/18", "800", "锦绣物业公司", "新建路街道", "锦绣小区",
     "2015.6.1"),
    ("31104101002012030003", "豫AT0003", "自动扶梯", "1/2", "", "新郑商场有限公司", "新华路街道", "", 41000),
    ("31104101002010010004", "豫AT0004", "液压电梯", "3/3", "630", "龙湖中学", "龙湖镇", "", date(2010, 1, 5)),
]


# 额定速度, 维保单位, 维保电话, 下次检验日期, 是否住宅, then 安全管理员 (no registry field: an extra attribute).
ELEVATOR_MORE = [
    ("1.75m/s", "郑州奥的斯电梯维保有限公司", "0371-62345678", "next", "是", "张工"),
    ("1.0", "郑州奥的斯电梯维保有限公司", "0371-62345678", "next", "√", ""),
    ("0.5 m/s", "河南迅达电梯维修有限公司", "13812345678", "", "否", "李工"),
    ("0.63", "", "", "", "", ""),
]


def elevator_ledger(*, hidden_col: bool = True) -> bytes:
    """住建局 elevator 台账: merged title, 填报单位 row, two-level merged headers, 序号, mixed dates, 合计 row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2024年电梯台账"
    ws.append(["新郑市在用电梯基本信息台账"])
    ws.merge_cells("A1:K1")
    ws.append(["填报单位：新郑市住房和城乡建设局", None, None, None, None, None, "填报日期：2024年3月1日"])
    ws.append(["序号", "基本信息", None, None, None, None, "使用信息", None, None, None, "内部编号",
               "维保与检验", None, None, None, None, "安全管理员"])
    ws.merge_cells("B3:F3")
    ws.merge_cells("G3:J3")
    ws.merge_cells("L3:P3")
    ws.append([None, "设备代码", "注册代码", "电梯类型", "层站数", "额定载重量(kg)", "使用单位", "所在乡镇（街道）",
               "小区", "投入使用日期", None, "额定速度", "维保单位", "维保电话", "下次检验日期", "是否住宅", None])
    ws.merge_cells("A3:A4")
    ws.merge_cells("K3:K4")
    ws.merge_cells("Q3:Q4")
    # The next inspection lies ahead of whatever day the test runs (registry.clock).
    next_due = clock.today() + timedelta(days=150)
    for i, (row, more) in enumerate(zip(ELEVATOR_ROWS, ELEVATOR_MORE), 1):
        ws.append([i, *row, f"N{i}", *[next_due if v == "next" else v for v in more]])
    ws.append(["合计", "4 台"])
    ws.append(["注：层站数按 层/站 填写"])
    ws.append(["填表人：王某", None, None, "审核人：李某"])
    if hidden_col:
        ws.column_dimensions["K"].hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


CAR_HEADER = ["序号", "车牌号", "车辆类型", "品牌型号", "使用单位", "编制类别", "注册登记日期", "行驶里程", "燃料种类"]
CAR_ROWS = [
    (1, "豫A12345", "小型轿车", "帕萨特", "新郑市机关事务服务中心", "一般公务", "2012/5/3", "182,000公里", "汽油"),
    (2, "豫A23456", "小型普通客车", "金杯海狮", "新郑市机关事务服务中心", "执法执勤", "2014-08", "95000", "柴油"),
    (3, "豫A34567", "小型越野客车", "途观", "新郑市机关事务服务中心", "一般公务", "2016年9月2日", "６００００", "汽油"),
]


def car_xls(rows=CAR_ROWS, extra_sheet: bool = False) -> bytes:
    """机关事务中心 car list saved as .xls (BIFF8), with a title row; optionally a second data sheet."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    ws.write_merge(0, 0, 0, len(CAR_HEADER) - 1, "公务用车统计表")
    for c, h in enumerate(CAR_HEADER):
        ws.write(1, c, h)
    for r, row in enumerate(rows, 2):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    if extra_sheet:
        other = wb.add_sheet("2023年")
        for c, h in enumerate(CAR_HEADER):
            other.write(0, c, h)
        other.write(1, 1, "豫A99999")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


FARM_HEADER = ["序号", "机主", "所在乡镇", "农机类型", "品牌型号", "出厂编号", "发动机功率（千瓦）", "购置日期", "是否享受购机补贴"]
FARM_ROWS = [
    ("1", "张三", "辛店镇", "拖拉机", "东方红-LX904", "DF2011001", "66.2", "2011年", "是"),
    ("2", "李四", "辛店镇", "自走式谷物联合收割机", "雷沃谷神GE70", "LW2016007", "73.5", "2016.5", "√"),
    ("3", "王五合作社", "孟庄镇", "拖拉机", "东方红-LX904", "DF2013044", "66.2", "2013-04-01", "否"),
]


def farm_csv(rows=FARM_ROWS, encoding: str = "gbk") -> bytes:
    """A WPS-saved GBK CSV of farm machines: title line, CRLF, a 合计 line."""
    lines = ["新郑市农业机械登记表,,,,,,,,", ",".join(FARM_HEADER)]
    lines += [",".join(r) for r in rows]
    lines.append("合计,,,,,,,,")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def farm_xlsx(rows=FARM_ROWS) -> bytes:
    """The farm ledger saved from Excel, where 出厂编号 that are all digits became numbers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "农机台账"
    ws.append(FARM_HEADER)
    for row in rows:
        ws.append([int(v) if i == FARM_HEADER.index("出厂编号") and v.isdigit() else v for i, v in enumerate(row)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def ods(rows: list[list[str]], sheet: str = "台账") -> bytes:
    """Return a minimal OpenDocument spreadsheet holding `rows` of strings."""
    import zipfile
    from xml.sax.saxutils import escape
    body = "".join("<table:table-row>" + "".join(
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'
        for v in row) + "</table:table-row>" for row in rows)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{body}</table:table>'
               '</office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content)
        zf.writestr("META-INF/manifest.xml", manifest)
    return buf.getvalue()

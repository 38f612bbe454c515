"""Browser test: download the template, fill it with one bad row, read the error, fix it, re-upload."""
from __future__ import annotations

import os
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from registry.assets.models import Asset
from registry.extensions import db
from tests import factories
from tests.live import chromium

pytestmark = pytest.mark.browser
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")


def _fill(path: str, elevator_type: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["电梯"]
    header = [c.value for c in ws[1]]
    rows = [
        {"设备编码": "XZ-DT-9000001", "设备名称": "乘客电梯", "产权单位": "轩辕小区业主委员会", "乡镇/街道": "新华路街道",
         "投入使用日期": date(2009, 4, 1), "状况等级": "较差", "电梯类型": "曳引", "层数": 18},
        {"设备编码": "XZ-DT-9000002", "设备名称": "自动扶梯", "产权单位": "新郑市华南城商业管理有限公司",
         "乡镇/街道": "龙湖镇", "投入使用日期": "2012年5月", "电梯类型": elevator_type},
    ]
    for r, row in enumerate(rows, start=2):
        for label, value in row.items():
            ws.cell(row=r, column=header.index(label) + 1, value=value)
    wb.save(path)


def test_template_fill_upload_fix_reupload(app, live_server, tmp_path):
    with app.app_context():
        user = factories.make_user("maintainer", "zjj", username="browser-zjj")
        assert user.id
    os.makedirs(ARTIFACTS, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(live_server + "/login")
        page.fill("input[name=username]", "browser-zjj")
        page.fill("input[name=password]", factories.TEST_PASSWORD)
        page.click("button[type=submit]")
        page.click("text=Excel 导入导出")
        page.wait_for_selector("h1:has-text('Excel 导入导出')")
        page.screenshot(path=os.path.join(ARTIFACTS, "excel-1-transfer-page.png"), full_page=True)
        with page.expect_download() as info:
            page.click("text=电梯导入模板.xlsx")
        template = str(tmp_path / "电梯导入模板.xlsx")
        info.value.save_as(template)
        assert info.value.suggested_filename == "电梯导入模板.xlsx"

        _fill(template, "磁悬浮")
        page.set_input_files("#import-file", template)
        page.click("text=上传并导入")
        page.wait_for_selector("#import-result")
        page.screenshot(path=os.path.join(ARTIFACTS, "excel-2-import-errors.png"), full_page=True)
        problems = page.locator("#import-result table.problems tbody tr").all_inner_texts()
        assert problems == ["3\t电梯类型\t「磁悬浮」不是有效选项，可选：曳引、液压、自动扶梯、自动人行道"]
        assert "未写入任何数据" in page.inner_text("#import-result")
        with page.expect_download() as info:
            page.click("text=下载错误标注文件")
        marked = str(tmp_path / "marked.xlsx")
        info.value.save_as(marked)
        assert openpyxl.load_workbook(marked)["电梯"]["S3"].comment is not None
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Asset.id))) == 0

        _fill(template, "自动扶梯")
        page.set_input_files("#import-file", template)
        page.click("text=上传并导入")
        page.wait_for_selector("#import-result")
        page.screenshot(path=os.path.join(ARTIFACTS, "excel-3-import-success.png"), full_page=True)
        result = page.inner_text("#import-result")
        assert "导入成功" in result and "新建 2 台" in result
        assert "只有年月，按 2012-05-01（当月1日）计" in page.content()
    with app.app_context():
        codes = set(db.session.scalars(sa.select(Asset.code)))
        assert codes == {"XZ-DT-9000001", "XZ-DT-9000002"}

"""The audit administrator's search and export pages."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from registry import clock
from registry.audit import services as audit
from registry.audit.guard import triggers_suspended
from registry.audit.integrity import verify
from registry.audit.models import AuditRecord
from registry.extensions import db

SQL_METACHARACTERS = ["' OR '1'='1", "x'; DROP TABLE audit_records; --", "%", "_", "\\", '"', "1) OR (1=1",
                      "＇；--", "\x00"]


@pytest.fixture
def auditor(app, client, login_as):
    """Log in an auditor and write a few varied records."""
    login_as("auditor")
    with app.app_context():
        audit.record("asset.update", object_type="asset", object_id=7, details={"before": {"a": 1}, "after": {"a": 2}})
        audit.record("login", outcome="failure", details={"username": "mallory"})
        audit.record("notice.print", object_type="notice", object_id="N-1", details={"formula": "=HYPERLINK(\"x\")"})
        db.session.commit()
    return client


def _ids(html: str) -> list[int]:
    import re
    return [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', html)]


def test_search_filters(auditor, app):
    all_ids = _ids(auditor.get("/audit/").get_data(as_text=True))
    assert all_ids == sorted(all_ids, reverse=True) and len(all_ids) == 3
    assert len(_ids(auditor.get("/audit/?action=asset.update").get_data(as_text=True))) == 1
    assert len(_ids(auditor.get("/audit/?outcome=failure").get_data(as_text=True))) == 1
    assert len(_ids(auditor.get("/audit/?object_type=notice&object_id=N-1").get_data(as_text=True))) == 1
    today = clock.today().isoformat()
    assert len(_ids(auditor.get(f"/audit/?start={today}&end={today}").get_data(as_text=True))) == 3
    assert _ids(auditor.get("/audit/?start=2000-01-01&end=2000-01-02").get_data(as_text=True)) == []


def test_search_by_user(auditor, app, login_as):
    html = auditor.get("/audit/?username=nobody-at-all").get_data(as_text=True)
    assert _ids(html) == [] and "没有符合条件的记录" in html


def test_keyset_pagination(auditor, app):
    with app.app_context():
        for i in range(120):
            audit.record("bulk", object_id=i)
        db.session.commit()
    first = auditor.get("/audit/?action=bulk").get_data(as_text=True)
    page1 = _ids(first)
    assert len(page1) == 50
    import re
    nxt = re.search(r'href="(/audit/\?[^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    page2 = _ids(auditor.get(nxt).get_data(as_text=True))
    assert len(page2) == 50 and max(page2) < min(page1)


@pytest.mark.parametrize("field", ["username", "action", "outcome", "object_type", "object_id", "start", "end",
                                   "before"])
def test_sql_metacharacters_in_every_filter(auditor, app, field):
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    for value in SQL_METACHARACTERS:
        for path in ("/audit/", "/audit/export.xlsx", "/audit/export.csv"):
            resp = auditor.get(path, query_string={field: value})
            assert resp.status_code in (200, 422), (path, value)
            if resp.status_code == 422:
                # A NUL is refused for every request before the view (registry/inputs.py), in its own words.
                expected = "不能包含空字符" if "\x00" in value else "查询条件有误"
                assert expected in resp.get_data(as_text=True), (path, value)
            elif path == "/audit/":
                assert _ids(resp.get_data(as_text=True)) == [], value  # matched literally: nothing has it
            else:
                count += 1  # the export itself is audited
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == count
        assert verify().ok


def test_bad_filters_are_named_in_chinese(auditor):
    resp = auditor.get("/audit/?start=2024-13-01&end=yesterday&outcome=maybe&before=-1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "开始日期" in html and "结束日期" in html and "结果" in html
    resp = auditor.get("/audit/?start=2024-02-01&end=2024-01-01")
    assert resp.status_code == 422 and "结束日期早于开始日期" in resp.get_data(as_text=True)
    resp = auditor.get("/audit/export.xlsx?start=nonsense")
    assert resp.status_code == 422 and "不是有效日期" in resp.get_data(as_text=True)


def test_export_is_an_xlsx_and_is_audited(auditor, app):
    resp = auditor.get("/audit/export.xlsx?object_type=notice")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("编号", "时间", "用户", "IP", "操作")
    assert len(rows) == 2 and rows[1][4] == "打印通知书" and rows[1][5] == "notice.print"
    assert rows[1][10].startswith('{"formula": "=HYPERLINK')  # stored as text, never as a formula
    with app.app_context():
        rec = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "audit.export")).one()
        assert '"rows": 1' in rec.details and '"object_type": "notice"' in rec.details


def test_csv_export_is_audited_and_formula_safe(auditor, app):
    import csv
    resp = auditor.get("/audit/export.csv?object_type=notice")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff编号")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][4] == "打印通知书" and rows[1][5] == "notice.print"
    auditor.get("/audit/export.csv?action=login")
    with app.app_context():
        from registry.cells import csv_value as _csv_safe  # the one cell writer (registry/cells.py)
        assert _csv_safe("=1+1") == "'=1+1" and _csv_safe("-2") == "'-2" and _csv_safe(5) == 5
        recs = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "audit.export")).all()
        assert len(recs) == 2 and all('"format": "csv"' in r.details for r in recs)


def test_export_cells_that_look_like_formulas_stay_text(auditor):
    from zipfile import ZipFile
    data = auditor.get("/audit/export.xlsx").data
    sheet = ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet


def test_times_are_shown_in_local_time(auditor, app):
    with app.app_context():
        conn = db.session.connection()
        with triggers_suspended(conn):
            rec = db.session.get(AuditRecord, 1)
            rec.at = datetime(2025, 3, 1, 16, 30, tzinfo=timezone.utc)
            db.session.flush()
        db.session.commit()
    html = auditor.get("/audit/?start=2025-03-02&end=2025-03-02").get_data(as_text=True)
    assert "2025-03-02 00:30:00" in html  # 16:30 UTC is past midnight in 新郑 (UTC+8)
    assert _ids(html) == [1]
    assert _ids(auditor.get("/audit/?end=2025-03-01").get_data(as_text=True)) == []

"""Issue 18's bad input, through the web form and the JSON API (the Excel sheets: tests/test_record_sheets.py).

Each is refused with a Chinese message and writes nothing: a replacement of another department's
asset, a disposal date before commissioning or in the future (the Beijing day), a negative or absurd
amount, a certificate number reused on two assets, a document that is not a PDF/JPEG/PNG by content.
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from registry import clock
from registry.assets.models import Asset, AssetChange
from registry.disposals.models import Disposal, DisposalDocument, Replacement
from registry.enums import Category
from registry.extensions import db
from tests.factories import make_asset

CHANNELS = ("form", "api")


def _counts(app) -> tuple:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                     for m in (Asset, AssetChange, Disposal, DisposalDocument, Replacement))


def _codes(app, *categories) -> list[tuple[int, str]]:
    with app.app_context():
        out = []
        for category in categories:
            asset = make_asset(category, commissioned_on=date(2012, 5, 1))
            out.append((asset.id, asset.code))
        return out


def _post_disposal(client, channel, asset_id, fields, files=None):
    if channel == "form":
        data = {**fields, **({"documents": files} if files else {})}
        return client.post(f"/assets/{asset_id}/disposal", data=data, content_type="multipart/form-data")
    if files:
        return client.post(f"/api/v1/assets/{asset_id}/disposal", data={**fields, "documents": files},
                           content_type="multipart/form-data")
    return client.post(f"/api/v1/assets/{asset_id}/disposal", json=fields)


def _post_replacement(client, channel, old_id, fields):
    if channel == "form":
        return client.post(f"/assets/{old_id}/replacement", data=fields)
    body = {**fields, "replaces": fields["replaces"].split(",")}
    return client.post("/api/v1/replacements", json=body)  # the test app runs without CSRF tokens


def _text(resp) -> str:
    """Return what the user reads: the page, or the JSON error body with its Chinese unescaped."""
    return str(resp.get_json()) if resp.is_json else resp.get_data(as_text=True)


def _disposal(**kw) -> dict:
    return {"way": "transfer", "disposed_on": (clock.today() - timedelta(days=1)).isoformat(), "receiver": "某公司", **kw}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("day, words", [
    ("2012-04-30", "早于投入使用日期 2012-05-01"),
    ((clock.today() + timedelta(days=1)).isoformat(), "未来日期"),
])
def test_a_disposal_date_before_commissioning_or_in_the_future_is_refused(app, client, login_as, channel, day, words):
    [(asset_id, _code)] = _codes(app, Category.CONSTRUCTION_MACHINE)
    login_as("maintainer", "zjj")
    before = _counts(app)
    resp = _post_disposal(client, channel, asset_id, _disposal(disposed_on=day))
    assert resp.status_code == 422 and words in _text(resp)
    assert _counts(app) == before


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_future_is_the_beijing_day_not_the_servers(app, client, login_as, channel):
    [(asset_id, _code)] = _codes(app, Category.CONSTRUCTION_MACHINE)
    with time_machine.travel("2026-03-10T17:30:00Z", tick=False):  # 01:30 on 11 March in Beijing, UTC still the 10th
        login_as("maintainer", "zjj")  # signed in at that instant (the idle timeout compares with it)
        before = _counts(app)
        resp = _post_disposal(client, channel, asset_id, _disposal(disposed_on="2026-03-12"))
        assert resp.status_code == 422 and "未来日期" in _text(resp)
        assert _counts(app) == before
        resp = _post_disposal(client, channel, asset_id, _disposal(disposed_on="2026-03-11"))
        assert resp.status_code in (201, 302), _text(resp)[:500]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_certificate_number_reused_on_a_second_asset_is_refused(app, client, login_as, channel):
    (first, first_code), (second, _c) = _codes(app, Category.OFFICIAL_CAR, Category.OFFICIAL_CAR)
    login_as("maintainer", "jgsw")
    fields = _disposal(way="scrap_dismantle", recycling_certificate_no="HS-410184-0001", deregistration_no="ZX-1")
    assert _post_disposal(client, channel, first, fields).status_code in (201, 302)
    before = _counts(app)
    resp = _post_disposal(client, channel, second, {**fields, "deregistration_no": "ZX-2"})
    assert resp.status_code == 422 and f"已用于设备 {first_code}" in _text(resp)
    assert _counts(app) == before


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("data, name", [(b"MZ\x90\x00 an executable", "回收证明.pdf"),
                                        (b"<html><script>alert(1)</script>", "照片.png"),
                                        (b"GIF89a\x01\x00", "照片.jpg")])
def test_a_document_that_is_not_a_pdf_jpeg_or_png_by_content_is_refused(app, client, login_as, tmp_path,
                                                                          channel, data, name):
    app.config["DISPOSAL_FILES_DIR"] = str(tmp_path / "docs")
    [(asset_id, _code)] = _codes(app, Category.CONSTRUCTION_MACHINE)
    login_as("maintainer", "zjj")
    before = _counts(app)
    resp = _post_disposal(client, channel, asset_id, _disposal(), (io.BytesIO(data), name))
    assert resp.status_code == 422 and "只接受 PDF、JPEG 或 PNG" in _text(resp)
    assert _counts(app) == before
    assert not (tmp_path / "docs").exists() or not any(p.is_file() for p in (tmp_path / "docs").rglob("*"))


def _replacement(new_code, replaces, **kw) -> dict:
    return {"new_asset": new_code, "replaces": replaces, "replaced_on": clock.today().isoformat(),
            "investment_yuan": "300000", "funding_source": "self_raised", "new_energy": "否", **kw}


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("amount, words", [("-1", "须大于 0"), ("0", "须大于 0"), ("1000000000.01", "超过单项上限"),
                                           ("1" * 40, "过长"), ("3e9", "不是数字"), ("12.345", "两位小数")])
def test_a_negative_or_absurd_amount_is_refused(app, client, login_as, channel, amount, words):
    (old_id, old_code), (_n, new_code) = _codes(app, Category.CONSTRUCTION_MACHINE, Category.CONSTRUCTION_MACHINE)
    login_as("maintainer", "zjj")
    before = _counts(app)
    resp = _post_replacement(client, channel, old_id, _replacement(new_code, old_code, investment_yuan=amount))
    assert resp.status_code == 422 and words in _text(resp)
    assert _counts(app) == before


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_replacement_of_another_departments_asset_is_refused(app, client, login_as, channel):
    (old_id, old_code), (_n, new_code), (_f, farm_code) = _codes(
        app, Category.CONSTRUCTION_MACHINE, Category.CONSTRUCTION_MACHINE, Category.FARM_MACHINE)
    login_as("maintainer", "zjj")
    before = _counts(app)
    resp = _post_replacement(client, channel, old_id, _replacement(new_code, f"{old_code},{farm_code}"))
    assert resp.status_code == 422 and farm_code in _text(resp) and "不是同一部门" in _text(resp)
    assert _counts(app) == before

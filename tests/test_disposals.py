"""Disposal and replacement records: the happy path, the 已报废 guard, notice completion, and bad input."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from registry import clock
from registry.assets import services as asset_services
from registry.assets.models import Asset, AssetChange
from registry.audit.models import AuditRecord
from registry.disposals import services
from registry.disposals.models import Disposal, DisposalDocument, Replacement, ReplacementLink
from registry.enums import Category, FundingSource, LifecycleStatus, NoticeStatus
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices import lifecycle
from tests.notice_factories import issue_signed
from tests.factories import make_asset, make_unit, make_user
from tests.notice_factories import item_for

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def world(ctx, tmp_path):
    ctx.config["DISPOSAL_FILES_DIR"] = str(tmp_path / "disposals")
    return {"zjj": make_user("maintainer", "zjj"), "insp": make_user("inspector", "zjj"),
            "nync": make_user("maintainer", "nync"), "dir": tmp_path / "disposals"}


def _file(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def _disposal(**kw) -> dict:
    raw = {"way": "转让", "disposed_on": (clock.today() - timedelta(days=3)).isoformat(), "receiver": "郑州某机械公司"}
    raw.update(kw)
    return raw


def _counts() -> tuple:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                 for m in (Disposal, DisposalDocument, Replacement, ReplacementLink, AssetChange, AuditRecord))


def test_disposal_with_documents_makes_the_asset_scrapped_with_history(world):
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2012, 5, 1))
    row = services.record_disposal(asset.id, world["zjj"], services.parse_disposal(_disposal(note="整机转让")),
                                   [_file(PDF, "转让合同.pdf"), _file(PNG, "现场.png")])
    assert row.way.label == "转让" and len(row.documents) == 2
    assert {d.content_type for d in row.documents} == {"application/pdf", "image/png"}
    assert all((world["dir"] / d.path).read_bytes() in (PDF, PNG) for d in row.documents)
    db.session.refresh(asset)
    assert asset.status is LifecycleStatus.SCRAPPED
    change = db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == asset.id)
                                .order_by(AssetChange.id.desc())).first()
    assert (change.action, change.field, change.after) == ("dispose", "status", "已报废")
    actions = set(db.session.scalars(sa.select(AuditRecord.action)))
    assert {"disposal.create", "asset.update"} <= actions
    path, ctype, name = services.document_file(row.documents[0].id, world["zjj"])
    assert path.is_file() and ctype == "application/pdf" and name == "转让合同.pdf"


def test_status_cannot_become_scrapped_without_a_disposal(world):
    asset = make_asset(Category.CONSTRUCTION_MACHINE)
    with pytest.raises(ValidationFailed) as exc:
        asset_services.update_asset(asset.id, {"status": LifecycleStatus.SCRAPPED}, world["zjj"], asset.version)
    assert "处置记录" in exc.value.errors["status"][0]
    db.session.rollback()
    assert db.session.get(Asset, asset.id).status is LifecycleStatus.IN_USE
    with pytest.raises(ValidationFailed):
        asset_services.bulk_update([asset.id], {"status": LifecycleStatus.SCRAPPED}, world["zjj"])
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        asset_services.change_status([asset.id], LifecycleStatus.SCRAPPED, world["zjj"], source="notice", reason="test")
    db.session.rollback()
    assert db.session.get(Asset, asset.id).status is LifecycleStatus.IN_USE
    # Other statuses are not guarded.
    asset_services.update_asset(asset.id, {"status": LifecycleStatus.IDLE}, world["zjj"], asset.version)
    assert db.session.get(Asset, asset.id).status is LifecycleStatus.IDLE


@pytest.mark.parametrize("raw, field, words", [
    (_disposal(disposed_on=(clock.today() + timedelta(days=1)).isoformat()), "disposed_on", "未来"),
    (_disposal(disposed_on="2010-01-01"), "disposed_on", "早于投入使用日期"),
    (_disposal(way="卖了"), "way", "报废拆解"),
    (_disposal(receiver=" "), "receiver", "不能为空"),
    (_disposal(way="报废拆解"), "deregistration_no", "须填写"),
])
def test_bad_disposals_are_refused_and_write_nothing(world, raw, field, words):
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2012, 5, 1))
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        services.record_disposal(asset.id, world["zjj"], services.parse_disposal(raw))
    assert words in exc.value.errors[field][0]
    assert _counts() == before
    assert db.session.get(Asset, asset.id).status is LifecycleStatus.IN_USE


def test_a_disposal_date_on_the_local_day_is_accepted_before_8am_utc(world):
    import time_machine
    asset = make_asset(Category.CONSTRUCTION_MACHINE, commissioned_on=date(2012, 5, 1))
    with time_machine.travel("2026-03-10T17:30:00Z", tick=False):  # 01:30 on 11 March in Beijing
        with pytest.raises(ValidationFailed):
            services.parse_disposal(_disposal(disposed_on="2026-03-12"))
        row = services.record_disposal(asset.id, world["zjj"],
                                       services.parse_disposal(_disposal(disposed_on="2026-03-11")))
    assert row.disposed_on == date(2026, 3, 11)


def test_a_certificate_number_cannot_serve_two_assets(world):
    car1 = make_asset(Category.OFFICIAL_CAR, department=None)
    car2 = make_asset(Category.OFFICIAL_CAR, department=None)
    jgj = make_user("maintainer", car1.department.code)
    raw = _disposal(way="报废拆解", recycling_certificate_no="HS-2025-001", deregistration_no="ZX-1")
    services.record_disposal(car1.id, jgj, services.parse_disposal(raw))
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        services.record_disposal(car2.id, jgj, services.parse_disposal({**raw, "deregistration_no": "ZX-2"}))
    assert car1.code in exc.value.errors["recycling_certificate_no"][0]
    assert _counts() == before
    with pytest.raises(ValidationFailed) as exc:  # a car scrapped without its recycling certificate
        services.record_disposal(car2.id, jgj, services.parse_disposal(
            {**raw, "recycling_certificate_no": "", "deregistration_no": "ZX-2"}))
    assert "回收证明" in exc.value.errors["recycling_certificate_no"][0]


@pytest.mark.parametrize("data, name", [(b"MZ\x90\x00 not a document", "证明.pdf"), (b"", "空.pdf"),
                                        (b"GIF89a......", "a.gif")])
def test_a_file_that_is_not_a_document_is_refused_and_nothing_is_stored(world, data, name):
    asset = make_asset(Category.CONSTRUCTION_MACHINE)
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        services.record_disposal(asset.id, world["zjj"], services.parse_disposal(_disposal()),
                                 [_file(PDF, "ok.pdf"), _file(data, name)])
    assert "处置凭证" in exc.value.errors["documents"][0]
    assert _counts() == before
    assert not world["dir"].exists() or not any(p.is_file() for p in world["dir"].rglob("*"))


def test_only_the_departments_maintainers_record(world):
    from registry.errors import NotFound, PermissionDenied
    asset = make_asset(Category.CONSTRUCTION_MACHINE)
    with pytest.raises((PermissionDenied, NotFound)):
        services.record_disposal(asset.id, world["nync"], services.parse_disposal(_disposal()))
    with pytest.raises(PermissionDenied):
        services.record_disposal(asset.id, world["insp"], services.parse_disposal(_disposal()))


def _replacement(new, olds, **kw) -> dict:
    raw = {"new_asset": new.code, "replaces": ",".join(o.code for o in olds),
           "replaced_on": clock.today().isoformat(), "investment_yuan": "1,250,000.50",
           "funding_source": "超长期特别国债", "efficiency_level": "节能", "emission_standard": "非道路国四",
           "new_energy": "是"}
    raw.update(kw)
    return raw


def test_replacement_links_new_to_old_assets_which_become_renewed(world):
    old1, old2 = make_asset(Category.CONSTRUCTION_MACHINE), make_asset(Category.CONSTRUCTION_MACHINE)
    new = make_asset(Category.CONSTRUCTION_MACHINE)
    row = services.record_replacement(world["zjj"], services.parse_replacement(_replacement(new, [old1, old2])))
    assert {link.old_asset_id for link in row.links} == {old1.id, old2.id}
    assert str(row.investment_yuan) == "1250000.50" and row.new_energy and row.efficiency_level.label == "节能"
    assert row.funding_source.label == "超长期特别国债"
    assert {db.session.get(Asset, a.id).status for a in (old1, old2)} == {LifecycleStatus.RENEWED}
    assert db.session.get(Asset, new.id).status is LifecycleStatus.IN_USE
    assert services.replacement_replacing(old1.id).new_asset_id == new.id


@pytest.mark.parametrize("kw, field, words", [
    ({"investment_yuan": "-5"}, "investment_yuan", "大于 0"),
    ({"investment_yuan": "20000000000"}, "investment_yuan", "上限"),
    ({"investment_yuan": "abc"}, "investment_yuan", "不是数字"),
    ({"investment_yuan": "NaN"}, "investment_yuan", "「NaN」不是数字"),  # the one number parser (registry.inputs)
    ({"investment_yuan": "1e8"}, "investment_yuan", "不是数字"),
    ({"investment_yuan": "9" * 40}, "investment_yuan", "过长"),
    ({"investment_yuan": "1000000000.01"}, "investment_yuan", "上限"),
    ({"investment_yuan": "0"}, "investment_yuan", "大于 0"),
    ({"funding_source": "天上掉的"}, "funding_source", "中央预算内投资"),
    ({"efficiency_level": "一级"}, "efficiency_level", "先进"),
    ({"replaced_on": (clock.today() + timedelta(days=2)).isoformat()}, "replaced_on", "未来"),
    ({"replaces": ""}, "replaces", "至少一个"),
])
def test_bad_replacements_are_refused(world, kw, field, words):
    old, new = make_asset(Category.CONSTRUCTION_MACHINE), make_asset(Category.CONSTRUCTION_MACHINE)
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        services.record_replacement(world["zjj"], services.parse_replacement(_replacement(new, [old], **kw)))
    assert words in exc.value.errors[field][0]
    assert _counts() == before


def test_a_replacement_cannot_replace_another_departments_asset(world):
    mine, new = make_asset(Category.CONSTRUCTION_MACHINE), make_asset(Category.CONSTRUCTION_MACHINE)
    theirs = make_asset(Category.FARM_MACHINE)
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        services.record_replacement(world["zjj"], services.parse_replacement(_replacement(new, [mine, theirs])))
    assert theirs.code in exc.value.errors["replaces"][0] and "同一部门" in exc.value.errors["replaces"][0]
    assert _counts() == before
    assert db.session.get(Asset, mine.id).status is LifecycleStatus.IN_USE
    services.record_replacement(world["zjj"], services.parse_replacement(_replacement(new, [mine])))
    other_new = make_asset(Category.CONSTRUCTION_MACHINE)
    with pytest.raises(ValidationFailed) as exc:  # replaced once only
        services.record_replacement(world["zjj"], services.parse_replacement(_replacement(other_new, [mine])))
    assert "已被其他设备替换" in exc.value.errors["replaces"][0]


def _issue(n, outcome):
    unit = make_unit()
    items = [item_for(make_asset(Category.CONSTRUCTION_MACHINE, owner=unit), outcome) for _ in range(n)]
    [notice] = issue_signed(items, issued_on=clock.today() - timedelta(days=5), render=False)
    return notice


def test_notice_completes_on_records_once_every_asset_has_them(world):
    from registry.enums import RuleOutcome
    notice = _issue(2, RuleOutcome.MANDATORY_RENEWAL)
    first, second = [i.asset for i in notice.items]
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.complete(notice, world["insp"], "records")
    assert first.code in exc.value.errors["kind"][0] and "处置记录" in exc.value.errors["kind"][0]
    for a in (first, second):
        services.record_disposal(a.id, world["zjj"], services.parse_disposal(_disposal()))
    with pytest.raises(ValidationFailed) as exc:  # 强制更新 needs a replacement too
        lifecycle.complete(notice, world["insp"], "records")
    assert "更新记录" in exc.value.errors["kind"][0]
    db.session.refresh(notice)
    assert notice.status is NoticeStatus.ISSUED
    new = make_asset(Category.CONSTRUCTION_MACHINE)
    services.record_replacement(world["zjj"], services.parse_replacement(_replacement(new, [first, second])))
    lifecycle.complete(notice, world["insp"], "records")
    assert notice.status is NoticeStatus.COMPLETED
    assert notice.completion_kind.label == "处置与更新记录"
    assert {db.session.get(Asset, a.id).status for a in (first, second)} == {LifecycleStatus.RENEWED}
    evidence = notice.events[-1].details["assets"]
    assert {e["asset"] for e in evidence} == {first.code, second.code}
    assert all(e["replacement"] == new.code and e["disposal"].startswith("转让") for e in evidence)


def test_a_scrap_notice_needs_only_disposals(world):
    from registry.enums import RuleOutcome
    notice = _issue(1, RuleOutcome.SCRAP)
    asset = notice.items[0].asset
    services.record_disposal(asset.id, world["zjj"], services.parse_disposal(_disposal()))
    lifecycle.complete(notice, world["insp"], "records")
    assert notice.status is NoticeStatus.COMPLETED
    assert db.session.get(Asset, asset.id).status is LifecycleStatus.SCRAPPED


def test_demo_data_has_disposals_and_replacements_for_2024_to_2026(ctx):
    from registry.demo.inventory import seed_demo
    seed_demo(600)
    years = set(db.session.scalars(sa.select(sa.extract("year", Disposal.disposed_on)).distinct()))
    assert {int(y) for y in years} <= {2024, 2025, 2026} and len(years) >= 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Replacement)) > 0
    # Every scrapped asset has its disposal; every replaced one is 已更新 and of the new asset's department.
    scrapped = set(db.session.scalars(sa.select(Asset.id).where(Asset.status == LifecycleStatus.SCRAPPED)))
    assert scrapped and scrapped <= set(db.session.scalars(sa.select(Disposal.asset_id)))
    for link in db.session.scalars(sa.select(ReplacementLink)):
        assert link.old_asset.status is LifecycleStatus.RENEWED
        assert link.old_asset.department_id == link.replacement.new_asset.department_id
    codes = [d.recycling_certificate_no for d in db.session.scalars(sa.select(Disposal)) if d.recycling_certificate_no]
    assert len(codes) == len(set(codes))
    # The seed writes replacement ids itself: the next replacement entered must not collide with them
    # (on PostgreSQL its id sequence has to be moved past them).
    free = db.session.scalar(sa.select(Asset.id).where(Asset.id.not_in(sa.select(Replacement.new_asset_id)))
                             .order_by(Asset.id).limit(1))
    entered = Replacement(new_asset_id=free, replaced_on=date(2026, 1, 5), investment_yuan=1000,
                          funding_source=FundingSource.SELF_RAISED)
    db.session.add(entered)
    db.session.flush()
    assert entered.id > db.session.scalar(sa.select(sa.func.max(Replacement.id)).where(Replacement.id != entered.id))

"""Document numbers: per department per year, consecutive, no gaps, no duplicates, even under concurrency."""
from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from registry.enums import Category, RuleOutcome
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices import lifecycle
from registry.notices.models import DocumentCounter, Notice
from registry.notices.numbering import format_number
from tests.notice_factories import issue_signed
from tests.factories import make_asset, make_unit, make_user
from tests.notice_factories import flagged_assets, item_for

DAY = date(2025, 7, 16)


def test_format_has_no_zero_padding_and_no_di():
    assert format_number("新建更", 2025, 7) == "新建更〔2025〕7号"
    assert format_number("新建更", 2025, 12) == "新建更〔2025〕12号"


def test_numbers_are_consecutive_per_department_and_year(ctx):
    a = issue_signed(flagged_assets(1), issued_on=DAY, render=False)
    b = issue_signed(flagged_assets(1), issued_on=DAY, render=False)
    car = issue_signed([item_for(make_asset(Category.OFFICIAL_CAR))], issued_on=DAY, render=False)
    next_year = issue_signed(flagged_assets(1), issued_on=date(2026, 1, 2), render=False)
    assert [n.number for n in a + b] == ["新建更〔2025〕1号", "新建更〔2025〕2号"]
    assert car[0].number == "新机更〔2025〕1号"
    assert next_year[0].number == "新建更〔2026〕1号"


def test_one_notice_per_owner_unit_groups_its_assets(ctx):
    unit_a, unit_b = make_unit(township="薛店镇"), make_unit(township="和庄镇")
    items = flagged_assets(2, unit=unit_a) + flagged_assets(3, unit=unit_b)
    notices = issue_signed(items, issued_on=DAY, render=False)
    # Ordered by township (和庄镇 before 薛店镇 in code-point order), numbered in that order.
    assert [(n.township, len(n.items), n.serial) for n in notices] == [("和庄镇", 3, 1), ("薛店镇", 2, 2)]


def test_voided_notice_keeps_its_number(ctx):
    maint = make_user("maintainer", "zjj")
    [first] = issue_signed(flagged_assets(1), issued_on=DAY, render=False)
    lifecycle.void(first, maint, "主送单位名称有误")
    [second] = issue_signed(flagged_assets(1), issued_on=DAY, render=False)
    assert first.number == "新建更〔2025〕1号" and first.status.value == "voided"
    assert second.number == "新建更〔2025〕2号"


def test_failed_issue_consumes_no_number(ctx):
    good = flagged_assets(1)
    bad = [item_for(make_asset(), outcome=RuleOutcome.SUGGESTED_RENEWAL)]
    with pytest.raises(ValidationFailed) as err:
        issue_signed(good + bad, issued_on=DAY, render=False)
    assert bad[0].asset.code in err.value.errors
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    [notice] = issue_signed(good, issued_on=DAY, render=False)
    assert notice.number == "新建更〔2025〕1号"


def test_asset_with_an_open_notice_gets_no_second_one(ctx):
    items = flagged_assets(1)
    issue_signed(items, issued_on=DAY, render=False)
    with pytest.raises(ValidationFailed) as err:
        issue_signed([item_for(items[0].asset)], issued_on=DAY, render=False)
    assert "新建更〔2025〕1号" in str(err.value.errors)
    db.session.rollback()
    assert db.session.scalar(sa.select(DocumentCounter.last_number)) == 1


def test_twenty_concurrent_issuers_get_distinct_consecutive_numbers(app):
    """Real threads, each with its own session and connection, issue at the same moment."""
    with app.app_context():
        asset_ids = [i.asset.id for i in flagged_assets(20)]
        # Separate owner units would group anyway; give each asset its own unit so each thread issues one notice.
        from registry.assets.models import Asset
        for asset_id in asset_ids:
            db.session.get(Asset, asset_id).owner_unit = make_unit()
        db.session.commit()
    barrier = threading.Barrier(20)
    numbers, errors = [], []

    def issue(asset_id):
        with app.app_context():
            try:
                from registry.assets.models import Asset
                barrier.wait(timeout=60)  # all start together; DB work only after (the pool has 15 connections)
                item = item_for(db.session.get(Asset, asset_id))
                [notice] = issue_signed([item], issued_on=DAY, render=False)
                numbers.append(notice.serial)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue, args=(a,)) for a in asset_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [], errors[:3]
    assert sorted(numbers) == list(range(1, 21))
    with app.app_context():
        assert db.session.scalar(sa.select(DocumentCounter.last_number)) == 20
        assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Notice.number)))) == 20

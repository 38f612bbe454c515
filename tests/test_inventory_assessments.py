"""Condition assessments: the latest sets the grade, earlier ones stay, photos are checked."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from registry import clock
from registry.assets.assessments import assessments_for, is_grade_stale, parse_assessment, record_assessment
from registry.assets.models import Asset, AssetChange, ConditionAssessment
from registry.enums import Category, ConditionGrade
from registry.errors import NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from tests.factories import make_asset, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_latest_assessment_sets_grade_and_earlier_ones_stay(ctx):
    inspector = make_user("inspector", "zjj")
    asset = make_asset(Category.ELEVATOR, condition_grade=ConditionGrade.GOOD, condition_assessed_on=date(2020, 1, 1))
    record_assessment(asset.id, inspector, assessed_on=date(2024, 5, 1), assessor="张工", grade=ConditionGrade.POOR)
    # A back-dated assessment is history, not the current grade.
    record_assessment(asset.id, inspector, assessed_on=date(2023, 5, 1), assessor="李工", grade=ConditionGrade.GOOD,
                      findings="曳引机正常")
    db.session.expire_all()
    fresh = db.session.get(Asset, asset.id)
    assert fresh.condition_grade is ConditionGrade.POOR and fresh.condition_assessed_on == date(2024, 5, 1)
    assert [a.assessor for a in assessments_for(asset.id)] == ["张工", "李工"]
    changes = db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == asset.id,
                                                              AssetChange.action == "assess")).all()
    assert {(c.field, c.before, c.after) for c in changes} == {
        ("condition_grade", "好", "较差"), ("condition_assessed_on", "2020-01-01", "2024-05-01")}


def test_only_inspectors_of_the_department_assess(ctx):
    asset = make_asset(Category.MEDICAL_DEVICE)
    with pytest.raises(NotFound):
        record_assessment(asset.id, make_user("inspector", "zjj"), assessed_on=date(2024, 1, 1), assessor="x",
                          grade=ConditionGrade.BAD)
    with pytest.raises(PermissionDenied):
        record_assessment(asset.id, make_user("maintainer", "wjw"), assessed_on=date(2024, 1, 1), assessor="x",
                          grade=ConditionGrade.BAD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConditionAssessment)) == 0


def test_photo_type_and_size_are_checked_and_nothing_written(ctx, tmp_path):
    ctx.config["UPLOAD_FOLDER"] = str(tmp_path)
    inspector = make_user("inspector", "zjj")
    asset = make_asset(Category.ELEVATOR)
    fake = FileStorage(io.BytesIO(b"GIF89a....."), filename="x.jpg", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as exc:
        record_assessment(asset.id, inspector, assessed_on=date(2024, 1, 1), assessor="x", grade=ConditionGrade.BAD,
                          photo=fake)
    assert "JPEG 或 PNG" in exc.value.errors["photo"][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConditionAssessment)) == 0
    row = record_assessment(asset.id, inspector, assessed_on=date(2024, 1, 1), assessor="x", grade=ConditionGrade.BAD,
                            photo=FileStorage(io.BytesIO(PNG), filename="a.png"))
    assert row.photo_content_type == "image/png" and row.photo_path.startswith("assessments/")
    assert (tmp_path / row.photo_path).read_bytes() == PNG


def test_parse_assessment_messages():
    with pytest.raises(ValidationFailed) as exc:
        parse_assessment({"assessed_on": "2024年13月1日", "assessor": "", "grade": "很好"})
    errors = exc.value.errors
    assert errors["assessed_on"][0].startswith("评定日期：") and errors["assessor"] == ["评定人：不能为空"]
    assert errors["grade"][0].startswith("状况等级：")


def test_grade_staleness(ctx):
    asset = make_asset(Category.ELEVATOR, condition_grade=ConditionGrade.FAIR,
                       condition_assessed_on=date(2024, 1, 1))
    assert not is_grade_stale(asset, as_of=date(2024, 12, 31), stale_days=365)
    assert is_grade_stale(asset, as_of=date(2025, 1, 2), stale_days=365)
    asset.condition_assessed_on = None
    assert is_grade_stale(asset, as_of=date(2024, 1, 2))  # a grade without a date cannot be trusted
    asset.condition_grade = None
    assert not is_grade_stale(asset)  # missing is reported as missing, not stale
    assert is_grade_stale(make_asset(Category.PIPE, condition_assessed_on=clock.today() - timedelta(days=800)))

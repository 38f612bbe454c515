"""Asset services: history + audit on every change, optimistic concurrency, scoping, soft delete."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry import clock
from registry.assets import services
from registry.assets.models import Asset, AssetChange
from registry.api_base import load_or_fail
from registry.assets.schemas import AssetCreateSchema, AssetPatchSchema
from registry.audit.models import AuditRecord
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from tests.factories import make_asset, make_unit, make_user


def _changes(asset_id):
    return db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == asset_id)
                              .order_by(AssetChange.id)).all()


def _audit_count(action=None):
    q = sa.select(sa.func.count()).select_from(AuditRecord)
    if action:
        q = q.where(AuditRecord.action == action)
    return db.session.scalar(q)


def _elevator_input(**over):
    data = {"category": "elevator", "code": "XZ-DT-9000001", "name": "1号楼1单元电梯", "owner_unit": "锦绣小区业委会",
            "township": "新建路街道", "commissioned_on": "2008/6/1", "condition_grade": "较差",
            "detail": {"elevator_type": "曳引", "floors": "18", "registration_code": "31104100000000000999"}}
    data.update(over)
    return data


def test_create_asset_records_history_and_audit(ctx):
    user = make_user("maintainer", "zjj")
    data = load_or_fail(AssetCreateSchema(), _elevator_input())
    asset = services.create_asset(data.pop("category"), data, user)
    assert asset.version == 1 and asset.owner_unit.name == "锦绣小区业委会" and asset.elevator.floors == 18
    changes = {c.field: (c.before, c.after, c.action) for c in _changes(asset.id)}
    assert changes["commissioned_on"] == (None, "2008-06-01", "create")
    assert changes["condition_grade"] == (None, "较差", "create")
    assert changes["elevator_type"] == (None, "曳引", "create")
    assert _audit_count("asset.create") == 1


def test_schema_messages_are_chinese_and_name_the_field(ctx):
    bad = _elevator_input(code="", commissioned_on="2008-13-01", detail={"elevator_type": "飞天", "floors": "十八"})
    with pytest.raises(ValidationFailed) as exc:
        load_or_fail(AssetCreateSchema(), bad)
    errors = exc.value.errors
    assert errors["code"] == ["设备编码：不能为空"]
    assert "投入使用日期" in errors["commissioned_on"][0]
    assert errors["elevator_type"][0].startswith("电梯类型：「飞天」不是有效选项")
    assert errors["floors"] == ["层数：「十八」不是数字"]
    future = (clock.today() + timedelta(days=3)).isoformat()
    with pytest.raises(ValidationFailed) as exc:
        load_or_fail(AssetCreateSchema(), _elevator_input(commissioned_on=future))
    assert "未来日期" in exc.value.errors["commissioned_on"][0]


@pytest.mark.parametrize("field, label", [("manufactured_on", "出厂日期"), ("commissioned_on", "投入使用日期"),
                                          ("registered_on", "登记日期"), ("condition_assessed_on", "状况评定日期"),
                                          ("last_inspection_on", "最近定期检验日期")])
def test_services_refuse_a_date_after_the_local_today(ctx, field, label):
    # The database has no "<= CURRENT_DATE" check any more (that was the UTC day): the service checks the local day.
    user = make_user("maintainer", "zjj")
    data = load_or_fail(AssetCreateSchema(), _elevator_input())
    category, tomorrow = data.pop("category"), clock.today() + timedelta(days=1)
    (data["detail"] if field == "last_inspection_on" else data)[field] = tomorrow
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
    with pytest.raises(ValidationFailed) as exc:
        services.create_asset(category, data, user)
    assert exc.value.errors[field] == [f"{label}：「{tomorrow.isoformat()}」晚于今天，不能填写未来日期"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == before
    asset = make_asset(Category.ELEVATOR)
    with pytest.raises(ValidationFailed) as exc:
        services.update_asset(asset.id, {"detail": {field: tomorrow}} if field == "last_inspection_on"
                              else {field: tomorrow}, user, asset.version)
    assert field in exc.value.errors
    db.session.rollback()
    assert getattr(db.session.get(Asset, asset.id).elevator if field == "last_inspection_on"
                   else db.session.get(Asset, asset.id), field) != tomorrow


def test_cross_field_and_uniqueness_errors_write_nothing(ctx):
    user = make_user("maintainer", "zjj")
    existing = make_asset(Category.ELEVATOR)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
    data = load_or_fail(AssetCreateSchema(), _elevator_input(code=existing.code, manufactured_on="2010-01-01"))
    with pytest.raises(ValidationFailed) as exc:
        services.create_asset(data.pop("category"), data, user)
    assert "已被其他设备使用" in exc.value.errors["code"][0]
    assert exc.value.errors["commissioned_on"] == ["投入使用日期：不能早于出厂日期"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == before
    assert _audit_count("asset.create") == 0


def test_update_with_stale_version_is_a_conflict_and_changes_nothing(ctx):
    user = make_user("maintainer", "zjj")
    asset = make_asset(Category.ELEVATOR, detail={"floors": 6})
    changes = load_or_fail(AssetPatchSchema(), {"name": "新名称", "condition_grade": "差"})
    services.update_asset(asset.id, changes, user, expected_version=1)
    assert asset.version == 2
    n_changes = len(_changes(asset.id))
    with pytest.raises(Conflict):
        services.update_asset(asset.id, {"name": "旧版本覆盖"}, user, expected_version=1)
    db.session.expire_all()
    fresh = db.session.get(Asset, asset.id)
    assert fresh.name == "新名称" and fresh.version == 2 and len(_changes(asset.id)) == n_changes
    rows = {c.field: (c.before, c.after) for c in _changes(asset.id)}
    assert rows["condition_grade"] == ("一般", "差")
    audit = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "asset.update"))
    assert '"condition_grade": "一般"' in audit.details and '"condition_grade": "差"' in audit.details


def test_detail_change_is_recorded(ctx):
    user = make_user("maintainer", "zjj")
    asset = make_asset(Category.ELEVATOR, detail={"floors": 6})
    services.update_asset(asset.id, {"detail": {"floors": 7}}, user, expected_version=1)
    assert [(c.field, c.before, c.after) for c in _changes(asset.id)] == [("floors", "6", "7")]


def test_scoping_other_department_is_404_read_only_is_403_both_audited(ctx):
    other = make_asset(Category.MEDICAL_DEVICE)
    own = make_asset(Category.ELEVATOR)
    zjj = make_user("maintainer", "zjj")
    inspector = make_user("inspector", "zjj")
    with pytest.raises(NotFound):
        services.update_asset(other.id, {"name": "x"}, zjj, expected_version=1)
    with pytest.raises(PermissionDenied):
        services.update_asset(own.id, {"name": "x"}, inspector, expected_version=1)
    with pytest.raises(PermissionDenied):
        services.create_asset(Category.MEDICAL_DEVICE, {}, zjj)
    assert _audit_count("asset.access_denied") == 2
    db.session.expire_all()
    assert db.session.get(Asset, other.id).name != "x" and db.session.get(Asset, own.id).version == 1


def test_bulk_update_records_each_asset_and_is_all_or_nothing(ctx):
    user = make_user("maintainer", "zjj")
    a, b = make_asset(Category.ELEVATOR), make_asset(Category.PIPE)
    foreign = make_asset(Category.OFFICIAL_CAR)
    make_unit("新郑市第一物业公司")
    with pytest.raises(NotFound):
        services.bulk_update([a.id, foreign.id], {"status": LifecycleStatus.IDLE}, user)
    db.session.expire_all()
    assert db.session.get(Asset, a.id).status is LifecycleStatus.IN_USE
    n = services.bulk_update([a.id, b.id], {"status": LifecycleStatus.IDLE, "condition_grade": ConditionGrade.POOR,
                                            "user_unit": "新郑市第一物业公司"}, user)
    assert n == 2
    for asset in (a, b):
        rows = {c.field: (c.before, c.after, c.action) for c in _changes(asset.id)}
        assert rows["status"] == ("在用", "停用", "bulk")
        assert rows["user_unit"][1] == "新郑市第一物业公司"
    assert _audit_count("asset.bulk") == 2
    with pytest.raises(ValidationFailed):
        services.bulk_update([a.id], {"name": "x"}, user)


def test_soft_delete_keeps_the_row_and_records_the_reason(ctx):
    user = make_user("maintainer", "zjj")
    asset = make_asset(Category.ELEVATOR)
    with pytest.raises(ValidationFailed):
        services.soft_delete(asset, "", user)
    services.soft_delete(asset, "重复登记", user)
    db.session.expire_all()
    row = db.session.get(Asset, asset.id)
    assert row is not None and row.deleted_at is not None and row.deletion_reason == "重复登记"
    assert {c.field for c in _changes(asset.id)} == {"deleted_at", "deletion_reason"}
    with pytest.raises(Conflict):
        services.update_asset(asset.id, {"name": "x"}, user, expected_version=row.version)


def test_unchanged_unit_name_keeps_the_unit_from_another_township(ctx):
    user = make_user("maintainer", "zjj")
    owner = make_unit("新郑市供水公司", township="新华路街道")
    asset = make_asset(Category.PIPE, owner=owner, township="龙湖镇")
    _a, diff = services.update_asset(asset.id, {"owner_unit": "新郑市供水公司", "name": "新名称"}, user, 1)
    assert set(diff) == {"name"} and asset.owner_unit_id == owner.id
    services.update_asset(asset.id, {"owner_unit": "龙湖镇水务站"}, user, 2)
    assert asset.owner_unit.name == "龙湖镇水务站" and asset.owner_unit.township == "龙湖镇"

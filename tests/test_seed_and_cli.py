"""The demo seed and the account-creation command."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from registry.accounts.models import User
from registry.accounts.passwords import verify_password
from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db
from tests.test_sparse_filters import index_definitions


def _inventory_digest() -> str:
    rows = db.session.execute(sa.select(Asset.code, Asset.category, Asset.commissioned_on, Asset.condition_grade,
                                        Asset.township).order_by(Asset.code)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_seed_demo_builds_every_category(runner, app):
    result = runner.invoke(args=["registry", "seed-demo", "--count", "600"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        counts = dict(db.session.execute(sa.select(Asset.category, sa.func.count()).group_by(Asset.category)).all())
        assert set(counts) == set(Category)
        assert sum(counts.values()) == 600
        # plausible data: some records lack the date rules need, so "cannot evaluate" has hits
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.commissioned_on.is_(None))) >= 1


def test_seed_demo_is_deterministic(runner, app):
    from tests.conftest import clean_tables
    assert runner.invoke(args=["registry", "seed-demo", "--count", "300"]).exit_code == 0
    with app.app_context():
        first = _inventory_digest()
    clean_tables(app)
    assert runner.invoke(args=["registry", "seed-demo", "--count", "300"]).exit_code == 0
    with app.app_context():
        assert _inventory_digest() == first


def test_seed_demo_refuses_a_non_empty_inventory(runner, app):
    assert runner.invoke(args=["registry", "seed-demo", "--count", "50"]).exit_code == 0
    result = runner.invoke(args=["registry", "seed-demo", "--count", "50"])
    assert result.exit_code != 0
    assert "已有设备数据" in result.output
    assert runner.invoke(args=["registry", "seed-demo", "--count", "50", "--if-empty"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 50


def test_no_account_exists_until_created(app):
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_create_user_prints_a_generated_password_once(runner, app):
    result = runner.invoke(args=["registry", "create-user", "admin1", "--role", "sysadmin"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].split("：", 1)[1]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "admin1"))
        assert verify_password(user.password_hash, password)
        assert user.must_change_password
        assert password not in user.password_hash


def test_create_user_reads_password_from_stdin(runner, app):
    result = runner.invoke(args=["registry", "create-user", "insp", "--role", "inspector", "--department", "zjj",
                                 "--password-stdin"], input="Str0ng-Passw0rd!\n")
    assert result.exit_code == 0, result.output
    assert "Str0ng-Passw0rd!" not in result.output


def test_create_user_rejects_a_weak_password_in_chinese(runner, app):
    result = runner.invoke(args=["registry", "create-user", "weak", "--role", "sysadmin", "--password-stdin"],
                           input="123\n")
    assert result.exit_code != 0
    assert "密码长度至少" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_create_user_requires_department_for_bureau_roles(runner):
    result = runner.invoke(args=["registry", "create-user", "m", "--role", "maintainer"])
    assert result.exit_code != 0
    assert "必须指定所属部门" in result.output


def test_an_older_demo_install_gets_only_the_missing_accounts(runner, app):
    """Demo accounts made before 部门负责人 existed: the heads are added, the others left alone."""
    from tests.factories import make_user
    with app.app_context():
        make_user("maintainer", "zjj", username="demo-zjj")
    result = runner.invoke(args=["registry", "seed-demo-users"])
    assert result.exit_code == 0, result.output
    assert "demo-head-zjj" in result.output and "demo-zjj\t" not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(User.username == "demo-zjj")) == 1


def test_demo_users_get_random_passwords_written_once(runner, app):
    first = runner.invoke(args=["registry", "seed-demo-users"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["registry", "seed-demo-users"])
    assert "已存在" in again.output
    with app.app_context():
        users = db.session.scalars(sa.select(User).where(User.username.like("demo-%"))).all()
        assert {u.role.value for u in users} == {"sysadmin", "secadmin", "auditor", "maintainer", "inspector",
                                                 "dept_head", "taskforce"}
        heads = {u.username: u.department.code for u in users if u.role.value == "dept_head"}
        assert heads == {"demo-head-zjj": "zjj", "demo-head-jgsw": "jgsw", "demo-head-nync": "nync",
                         "demo-head-wjw": "wjw"}
        hashes = {u.password_hash for u in users}
        assert len(hashes) == len(users)


def test_large_seed_rebuilds_the_indexes_it_defers(app, monkeypatch):
    import registry.demo.inventory as demo
    monkeypatch.setattr(demo, "BULK_INDEX_THRESHOLD", 100)
    with app.app_context():
        demo.seed_demo(150)
        names = set(index_definitions("assets"))
        assert {ix.name for ix in Asset.__table__.indexes} <= names
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 150


@pytest.mark.parametrize("args,message", [
    (["notices", "issue", "--department", "nope"], "部门代码「nope」不存在"),
    (["profiles", "list", "--department", "nope"], "部门代码「nope」不存在"),
    (["profiles", "export", "1", "--department", "nope"], "部门代码「nope」不存在"),
    (["notices", "issue", "--user", "nobody"], "用户「nobody」不存在"),
])
def test_commands_name_an_unknown_department_or_user_in_chinese(runner, args, message):
    """Every command looks departments and users up the same way: an unknown one stops it with one message."""
    result = runner.invoke(args=["registry", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_a_large_seed_copies_its_drawn_rows_with_their_own_codes_identifiers_and_dates(app, monkeypatch):
    import registry.demo.inventory as demo
    from registry.assets.codes import code_for
    from registry.assets import search
    from registry.assets.filters import keyword_condition
    from registry.assets.models import DETAIL_MODELS, ElevatorDetail, OfficialCarDetail
    from registry.orgs.models import Unit
    monkeypatch.setattr(demo, "GROWTH_BASE", 200)
    monkeypatch.setattr(demo, "BULK_INDEX_THRESHOLD", 100)  # the deferred indexes and keyword index too
    with app.app_context():
        totals = demo.seed_demo(530)
        rows = db.session.execute(sa.select(Asset.id, Asset.code, Asset.category, Asset.commissioned_on,
                                            Asset.condition_grade, Asset.owner_unit_id).order_by(Asset.id)).all()
        assert [r.id for r in rows] == list(range(1, 531))
        counts = dict(db.session.execute(sa.select(Asset.category, sa.func.count()).group_by(Asset.category)).all())
        assert totals == {c.label: counts[c] for c in Category}
        # Every category's codes run 1..n without a gap, as if each row had been drawn.
        for category in Category:
            codes = sorted(r.code for r in rows if r.category is category)
            assert codes == [code_for(category, i) for i in range(1, counts[category] + 1)]
        by_id = {r.id: r for r in rows}
        for copy in rows[200:]:
            source = by_id[(copy.id - 1) % 200 + 1]
            assert (copy.category, copy.condition_grade, copy.owner_unit_id) == \
                   (source.category, source.condition_grade, source.owner_unit_id)
            if source.commissioned_on is None:
                assert copy.commissioned_on is None
            else:
                assert 0 <= (source.commissioned_on - copy.commissioned_on).days <= 60
        assert sum(by_id[i].commissioned_on != by_id[i - 200].commissioned_on for i in range(201, 401)
                   if by_id[i].commissioned_on) > 150
        for category, model in DETAIL_MODELS.items():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == counts[category]
        # Identifiers are made from the copy's own id, like the drawn rows' (unique where the schema says so).
        regs = dict(db.session.execute(sa.select(ElevatorDetail.asset_id, ElevatorDetail.registration_code)).all())
        assert all(code == f"3110410{asset_id:013d}" for asset_id, code in regs.items())
        plates = db.session.scalars(sa.select(OfficialCarDetail.plate_number)).all()
        assert len(set(plates)) == len(plates) and all(p.startswith("豫A") for p in plates)
        # The keyword indexes hold the copies and the units (built once, after the load).
        last = db.session.get(Asset, rows[-1].id)
        owner = db.session.scalar(sa.select(Unit.name).where(Unit.id == last.owner_unit_id))
        for word in (last.address, owner, last.name):
            found = db.session.scalars(sa.select(Asset.id).where(keyword_condition(word)).order_by(Asset.id)).all()
            assert last.id in found
            assert found == db.session.scalars(sa.select(Asset.id).where(search.like_condition(word))
                                               .order_by(Asset.id)).all()

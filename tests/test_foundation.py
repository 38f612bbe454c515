"""The app factory, configuration, health check and database constraints."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from registry import create_app
from registry.enums import Category
from registry.extensions import db
from tests import factories


def test_config_override_wins(database_url):
    app = create_app({"DATABASE_URL": database_url, "SESSION_IDLE_MINUTES": 5, "SECRET_KEY": "x"})
    assert app.config["SESSION_IDLE_MINUTES"] == 5
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url


def test_config_from_environment(monkeypatch, tmp_path):
    url = "sqlite:///" + str(tmp_path / "env.db")
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    monkeypatch.setenv("REGISTRY_SECRET_KEY", "from-env")
    monkeypatch.setenv("REGISTRY_LOGIN_MAX_ATTEMPTS", "7")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["LOGIN_MAX_ATTEMPTS"] == 7


@pytest.mark.parametrize("setting,expected", [(None, 1024 ** 3), ("0", 0), ("268435456", 268435456)])
def test_sqlite_reads_through_a_memory_map_of_the_configured_size(monkeypatch, tmp_path, setting, expected):
    if setting is not None:
        monkeypatch.setenv("REGISTRY_SQLITE_MMAP_SIZE", setting)
    app = create_app({"DATABASE_URL": "sqlite:///" + str(tmp_path / "m.db"), "SECRET_KEY": "x"})
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA mmap_size")).scalar() == expected
        db.engine.dispose()


@pytest.mark.parametrize("name,raw,message", [
    ("REGISTRY_SQLITE_MMAP_SIZE", "1GB", "环境变量 REGISTRY_SQLITE_MMAP_SIZE 应为整数，现为「1GB」"),
    ("REGISTRY_LOGIN_MAX_ATTEMPTS", "五", "环境变量 REGISTRY_LOGIN_MAX_ATTEMPTS 应为整数，现为「五」"),
])
def test_a_setting_that_is_not_a_number_is_named_in_chinese(monkeypatch, tmp_path, name, raw, message):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError) as caught:
        create_app({"DATABASE_URL": "sqlite:///" + str(tmp_path / "n.db"), "SECRET_KEY": "x"})
    assert str(caught.value) == message


def test_default_database_is_instance_sqlite(monkeypatch):
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/registry.db")


def test_secret_key_is_never_a_shared_default(monkeypatch, tmp_path):
    monkeypatch.delenv("REGISTRY_SECRET_KEY", raising=False)
    app = create_app({"DATABASE_URL": "sqlite:///" + str(tmp_path / "a.db")})
    assert len(app.config["SECRET_KEY"]) >= 32


def test_health_needs_no_login(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok"}


def test_wsgi_exposes_app_and_freezes_what_it_built():
    import gc
    import wsgi
    try:
        assert wsgi.app.name == "registry"
        assert gc.get_freeze_count() > 0  # the startup objects left out of the collector's passes
    finally:
        gc.unfreeze()  # this is the test process, not a worker


def test_home_lists_work_not_inventory_totals(client, login, app):
    with app.app_context():
        factories.make_asset(Category.ELEVATOR)
        factories.make_asset(Category.PIPE)
        factories.make_asset(Category.OFFICIAL_CAR)  # another department's
    login("maintainer", "zjj")
    html = client.get("/").get_data(as_text=True)
    assert "今日待办" in html and "本周新增强制更新项" in html
    assert "在册设备" not in html and "设备台账概况" not in html  # work lists, not totals (tests/test_home_work.py)


def test_asset_code_is_unique(ctx):
    factories.make_asset(code="XZ-DUP-1")
    with pytest.raises(IntegrityError):
        factories.make_asset(code="XZ-DUP-1")
    db.session.rollback()


def test_database_rejects_manufacture_after_commissioning(ctx):
    with pytest.raises(IntegrityError):
        factories.make_asset(manufactured_on=date(2016, 1, 1), commissioned_on=date(2015, 1, 1))
    db.session.rollback()


def test_database_rejects_unknown_enum_value(ctx):
    asset = factories.make_asset()
    with pytest.raises((IntegrityError, StatementError)):
        db.session.execute(sa.text("UPDATE assets SET condition_grade = 'terrible' WHERE id = :id"), {"id": asset.id})
        db.session.commit()
    db.session.rollback()


def test_enum_labels_live_in_one_place():
    from registry.enums import ALL_ENUMS
    for enum_cls in ALL_ENUMS:
        labels = [m.label for m in enum_cls]
        assert all(labels), enum_cls
        assert len(set(labels)) == len(labels), f"{enum_cls.__name__} has duplicate labels"

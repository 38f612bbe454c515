"""The app factory, configuration, health check and database constraints."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from registry import create_app
from registry.assets.models import Asset
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


def test_wsgi_exposes_app():
    import wsgi
    assert wsgi.app.name == "registry"


def test_home_shows_counts_per_category_and_department(client, login, app):
    with app.app_context():
        factories.make_asset(Category.ELEVATOR)
        factories.make_asset(Category.PIPE)
        factories.make_asset(Category.OFFICIAL_CAR)  # another department's: not counted for 住建局
    login("maintainer", "zjj")
    html = client.get("/").get_data(as_text=True)
    assert "设备台账概况" in html
    assert "住建局" in html and "电梯" in html
    assert "共 <b>2</b>" in html


def test_asset_code_is_unique(ctx):
    factories.make_asset(code="XZ-DUP-1")
    with pytest.raises(IntegrityError):
        factories.make_asset(code="XZ-DUP-1")
    db.session.rollback()


@pytest.mark.parametrize("column", ["manufactured_on", "commissioned_on", "registered_on"])
def test_database_rejects_future_dates(ctx, column):
    with pytest.raises(IntegrityError):
        factories.make_asset(**{column: date.today() + timedelta(days=3), "manufactured_on": None}
                             if column != "manufactured_on" else {column: date.today() + timedelta(days=3),
                                                                   "commissioned_on": None})
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0


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

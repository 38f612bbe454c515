"""Two logged-in users edit the same asset at the same moment: one wins, the other gets a conflict, nothing is lost.

A barrier holds both requests just after each has checked the version it read (both saw version 1), so the
database-level guard (the version column in the UPDATE's WHERE) is what has to stop the second write.
"""
from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from registry.assets import services
from registry.assets.models import Asset, AssetChange
from registry.enums import Category
from registry.extensions import db
from tests.conftest import session_login
from tests.factories import make_asset, make_user

STALE = "该设备已被他人修改，请刷新后重试"  # the database-level guard's message (StaleDataError)
pytestmark = pytest.mark.skipif(
    not os.environ.get("REGISTRY_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="real concurrent writers need PostgreSQL (SQLite serialises whole-database writes)")


def _form(client, asset_id) -> dict:
    """The edit form's fields as the browser would post them back (version 1)."""
    import re
    html = client.get(f"/assets/{asset_id}/edit").get_data(as_text=True)
    fields = {m.group(1): m.group(2) for m in re.finditer(r'<input id="f-(\w+)" name="\w+" value="([^"]*)"', html)}
    return {**fields, "version": "1", "elevator_type": "traction"}


@pytest.mark.parametrize("how, loser_status", [("body", 409), ("if-match", 412), ("form", 409)])
def test_concurrent_patches_one_wins_one_conflicts(app, monkeypatch, how, loser_status):
    with app.app_context():
        asset_id = make_asset(Category.ELEVATOR, name="原名称").id
        users = [make_user(role="maintainer", department="zjj", username=f"editor-{i}") for i in range(2)]
    clients, forms = [], []
    for user in users:
        client = app.test_client()
        with app.app_context():
            session_login(client, db.session.merge(user))
        assert client.get(f"/api/v1/assets/{asset_id}").headers["ETag"] == '"1"'  # both loaded version 1
        forms.append(_form(client, asset_id))
        clients.append(client)

    barrier = threading.Barrier(2, timeout=10)
    original = services.apply_changes

    def apply_after_both_checked(*args, **kwargs):
        barrier.wait()  # both requests have passed the version check with version 1
        return original(*args, **kwargs)
    monkeypatch.setattr(services, "apply_changes", apply_after_both_checked)

    results: dict[str, object] = {}

    def edit(client, form, name):
        try:
            if how == "form":
                resp = client.post(f"/assets/{asset_id}/edit", data={**form, "name": name})
                status = 200 if resp.status_code == 302 else resp.status_code
                message = STALE if STALE in resp.get_data(as_text=True) else ""
                results[name] = (status, {"message": message})
                return
            if how == "body":
                resp = client.patch(f"/api/v1/assets/{asset_id}", json={"name": name, "version": 1})
            else:
                resp = client.patch(f"/api/v1/assets/{asset_id}", json={"name": name}, headers={"If-Match": '"1"'})
            results[name] = (resp.status_code, resp.get_json())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc
    threads = [threading.Thread(target=edit, args=(c, f, n))
               for c, f, n in zip(clients, forms, ("甲单位修改", "乙单位修改"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(not t.is_alive() for t in threads)

    statuses = sorted(r[0] for r in results.values())
    assert statuses == sorted([200, loser_status]), results
    winner = next(name for name, r in results.items() if r[0] == 200)
    loser = next(name for name, r in results.items() if r[0] != 200)
    # The message of the database-level guard (StaleDataError), not of the early version check.
    assert results[loser][1]["message"] == STALE
    with app.app_context():
        asset = db.session.get(Asset, asset_id)
        assert asset.name == winner and asset.version == 2
        changes = db.session.scalars(sa.select(AssetChange).where(AssetChange.asset_id == asset_id,
                                                                   AssetChange.field == "name")).all()
        assert [(c.before, c.after) for c in changes] == [("原名称", winner)]
    verify = app.test_cli_runner().invoke(args=["registry", "audit", "verify"])
    assert verify.exit_code == 0, verify.output

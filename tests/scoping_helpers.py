"""Reusable checks for department scoping at the URL level (for inventory, notice, plan pages).

Example, in an inventory page test:

    from tests.scoping_helpers import assert_refused_without_change
    foreign = factories.make_asset(Category.OFFICIAL_CAR)      # 机关事务中心's car
    login("maintainer", "zjj")
    assert_refused_without_change(app, client, "POST", f"/assets/{foreign.id}/edit", data={"name": "x"})
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from registry.audit.models import AuditRecord
from registry.extensions import db

BUSINESS_TABLES = ("assets", "asset_changes", "units")


def business_digest(tables=BUSINESS_TABLES) -> str:
    """Return a digest of every row of `tables` (call inside an app context)."""
    h = hashlib.sha256()
    for name in tables:
        table = db.metadata.tables.get(name)
        if table is None:
            continue
        for row in db.session.execute(sa.select(table).order_by(*table.primary_key.columns)):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def _denials(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.outcome == "denied"))


def assert_refused_without_change(app, client, method: str, url: str, *, data=None, json=None,
                                  headers=None, expected=(403, 404), tables=BUSINESS_TABLES):
    """Send the request; assert a clean refusal, a new 'denied' audit record and no data change."""
    with app.app_context():
        before = business_digest(tables)
    denials = _denials(app)
    resp = client.open(url, method=method, data=data, json=json, headers=headers)
    assert resp.status_code in expected, (resp.status_code, resp.get_data(as_text=True)[:300])
    body = resp.get_data(as_text=True)
    assert "Traceback" not in body
    assert _denials(app) > denials, "the refusal was not audited"
    with app.app_context():
        db.session.remove()
        assert business_digest(tables) == before, "the refused request changed data"
    return resp

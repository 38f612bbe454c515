"""Department scoping at the service level: who reads and who edits which asset."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint
from flask_login import current_user

from registry.accounts import scoping
from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.assets.models import Asset
from registry.assets.scoping import asset_scope
from registry.enums import Category
from registry.errors import NotFound, PermissionDenied
from registry.extensions import db
from tests import factories
from tests.scoping_helpers import assert_refused_without_change


@pytest.fixture
def assets(ctx):
    """One 住建局 elevator and one 机关事务中心 car."""
    return {"elevator": factories.make_asset(Category.ELEVATOR),
            "car": factories.make_asset(Category.OFFICIAL_CAR)}


def _visible(user) -> set[int]:
    return set(db.session.scalars(sa.select(Asset.id).where(asset_scope(user))))


@pytest.mark.parametrize("role,dept,reads,edits", [
    ("maintainer", "zjj", {"elevator"}, {"elevator"}),
    ("maintainer", "jgsw", {"car"}, {"car"}),
    ("inspector", "zjj", {"elevator"}, set()),
    ("taskforce", None, {"elevator", "car"}, set()),
    ("sysadmin", None, set(), set()),
    ("secadmin", None, set(), set()),
    ("auditor", None, set(), set()),
])
def test_scope_per_role(assets, role, dept, reads, edits):
    user = factories.make_user(role, dept)
    ids = {name: a.id for name, a in assets.items()}
    assert _visible(user) == {ids[n] for n in reads}
    for name, asset in assets.items():
        assert scoping.can_read_asset(user, asset) == (name in reads)
        assert scoping.can_edit_asset(user, asset) == (name in edits)


def test_maintainer_cannot_edit_own_department_asset_of_a_category_it_does_not_own(ctx):
    # 市场监管局 is responsible for no category: its maintainer edits nothing, even its own rows.
    scjg = db.session.scalar(sa.select(factories.Department).where(factories.Department.code == "scjg"))
    asset = factories.make_asset(Category.ELEVATOR, department=scjg)
    user = factories.make_user("maintainer", "scjg")
    assert scoping.can_read_asset(user, asset)
    assert not scoping.can_edit_asset(user, asset)
    assert scoping.editable_categories(user) == set()


def test_require_helpers_refuse_and_audit(assets):
    from registry.audit.models import AuditRecord
    user = factories.make_user("maintainer", "zjj")
    inspector = factories.make_user("inspector", "zjj")
    assert scoping.require_editable(user, assets["elevator"]) is assets["elevator"]
    with pytest.raises(NotFound):
        scoping.require_readable(user, assets["car"])
    with pytest.raises(PermissionDenied):
        scoping.require_editable(inspector, db.session.get(Asset, assets["elevator"].id))
    denials = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "access.denied")).all()
    assert len(denials) == 2 and all(d.object_type == "asset" for d in denials)


def test_url_level_helper_on_a_test_only_route(app, client, login):
    """Shows how inventory pages can use tests/scoping_helpers.py once they exist."""
    bp = Blueprint("probe_assets", __name__)

    @bp.route("/_probe/assets/<int:asset_id>/rename", methods=["POST"])
    @roles_required(*BUSINESS_READERS)
    def rename(asset_id: int):
        asset = scoping.require_editable(current_user, db.session.get(Asset, asset_id))
        asset.name = "renamed"
        db.session.commit()
        return "ok"

    app.register_blueprint(bp)
    with app.app_context():
        foreign = factories.make_asset(Category.OFFICIAL_CAR).id
        own = factories.make_asset(Category.ELEVATOR).id
    login("maintainer", "zjj")
    assert_refused_without_change(app, client, "POST", f"/_probe/assets/{foreign}/rename", data={"name": "x"})
    assert_refused_without_change(app, client, "POST", "/_probe/assets/999999/rename")
    assert client.post(f"/_probe/assets/{own}/rename").status_code == 200

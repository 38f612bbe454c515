"""HTML forms for disposal and replacement records, reached from the asset page's 处置与更新 section."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from registry import enums
from registry.accounts.access import BUSINESS_READERS, roles_required
from registry.assets.forms import field_groups
from registry.assets.schemas import form_to_input
from registry.assets.services import get_editable
from registry.disposals import services
from registry.enums import Role
from registry.errors import ValidationFailed
from registry.orgs.reference import TOWNSHIPS

bp = Blueprint("disposals", __name__)


def _form_page(asset, kind: str, values: dict, errors: dict, status: int = 200, new_asset: bool = False):
    groups = [(f"新设备 · {title}", specs) for title, specs in field_groups(asset.category)] if new_asset else None
    return render_template("disposals/form.html", asset=asset, kind=kind, values=values, errors=errors,
                           enums=enums, groups=groups, prefix=services.NEW_ASSET, townships_list=TOWNSHIPS), status


def _new_asset_defaults(asset) -> dict:
    """Prefill the new asset's place and units from the asset it replaces (a like-for-like renewal)."""
    p = services.NEW_ASSET
    return {p + "owner_unit": asset.owner_unit.name if asset.owner_unit else "",
            p + "user_unit": asset.user_unit.name if asset.user_unit else "",
            p + "township": asset.township or "", p + "address": asset.address or ""}


@bp.route("/assets/<int:asset_id>/disposal", methods=["GET", "POST"])
@roles_required(Role.MAINTAINER)
def disposal(asset_id: int):
    """Show and take the disposal form (how, when, to whom the asset left service; certificates; scans)."""
    asset = get_editable(asset_id, current_user)
    if request.method == "GET":
        return _form_page(asset, "disposal", {}, {})
    values = request.form.to_dict()
    try:
        services.record_disposal(asset_id, current_user, services.parse_disposal(values),
                                 request.files.getlist("documents"))
    except ValidationFailed as exc:
        return _form_page(asset, "disposal", values, exc.errors, 422)
    flash("处置记录已保存", "success")
    return redirect(url_for("assets.detail", asset_id=asset_id) + "#records")


@bp.route("/assets/<int:asset_id>/replacement", methods=["GET", "POST"])
@roles_required(Role.MAINTAINER)
def replacement(asset_id: int):
    """Show and take the replacement form; the asset is prefilled as one of the replaced assets.

    With `new=1` the form also holds the new asset's fields (the asset create form of this asset's
    category): the new asset and the replacement record are written in one transaction.
    """
    asset = get_editable(asset_id, current_user)
    new_asset = request.args.get("new") == "1"
    if request.method == "GET":
        values = {"replaces": asset.code, **(_new_asset_defaults(asset) if new_asset else {})}
        return _form_page(asset, "replacement", values, {}, new_asset=new_asset)
    values = request.form.to_dict()
    try:
        if new_asset:
            p = services.NEW_ASSET
            fields = {k[len(p):]: v for k, v in values.items() if k.startswith(p)}
            asset_values, parsed = services.parse_new_replacement(
                values, form_to_input(asset.category, fields, partial=False))
            row = services.register_replacement(current_user, asset_values, parsed)
        else:
            row = services.record_replacement(current_user, services.parse_replacement(values))
    except ValidationFailed as exc:
        return _form_page(asset, "replacement", values, exc.errors, 422, new_asset=new_asset)
    flash(f"已登记新设备 {row.new_asset.code} 并保存更新记录" if new_asset else "更新记录已保存", "success")
    return redirect(url_for("assets.detail", asset_id=asset_id) + "#records")


@bp.get("/disposal-documents/<int:document_id>")
@roles_required(*BUSINESS_READERS)
def document(document_id: int):
    """Send one scanned disposal document to a reader of the asset."""
    path, ctype, name = services.document_file(document_id, current_user)
    return send_file(path, mimetype=ctype, download_name=name, as_attachment=ctype == "application/pdf")

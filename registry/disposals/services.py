"""Record disposals and replacements. Validate everything first; on any refusal nothing is written.

A disposal says how an asset left service; recording one makes the asset 已报废 (unless it is
already 已更新). A replacement links a new asset to the assets it replaces, all of one
department; recording one makes those assets 已更新. Status changes go through
assets.services.change_status, which refuses 已报废 without a disposal (see scrap_guard).
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path

import marshmallow as ma
import sqlalchemy as sa

from registry import clock, storage
from registry.accounts.scoping import can_edit_asset, editable_categories
from registry.api_base import flatten_errors
from registry.assets.assessments import DOCUMENT_MAGIC, check_upload
from registry.assets.fields import FieldError, parse_date
from registry.assets.models import Asset
from registry.assets.schemas import AssetCreateSchema
from registry.assets.services import build_asset, change_status, get_editable, get_readable
from registry.audit import services as audit
from registry.disposals.models import Disposal, DisposalDocument, Replacement, ReplacementLink
from registry.enums import Category, DisposalWay, EfficiencyLevel, FundingSource, LifecycleStatus
from registry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.extensions import db
from registry.inputs import NumberError, parse_number
from registry.orgs.reference import department_for_category
from registry.transactions import atomic

MAX_INVESTMENT = Decimal("1000000000")  # 10亿元 for one replacement: anything above is a typing slip
MAX_DOCUMENTS = 10
DOCUMENT_KINDS_TEXT = "PDF、JPEG 或 PNG 文件"
# Categories whose scrapping is deregistered with an authority (vehicles; elevators and cranes are special equipment).
DEREGISTERED = (Category.OFFICIAL_CAR, Category.ELEVATOR, Category.CONSTRUCTION_MACHINE)


def has_disposal(asset_id: int) -> bool:
    """Tell whether the asset has a disposal record (the guard assets.services consults before 已报废)."""
    return db.session.scalar(sa.select(Disposal.id).where(Disposal.asset_id == asset_id)) is not None


def disposal_of(asset_id: int) -> Disposal | None:
    """Return the asset's disposal record, if any."""
    return db.session.scalar(sa.select(Disposal).where(Disposal.asset_id == asset_id))


def replacement_replacing(asset_id: int) -> Replacement | None:
    """Return the replacement record that replaced this asset, if any."""
    return db.session.scalar(sa.select(Replacement).join(ReplacementLink)
                             .where(ReplacementLink.old_asset_id == asset_id))


def replacement_by_new(asset_id: int) -> Replacement | None:
    """Return the replacement record in which this asset is the new one, if any."""
    return db.session.scalar(sa.select(Replacement).where(Replacement.new_asset_id == asset_id))


def files_dir() -> Path:
    """Return the folder scanned disposal documents live in (DISPOSAL_FILES_DIR, else FILES_ROOT/disposals)."""
    return storage.files_dir("disposals", "DISPOSAL_FILES_DIR")


def _text(raw, field: str, label: str, limit: int, errors: dict, required: bool = False) -> str:
    if raw is not None and not isinstance(raw, str):
        errors[field] = [f"{label}：应为文本"]
        return ""
    text = (raw or "").strip()
    if required and not text:
        errors[field] = [f"{label}：不能为空"]
    elif len(text) > limit:
        errors[field] = [f"{label}：不能超过 {limit} 个字符"]
    return text


def _enum(enum_cls, raw, field: str, label: str, errors: dict, required: bool = True):
    if raw in (None, "") and not required:
        return None
    try:
        return enum_cls.from_label(raw if isinstance(raw, str) else "")
    except KeyError:
        errors[field] = [f"{label}：请选择 {'/'.join(enum_cls.labels())} 之一"]
        return None


def _date(raw, field: str, label: str, errors: dict) -> date | None:
    try:
        value, _warning = parse_date(raw)  # refuses a date later than the local day (registry.clock)
    except FieldError as exc:
        errors[field] = [f"{label}：{exc.message}"]
        return None
    if value is None:
        errors[field] = [f"{label}：不能为空"]
    return value


def parse_disposal(raw: dict) -> dict:
    """Parse a disposal from form or JSON values (way by label or value); raise ValidationFailed in Chinese."""
    errors: dict[str, list[str]] = {}
    values = {
        "way": _enum(DisposalWay, raw.get("way"), "way", "处置方式", errors),
        "disposed_on": _date(raw.get("disposed_on"), "disposed_on", "处置日期", errors),
        "receiver": _text(raw.get("receiver"), "receiver", "接收企业", 120, errors, required=True),
        "recycling_certificate_no": _text(raw.get("recycling_certificate_no"), "recycling_certificate_no",
                                          "报废机动车回收证明编号", 64, errors) or None,
        "deregistration_no": _text(raw.get("deregistration_no"), "deregistration_no", "注销登记编号", 64, errors) or None,
        "note": _text(raw.get("note"), "note", "备注", 4000, errors),
    }
    if errors:
        raise ValidationFailed("处置记录校验未通过", errors)
    return values


def check_disposal(asset: Asset, values: dict) -> None:
    """Check what depends on the asset and on other records: one per asset, dates, required and unique certificates."""
    if disposal_of(asset.id) is not None:
        raise Conflict(f"设备 {asset.code} 已有处置记录，不能重复登记")
    errors: dict[str, list[str]] = {}
    start = asset.commissioned_on or asset.registered_on
    if start and values["disposed_on"] < start:
        errors["disposed_on"] = [f"处置日期：「{values['disposed_on'].isoformat()}」早于投入使用日期 {start.isoformat()}"]
    if values["way"] is DisposalWay.SCRAP_DISMANTLE:
        if asset.category is Category.OFFICIAL_CAR and not values["recycling_certificate_no"]:
            errors["recycling_certificate_no"] = ["报废机动车回收证明编号：车辆报废拆解须填写"]
        if asset.category in DEREGISTERED and not values["deregistration_no"]:
            errors["deregistration_no"] = [f"注销登记编号：{asset.category.label}报废拆解须填写"]
    for field, label in (("recycling_certificate_no", "报废机动车回收证明编号"), ("deregistration_no", "注销登记编号")):
        number = values[field]
        if number:
            other = db.session.scalar(sa.select(Asset.code).join(Disposal, Disposal.asset_id == Asset.id)
                                      .where(getattr(Disposal, field) == number, Disposal.asset_id != asset.id))
            if other:
                errors[field] = [f"{label}：「{number}」已用于设备 {other}，一个编号只能对应一台设备"]
    if errors:
        raise ValidationFailed("处置记录校验未通过", errors)


def _documents(files) -> list[tuple[bytes, str, str, str]]:
    """Check every uploaded document before anything is stored; return (bytes, type, extension, name)."""
    files = [f for f in (files or []) if f is not None and getattr(f, "filename", "")]
    if len(files) > MAX_DOCUMENTS:
        raise ValidationFailed("附件过多", {"documents": [f"处置凭证：最多上传 {MAX_DOCUMENTS} 个文件"]})
    checked = []
    for f in files:
        data, ctype, ext = check_upload(f, "documents", f"处置凭证「{os.path.basename(f.filename)[:60]}」",
                                        DOCUMENT_MAGIC, DOCUMENT_KINDS_TEXT)
        checked.append((data, ctype, ext, os.path.basename(f.filename)[:120]))
    return checked


def add_disposal(asset: Asset, user, values: dict, documents=(), written: list[Path] | None = None) -> Disposal:
    """Check and add one disposal (checked documents stored, their paths appended to `written`); make the asset
    已报废 unless 已更新; no commit (the web form, the API and the Excel import share it)."""
    check_disposal(asset, values)
    row = Disposal(asset_id=asset.id, recorded_by_id=getattr(user, "id", None), **values)
    db.session.add(row)
    db.session.flush()
    for data, ctype, ext, name in documents:
        rel = f"{asset.id}/{secrets.token_hex(16)}{ext}"
        path = files_dir() / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if written is not None:
            written.append(path)
        db.session.add(DisposalDocument(disposal_id=row.id, path=rel, content_type=ctype, original_name=name,
                                        sha256=hashlib.sha256(data).hexdigest()))
    audit.record("disposal.create", object_type="asset", object_id=asset.id, user=user,
                 details={"code": asset.code, "disposal_id": row.id, "way": row.way.value,
                          "disposed_on": row.disposed_on.isoformat(), "receiver": row.receiver,
                          "recycling_certificate_no": row.recycling_certificate_no,
                          "deregistration_no": row.deregistration_no, "documents": len(documents)})
    if asset.status is not LifecycleStatus.RENEWED:
        change_status([asset.id], LifecycleStatus.SCRAPPED, user, source="dispose",
                      reason=f"处置记录：{row.way.label} {row.disposed_on}")
    return row


@atomic
def record_disposal(asset_id: int, user, values: dict, files=None) -> Disposal:
    """Record how an asset left service (with scanned documents), make it 已报废 unless 已更新; commit."""
    asset = get_editable(asset_id, user)
    check_disposal(asset, values)
    documents = _documents(files)
    written: list[Path] = []
    try:
        row = add_disposal(asset, user, values, documents, written)
        db.session.commit()
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)  # no orphan file when the row was not written
        raise
    return row


def document_file(document_id: int, user) -> tuple[Path, str, str]:
    """Return (path, content type, download name) of a disposal document the user may read."""
    doc = db.session.get(DisposalDocument, document_id)
    if doc is None:
        raise NotFound("文件不存在")
    get_readable(doc.disposal.asset_id, user)
    path = files_dir() / doc.path
    if not path.is_file():
        raise NotFound("文件不存在")
    return path, doc.content_type, doc.original_name or path.name


def _amount(raw, errors: dict) -> Decimal | None:
    label = "投资金额（元）"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors["investment_yuan"] = [f"{label}：不能为空"]
        return None
    if not isinstance(raw, (str, int, float, Decimal)):
        errors["investment_yuan"] = [f"{label}：应为数字"]
        return None
    try:
        value = Decimal(parse_number(str(raw).replace("，", "") if isinstance(raw, str) else raw))
    except NumberError as exc:
        errors["investment_yuan"] = [f"{label}：{exc.message}"]
        return None
    problem = ("须大于 0" if value <= 0
               else f"「{value:,.2f}」超过单项上限 10 亿元，请核对单位（元）" if value > MAX_INVESTMENT else None)
    cents = None if problem else value.quantize(Decimal("0.01"))  # bounded first: quantize needs the range
    if cents is not None and value != cents:
        problem = "最多两位小数（分）"
    if problem:
        errors["investment_yuan"] = [f"{label}：{problem}"]
        return None
    return cents


def _bool(raw, errors: dict) -> bool:
    if isinstance(raw, bool):
        return raw
    text = (raw if isinstance(raw, str) else "" if raw is None else "?").strip()
    if text in ("", "0", "否", "false", "off", "no"):
        return False
    if text in ("1", "是", "true", "on", "yes"):
        return True
    errors["new_energy"] = ["是否新能源：请填写 是 或 否"]
    return False


def parse_replacement(raw: dict, *, new_registered: bool = False) -> dict:
    """Parse a replacement (new asset by code or id, replaced assets as codes/ids); raise ValidationFailed.

    With `new_registered` the new asset is registered in the same request (see parse_new_replacement).
    """
    errors: dict[str, list[str]] = {}
    old = raw.get("replaces")
    if isinstance(old, str):
        old = [p for p in re.split(r"[,，、;；\s]+", old) if p.strip()]  # as typed, or as the 台账 export joins them
    if not isinstance(old, list) or not old or not all(isinstance(o, (str, int)) and not isinstance(o, bool)
                                                       for o in old):
        errors["replaces"] = ["被替换设备：请填写至少一个设备编号"]
        old = []
    elif len(old) > 50:
        errors["replaces"] = ["被替换设备：一条更新记录最多替换 50 台设备"]
    new = "" if new_registered else raw.get("new_asset")
    if not new_registered and (not isinstance(new, (str, int)) or isinstance(new, bool) or not str(new).strip()):
        errors["new_asset"] = ["新设备：请填写已登记设备的编号，或新设备的属性（对象）"]
        new = ""
    values = {
        "new_asset": str(new).strip(),
        "replaces": [str(o).strip() for o in old],
        "replaced_on": _date(raw.get("replaced_on"), "replaced_on", "更新日期", errors),
        "investment_yuan": _amount(raw.get("investment_yuan"), errors),
        "funding_source": _enum(FundingSource, raw.get("funding_source"), "funding_source", "资金来源", errors),
        "efficiency_level": _enum(EfficiencyLevel, raw.get("efficiency_level"), "efficiency_level", "能效水平", errors,
                                  required=False),
        "emission_standard": _text(raw.get("emission_standard"), "emission_standard", "排放标准", 32, errors) or None,
        "new_energy": _bool(raw.get("new_energy"), errors),
        "note": _text(raw.get("note"), "note", "备注", 4000, errors),
    }
    if errors:
        raise ValidationFailed("更新记录校验未通过", errors)
    return values


def may_edit(user, asset: Asset) -> bool:
    """Tell whether `user` may record on `asset`; None is the operator of `flask registry import`, who may."""
    return user is None or can_edit_asset(user, asset)


def find_asset(ref: str) -> Asset | None:
    """Return the live asset with code `ref` (or id, when `ref` is all digits and no code matches)."""
    asset = db.session.scalar(sa.select(Asset).where(Asset.code == ref, Asset.deleted_at.is_(None)))
    if asset is None and ref.isdigit():
        asset = db.session.scalar(sa.select(Asset).where(Asset.id == int(ref), Asset.deleted_at.is_(None)))
    return asset


NEW_ASSET = "new_asset."  # prefix of the new asset's fields (and errors) when it is registered with its replacement


def parse_new_replacement(raw: dict, asset_input) -> tuple[dict, dict]:
    """Parse a replacement and the new asset registered with it (the asset create shape, AssetCreateSchema).

    Return (asset values, replacement values); raise one ValidationFailed holding both sets of errors,
    the asset's keyed `new_asset.<field>`.
    """
    errors: dict[str, list[str]] = {}
    asset_values = values = None
    if not isinstance(asset_input, dict):
        errors["new_asset"] = ["新设备：应为设备编号，或新设备的属性（对象）"]
    else:
        try:
            asset_values = AssetCreateSchema().load(asset_input)
        except ma.ValidationError as exc:
            errors.update((NEW_ASSET + k, v) for k, v in flatten_errors(exc.messages).items())
    try:
        values = parse_replacement(raw, new_registered=True)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed("更新记录校验未通过", errors)
    return asset_values, values


def _replaced_assets(user, refs: list[str], department, new_id: int | None) -> tuple[list[Asset], list[str]]:
    """Return the assets `refs` name that `user` may mark replaced within `department`, and the problems found."""
    olds: list[Asset] = []
    problems = []
    for ref in dict.fromkeys(refs):
        old = find_asset(ref)
        if old is None:
            problems.append(f"「{ref}」不存在")
        elif old.id == new_id:
            problems.append(f"{old.code} 是新设备本身")
        elif old.department_id != department.id:
            problems.append(f"{old.code} 属于{old.department.name}，与新设备（{department.name}）不是同一部门")
        elif not may_edit(user, old):
            problems.append(f"{old.code} 您无权修改")
        elif replacement_replacing(old.id) is not None:
            problems.append(f"{old.code} 已被其他设备替换")
        else:
            olds.append(old)
    return olds, problems


def check_replacement(user, new: Asset, values: dict) -> list[Asset]:
    """Check a replacement by `new` (one record per new asset; replaced assets of its department); return them."""
    errors: dict[str, list[str]] = {}
    if new.id is not None and replacement_by_new(new.id) is not None:
        errors["new_asset"] = [f"新设备：{new.code} 已有更新记录"]
    olds, problems = _replaced_assets(user, values["replaces"], new.department, new.id)
    if problems:
        errors["replaces"] = ["被替换设备：" + "；".join(problems)]
    if errors:
        raise ValidationFailed("更新记录校验未通过", errors)
    return olds


def add_replacement(user, new: Asset, values: dict) -> Replacement:
    """Check and add a replacement by `new` with its links and audit record; the replaced become 已更新. No commit."""
    olds = check_replacement(user, new, values)
    row = Replacement(new_asset_id=new.id, replaced_on=values["replaced_on"], investment_yuan=values["investment_yuan"],
                      funding_source=values["funding_source"], efficiency_level=values["efficiency_level"],
                      emission_standard=values["emission_standard"], new_energy=values["new_energy"],
                      note=values["note"], recorded_by_id=getattr(user, "id", None))
    db.session.add(row)
    db.session.flush()
    for old in olds:
        db.session.add(ReplacementLink(replacement_id=row.id, old_asset_id=old.id))
    audit.record("replacement.create", object_type="asset", object_id=new.id, user=user,
                 details={"code": new.code, "replacement_id": row.id, "replaces": [o.code for o in olds],
                          "investment_yuan": str(row.investment_yuan), "funding_source": row.funding_source.value,
                          "efficiency_level": row.efficiency_level.value if row.efficiency_level else None,
                          "emission_standard": row.emission_standard, "new_energy": row.new_energy,
                          "replaced_on": row.replaced_on.isoformat()})
    change_status([o.id for o in olds], LifecycleStatus.RENEWED, user, source="replace",
                  reason=f"更新记录：由 {new.code} 替换")
    return row


def find_new_asset(user, ref: str) -> Asset:
    """Return the registered asset `ref` (code or id) as the new asset of a replacement, or refuse in Chinese."""
    new = find_asset(ref)
    if new is None or not may_edit(user, new):
        raise ValidationFailed("更新记录校验未通过", {"new_asset": [f"新设备：「{ref}」不存在或您无权修改"]})
    return new


@atomic
def record_replacement(user, values: dict) -> Replacement:
    """Link a registered new asset to the assets it replaces (one department), with its cost; commit."""
    row = add_replacement(user, find_new_asset(user, values["new_asset"]), values)
    db.session.commit()
    return row


@atomic
def register_replacement(user, asset_values: dict, values: dict) -> Replacement:
    """Register the new asset (history, audit) and its replacement record in one transaction; commit.

    `asset_values` is what parse_new_replacement returned (with `category`). Refusals of both are
    reported together, the asset's keyed `new_asset.<field>`; nothing is written on any of them.
    """
    category = asset_values["category"]
    if category.value not in editable_categories(user):
        audit.record_refusal("asset.create", object_type="asset", details={"category": category.value, "via": "replace"})
        raise PermissionDenied(f"您无权登记{category.label}")
    errors: dict[str, list[str]] = {}
    _olds, problems = _replaced_assets(user, values["replaces"], department_for_category(category), None)
    if problems:
        errors["replaces"] = ["被替换设备：" + "；".join(problems)]
    new = None
    try:
        new = build_asset(category, {k: v for k, v in asset_values.items() if k != "category"}, user)
    except ValidationFailed as exc:
        errors.update((k if k == "_schema" else NEW_ASSET + k, v) for k, v in exc.errors.items())
    if errors:
        raise ValidationFailed("更新记录校验未通过", errors)
    row = add_replacement(user, new, values)
    db.session.commit()
    return row


def section_for(asset: Asset) -> dict:
    """Return what the asset page's 处置与更新 section shows: its disposal and replacement records."""
    # Most assets have none of the three: one light statement finds which exist (asset_id, old_asset_id
    # and new_asset_id are each unique), and only those are loaded with their relationships.
    disposal_id, replaced_by_id, replacement_id = db.session.execute(sa.select(
        sa.select(Disposal.id).where(Disposal.asset_id == asset.id).scalar_subquery(),
        sa.select(ReplacementLink.replacement_id).where(ReplacementLink.old_asset_id == asset.id).scalar_subquery(),
        sa.select(Replacement.id).where(Replacement.new_asset_id == asset.id).scalar_subquery())).one()
    return {"disposal": db.session.get(Disposal, disposal_id) if disposal_id else None,
            "replaced_by": db.session.get(Replacement, replaced_by_id) if replaced_by_id else None,
            "replacement": db.session.get(Replacement, replacement_id) if replacement_id else None,
            "today": clock.today()}


def evidence_for(asset_id: int) -> dict:
    """Return the references a notice's completion cites for one asset: its disposal and its replacement."""
    d, r = disposal_of(asset_id), replacement_replacing(asset_id)
    disposal = None
    if d is not None:
        numbers = " ".join(n for n in (d.recycling_certificate_no, d.deregistration_no) if n)
        disposal = f"{d.way.label} {d.disposed_on.isoformat()} {d.receiver}" + (f" {numbers}" if numbers else "")
    return {"disposal": disposal, "replacement": r.new_asset.code if r is not None else None}

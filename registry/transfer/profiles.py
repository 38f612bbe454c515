"""Mapping profiles: a department's saved column/value mappings, kept, exported, replaced, renamed, retired.

A profile is the mapping JSON of `mapping.py` plus the header it was made for. Every write is
checked here (structure, category, department) and audited; nothing is hard-deleted.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from registry import clock
from registry.assets.fields import FieldError, parse_value
from registry.audit import services as audit
from registry.enums import Category
from registry.errors import NotFound, PermissionDenied
from registry.extensions import db
from registry.orgs.models import Department
from registry.transfer import mapping as mp
from registry.transfer.models import ImportProfile
from registry.transfer.upload import ImportRejected

NAME_MAX = 80
MAX_HEADER = 500  # columns a profile may describe
PORTABLE_KEYS = ("category", "header", "columns", "values", "set", "copy", "partial_dates", "keep_hidden")


def header_key(category: Category, titles: list[str]) -> str:
    """Return a stable fingerprint of a category and its header titles."""
    text = category.value + "\x1f" + "\x1f".join(mp.norm(t) for t in titles)
    return hashlib.sha256(text.encode()).hexdigest()[:64]


def check_profile_department(profile_mapping: dict, user) -> None:
    """Refuse a profile exported by another department."""
    dept = profile_mapping.get("department")
    mine = getattr(getattr(user, "department", None), "code", None)
    if user is not None and dept and mine and dept != mine:
        raise PermissionDenied(f"该映射方案属于其他部门（{dept}），不能用于本部门的导入")


def clean_name(name) -> str:
    """Return a profile name stripped, or raise ImportRejected naming what is wrong."""
    text = str(name or "").strip()
    if not text:
        raise ImportRejected("映射方案名称不能为空")
    if len(text) > NAME_MAX:
        raise ImportRejected(f"映射方案名称不能超过 {NAME_MAX} 个字符（现有 {len(text)} 个）")
    return text


def validate_profile(data) -> tuple[Category, list[str], list[str]]:
    """Check a profile's JSON without a file; return (category, header, problems in Chinese)."""
    if not isinstance(data, dict):
        raise ImportRejected("映射方案文件格式有误：应为 JSON 对象")
    try:
        category = Category(data.get("category"))
    except ValueError:
        raise ImportRejected(f"映射方案文件格式有误：category「{str(data.get('category'))[:40]}」不是设备类别") from None
    header = data.get("header")
    if not isinstance(header, list) or not header or len(header) > MAX_HEADER \
            or not all(isinstance(t, str) and t.strip() for t in header):
        raise ImportRejected(f"映射方案文件格式有误：header 应为 1 到 {MAX_HEADER} 个列名（文字）")
    problems: list[str] = []
    specs = mp.specs_by_name(category)
    targets = {name for name, _ in mp.target_choices(category)}
    for key in ("columns", "values", "set", "copy"):
        if not isinstance(data.get(key, {}), dict):
            problems.append(f"{key} 应为对象（键值对）")
    if problems:
        return category, header, problems
    titles = set(header)
    used: dict[str, str] = {}
    for title, target in data.get("columns", {}).items():
        if title not in titles:
            problems.append(f"columns 中的列「{str(title)[:40]}」不在 header 中")
        elif not isinstance(target, str) or target not in targets:
            problems.append(f"列「{title[:40]}」映射到未知字段「{str(target)[:40]}」")
        elif target not in (mp.EXTRA, mp.IGNORE):
            for t in (["floors", "stops"] if target == mp.FLOORS_STOPS else [target]):
                if t in used:
                    problems.append(f"列「{used[t][:40]}」和列「{title[:40]}」都映射到「{specs[t].label}」，一个字段只能对应一列")
                used[t] = title
    for name, chosen in data.get("values", {}).items():
        spec = specs.get(name)
        if spec is None or spec.kind != "enum":
            problems.append(f"values 中的「{str(name)[:40]}」不是{category.label}的选项字段")
            continue
        if not isinstance(chosen, dict):
            problems.append(f"values.{name} 应为对象（文件中的值 → 系统选项）")
            continue
        labels = set(spec.enum.labels())
        for raw, label in chosen.items():
            if label is not None and label not in labels:
                problems.append(f"「{spec.label}」的值「{str(raw)[:40]}」对应到「{str(label)[:40]}」，"
                                f"不是有效选项，可选：{'、'.join(spec.enum.labels())}")
    for name, value in data.get("set", {}).items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"set 中的「{str(name)[:40]}」不是{category.label}的字段")
        elif name in used:
            problems.append(f"「{spec.label}」已对应列「{used[name][:40]}」，不能再指定统一值")
        else:
            try:
                parse_value(spec, value)
            except FieldError as exc:
                problems.append(f"set 中「{spec.label}」的值：{exc.message}")
    for name, source in data.get("copy", {}).items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"copy 中的「{str(name)[:40]}」不是{category.label}的字段")
        elif source not in titles and source not in {t.rsplit(" / ", 1)[-1] for t in titles}:
            # A source is named by its full title or by its own label, as --copy and the page accept.
            problems.append(f"copy 中「{spec.label}」的来源列「{str(source)[:40]}」不在 header 中")
    if data.get("partial_dates", "first") not in mp.PARTIAL_DATE_POLICIES:
        problems.append("partial_dates 只能是 first、mid 或 refuse")
    if not isinstance(data.get("keep_hidden", False), bool):
        problems.append("keep_hidden 只能是 true 或 false")
    return category, header, problems


def _audit(action: str, profile: ImportProfile, user, **details) -> None:
    audit.record(f"import.profile.{action}", object_type="import_profile", object_id=profile.id, user=user,
                 details={"name": profile.name, "department_id": profile.department_id, **details})


def _live(department_id: int):
    return sa.select(ImportProfile).where(ImportProfile.department_id == department_id,
                                          ImportProfile.deleted_at.is_(None))


def _by_name(department_id: int, name: str) -> ImportProfile | None:
    return db.session.scalar(_live(department_id).where(ImportProfile.name == name))


def _new(department_id: int, name: str, user) -> ImportProfile:
    profile = ImportProfile(department_id=department_id, name=name, created_by_id=getattr(user, "id", None))
    db.session.add(profile)
    return profile


def save_profile(analysis, mapping: dict, name: str, user, department_id: int) -> ImportProfile:
    """Store `mapping` as the department's profile for this header (replacing one of the same name)."""
    name = clean_name(name)
    clean = {k: v for k, v in mapping.items() if k in PORTABLE_KEYS}
    clean["header"] = [c.title for c in analysis.table.columns]
    clean["category"] = analysis.category.value
    profile = _by_name(department_id, name)
    action = "replace" if profile is not None else "create"
    profile = profile or _new(department_id, name, user)
    profile.category, profile.header_key, profile.mapping = analysis.category, analysis.header_key, clean
    db.session.flush()
    _audit(action, profile, user, via="import")
    db.session.commit()
    return profile


def export_profile(profile: ImportProfile) -> dict:
    """Return a profile as portable JSON (with its name, department code and category)."""
    dept = db.session.get(Department, profile.department_id)
    body = {k: v for k, v in profile.mapping.items() if k in PORTABLE_KEYS}
    return {"name": profile.name, "department": dept.code if dept else None, **body,
            "category": profile.category.value}


def import_profile(data, department_code: str, user=None, *, replace_id: int | None = None) -> ImportProfile:
    """Store a profile read from JSON for `department_code` (validated; another department's is refused).

    With `replace_id` the JSON replaces that profile's mapping and keeps its name; otherwise a live
    profile of the same name is replaced, or a new one is made.
    """
    if isinstance(data, dict) and data.get("department") and data["department"] != department_code:
        raise PermissionDenied(f"该映射方案属于其他部门（{str(data['department'])[:20]}），不能导入到 {department_code}")
    dept = db.session.scalar(sa.select(Department).where(Department.code == department_code))
    if dept is None:
        raise ImportRejected(f"部门代码「{department_code}」不存在")
    category, header, problems = validate_profile(data)
    if category.value not in dept.category_values:
        raise PermissionDenied(f"{dept.name}不负责「{category.label}」，不能保存该类别的映射方案")
    if problems:
        raise ImportRejected("映射方案有误，未保存", problems)
    if replace_id is not None:
        profile = get_profile(replace_id, dept.id)
        if profile is None:
            raise NotFound("映射方案不存在或已删除")
        action = "replace"
    else:
        name = clean_name(data.get("name") or "导入方案")
        profile = _by_name(dept.id, name)
        action = "replace" if profile is not None else "create"
        profile = profile or _new(dept.id, name, user)
    profile.category, profile.header_key = category, header_key(category, header)
    profile.mapping = {k: v for k, v in data.items() if k in PORTABLE_KEYS}
    db.session.flush()
    _audit(action, profile, user, via="json")
    db.session.commit()
    return profile


def department_profiles(department_id: int | None) -> list[ImportProfile]:
    """Return a department's live profiles, newest first."""
    if department_id is None:
        return []
    return list(db.session.scalars(_live(department_id).order_by(ImportProfile.updated_at.desc(),
                                                                 ImportProfile.id.desc())))


def get_profile(profile_id: int, department_id: int | None) -> ImportProfile | None:
    """Return one of the department's live profiles, or None (another department's is never returned)."""
    profile = db.session.get(ImportProfile, profile_id)
    if profile is None or profile.department_id != department_id or profile.deleted_at is not None:
        return None
    return profile


def _own(profile_id: int, department_id: int | None) -> ImportProfile:
    profile = get_profile(profile_id, department_id)
    if profile is None:
        raise NotFound("映射方案不存在或已删除")
    return profile


def rename_profile(profile_id: int, department_id: int | None, name: str, user) -> ImportProfile:
    """Give one of the department's profiles a new name (unique among its live profiles)."""
    profile = _own(profile_id, department_id)
    name = clean_name(name)
    other = _by_name(profile.department_id, name)
    if other is not None and other.id != profile.id:
        raise ImportRejected(f"本部门已有名为「{name}」的映射方案")
    before = profile.name
    profile.name = name
    db.session.flush()
    _audit("rename", profile, user, before=before)
    db.session.commit()
    return profile


def delete_profile(profile_id: int, department_id: int | None, user) -> ImportProfile:
    """Retire a profile: it stops applying and leaves the list, but the row and its audit trail stay."""
    profile = _own(profile_id, department_id)
    original = profile.name
    profile.deleted_at = clock.now()
    # The name is freed for a new profile; the retired one keeps it with its id appended.
    profile.name = f"{original[:NAME_MAX - 16]}（已删除 #{profile.id}）"
    db.session.flush()
    _audit("delete", profile, user, original_name=original)
    db.session.commit()
    return profile

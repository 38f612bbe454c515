"""Owner and user units: find or create by name within a township."""
from __future__ import annotations

import sqlalchemy as sa

from registry.audit import services as audit
from registry.enums import UnitKind
from registry.errors import Conflict, ValidationFailed
from registry.extensions import db
from registry.orgs.models import Department, Unit
from registry.orgs.reference import TOWNSHIPS


def all_departments() -> list[Department]:
    """Return every department, in reference order."""
    return list(db.session.scalars(sa.select(Department).order_by(Department.id)))


def department_by_code(code: str) -> Department | None:
    """Return the department with this code, or None."""
    return db.session.scalar(sa.select(Department).where(Department.code == code))


def get_unit(unit_id: int) -> Unit | None:
    """Return one unit by id, or None."""
    return db.session.get(Unit, unit_id)


def check_township(township: str | None, field: str = "township") -> str:
    """Return `township` if it is one of Xinzheng's townships, else raise ValidationFailed."""
    if township not in TOWNSHIPS:
        raise ValidationFailed("乡镇/街道有误", {field: [f"乡镇/街道：「{township or ''}」不是新郑市下辖乡镇或街道"]})
    return township


def guess_kind(name: str) -> UnitKind:
    """Guess a unit's kind from its name (users only type the name)."""
    for words, kind in ((("小区", "家园", "花园"), UnitKind.COMMUNITY), (("学校", "中学", "小学", "幼儿园"), UnitKind.SCHOOL),
                        (("医院", "卫生"), UnitKind.HOSPITAL), (("街道办", "镇人民政府", "乡人民政府"), UnitKind.TOWNSHIP_OFFICE),
                        (("合作社",), UnitKind.COOPERATIVE), (("公司", "厂"), UnitKind.COMPANY),
                        (("局", "中心", "委员会"), UnitKind.GOVERNMENT)):
        if any(w in name for w in words):
            return kind
    return UnitKind.OTHER


def find_unit(name: str, township: str) -> Unit | None:
    """Return the unit named `name` in `township`, if registered."""
    return db.session.scalar(sa.select(Unit).where(Unit.name == name, Unit.township == township))


def find_or_create_unit(name: str, township: str, kind: UnitKind | None = None) -> tuple[Unit, bool]:
    """Return (unit, created): the unit `name` in `township`, added to the session if new (caller commits)."""
    name = name.strip()
    check_township(township)
    unit = find_unit(name, township)
    if unit is not None:
        return unit, False
    unit = Unit(name=name, township=township, kind=kind or guess_kind(name))
    db.session.add(unit)
    db.session.flush()
    return unit, True


def create_unit(name: str, township: str, kind: UnitKind | None = None, address: str = "", contact: str = "",
                phone: str = "") -> Unit:
    """Create a unit and commit; a duplicate name in the same township is a 409."""
    if not name or not name.strip():
        raise ValidationFailed("单位名称不能为空", {"name": ["单位名称：不能为空"]})
    check_township(township)
    if find_unit(name.strip(), township) is not None:
        raise Conflict(f"{township}已有名为「{name.strip()}」的单位")
    unit = Unit(name=name.strip(), township=township, kind=kind or guess_kind(name), address=address,
                contact=contact, phone=phone)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit.create", object_type="unit", object_id=unit.id,
                 details={"after": {"name": unit.name, "township": township, "kind": unit.kind.label}})
    db.session.commit()
    return unit


def search_units(text: str | None, township: str | None = None, after_id: int = 0, limit: int = 50) -> list[Unit]:
    """Return units whose name contains `text`, by id after `after_id` (keyset)."""
    query = sa.select(Unit).where(Unit.id > after_id)
    if text:
        query = query.where(Unit.name.contains(text, autoescape=True))
    if township:
        query = query.where(Unit.township == township)
    return list(db.session.scalars(query.order_by(Unit.id).limit(limit)))

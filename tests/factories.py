"""Factories that build realistic rows, so tests state only what matters to them."""
from __future__ import annotations

import itertools
from datetime import date

import sqlalchemy as sa

from registry.accounts.models import User
from registry.assets.models import DETAIL_MODELS, Asset
from registry.enums import (
    CarUseClass, Category, ConditionGrade, DeviceClass, ElevatorType, FarmMachineType, MachineType,
    PipeFacilityType, PipeNetwork, Role, UnitKind,
)
from registry.extensions import db
from registry.orgs.models import Department, Unit
from registry.orgs.reference import department_for_category

TEST_PASSWORD = "Test-Passw0rd!"
_seq = itertools.count(1)
_HASH = None

DEFAULT_DETAILS = {
    Category.ELEVATOR: lambda n: {"elevator_type": ElevatorType.TRACTION, "registration_code": f"31104100{n:012d}"},
    Category.CONSTRUCTION_MACHINE: lambda n: {"machine_type": MachineType.EXCAVATOR},
    Category.PIPE: lambda n: {"facility_type": PipeFacilityType.PIPE, "network": PipeNetwork.WATER},
    Category.OFFICIAL_CAR: lambda n: {"plate_number": f"豫A{n:05d}", "use_class": CarUseClass.GENERAL},
    Category.FARM_MACHINE: lambda n: {"machine_type": FarmMachineType.TRACTOR_MEDIUM},
    Category.MEDICAL_DEVICE: lambda n: {"device_class": DeviceClass.CLASS_II},
}


def make_user(role: str = "maintainer", department: str | None = "zjj", username: str | None = None,
              must_change_password: bool = False) -> User:
    """Create and commit a user whose password is TEST_PASSWORD."""
    global _HASH
    if _HASH is None:
        # Cheap Argon2 parameters, encoded in the hash, keep each test login fast; the app's own
        # hashes (create-user, password change) use the library defaults.
        from argon2 import PasswordHasher
        _HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(TEST_PASSWORD)
    n = next(_seq)
    dept = db.session.scalar(sa.select(Department).where(Department.code == department)) if department else None
    user = User(username=username or f"{role}{n}", display_name=f"测试{Role(role).label}{n}", role=Role(role),
                department=dept, password_hash=_HASH, must_change_password=must_change_password)
    db.session.add(user)
    db.session.commit()
    return user


def make_cheap_hash(password: str) -> str:
    """Return an Argon2 hash with the cheap test parameters (for stand-ins such as the dummy login hash)."""
    from argon2 import PasswordHasher
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)


def make_unit(name: str | None = None, township: str = "新建路街道", kind: UnitKind = UnitKind.COMPANY) -> Unit:
    """Create and commit an owner/user unit."""
    unit = Unit(name=name or f"测试单位{next(_seq)}", kind=kind, township=township)
    db.session.add(unit)
    db.session.commit()
    return unit


def make_asset(category: Category = Category.CONSTRUCTION_MACHINE, *, detail: dict | None = None,
               owner: Unit | None = None, department: Department | None = None, **fields) -> Asset:
    """Create and commit an asset with its category detail; `fields` override asset columns."""
    n = next(_seq)
    owner = owner or make_unit()
    values = dict(code=f"T-{category.value[:3].upper()}-{n:06d}", category=category, name=f"{category.label}{n}",
                  owner_unit=owner, user_unit=owner, township=owner.township,
                  department=department or department_for_category(category),
                  commissioned_on=date(2015, 6, 1), condition_grade=ConditionGrade.FAIR)
    values.update(fields)
    asset = Asset(**values)
    detail_values = DEFAULT_DETAILS[category](n)
    detail_values.update(detail or {})
    setattr(asset, category.value, DETAIL_MODELS[category](**detail_values))
    db.session.add(asset)
    db.session.commit()
    return asset

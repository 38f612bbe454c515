"""Hypothesis strategies for random inventories that stress the rules' edges (Feb 29, anniversaries, NULLs)."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import strategies as st

from registry import clock
from registry.assets.models import DETAIL_MODELS, Asset
from registry.enums import Category, ConditionGrade, LifecycleStatus
from registry.rules.dates import add_months

TODAY = clock.today()
LEAPS = [y for y in range(1976, TODAY.year + 1) if y % 4 == 0 and (y % 100 or y % 400 == 0)]
_serial = itertools.count(1)

NUMBER_CHOICES = {
    "rated_moment_knm": [Decimal("400"), Decimal("629.9"), Decimal("630"), Decimal("1249.9"), Decimal("1250"),
                         Decimal("1600")],
    "odometer_km": [100_000, 499_999, 500_000, 599_999, 600_000, 700_000],
    "faults_last_12m": [0, 5, 6, 7, 20],
    "specified_service_life_years": [1, 5, 8, 10, 12],
    "floors": [6, 18], "stops": [6, 18], "diameter_mm": [100, 300],
    "rated_power_kw": [Decimal("20.5"), Decimal("80")], "length_m": [Decimal("120.5")],
    "rated_load_kg": [630, 1000], "rated_speed_ms": [Decimal("1.75")],
}
SKIP = {"asset_id", "registration_code", "plate_number", "filing_number", "registration_cert_no",
        "residential_community", "start_latitude", "start_longitude", "end_latitude", "end_longitude",
        "last_inspection_on", "next_inspection_on", "maintenance_company", "maintenance_phone", "factory_serial_no",
        "license_vehicle_type"}


def start_dates(as_of: date):
    """Dates that hit the counting edges for as_of: exact anniversaries ±1 day, Feb 29, random, NULL."""
    def around(years_and_delta):
        years, delta = years_and_delta
        return add_months(as_of, -12 * years) + timedelta(days=delta)
    return st.one_of(
        st.none(),
        st.tuples(st.sampled_from([5, 8, 10, 12, 15, 20, 30, 50]), st.integers(-1, 1)).map(around),
        st.sampled_from(LEAPS).map(lambda y: date(y, 2, 29)),
        st.sampled_from(LEAPS).map(lambda y: date(y, 2, 28)),
        st.dates(date(1970, 1, 1), TODAY),
    ).map(lambda d: d if d is None or d <= TODAY else None)


@st.composite
def asset_rows(draw, as_of: date):
    """One asset's column values and its detail values (not yet saved)."""
    category = draw(st.sampled_from(list(Category)))
    dates = {name: draw(start_dates(as_of)) for name in ("commissioned_on", "manufactured_on", "registered_on")}
    present = [d for d in dates.values() if d is not None]
    if dates["manufactured_on"] is not None and present:
        dates["manufactured_on"] = min(present)  # the check constraint: made before used/registered
    fields = dict(dates, category=category,
                  design_life_years=draw(st.one_of(st.none(), st.sampled_from([1, 8, 10, 15, 20, 30]))),
                  condition_grade=draw(st.one_of(st.none(), st.sampled_from(list(ConditionGrade)))),
                  status=draw(st.sampled_from([LifecycleStatus.IN_USE] * 4 + [LifecycleStatus.IDLE,
                                               LifecycleStatus.SCRAPPED, LifecycleStatus.RENEWED])))
    detail = {}
    for column in DETAIL_MODELS[category].__table__.columns:
        if column.name in SKIP:
            continue
        enum = getattr(column.type, "enum_class", None)
        if enum is not None:
            choices = list(enum)
        elif isinstance(column.type, sa.Boolean):
            choices = [True, False]
        else:
            choices = NUMBER_CHOICES.get(column.name, [1])
        if column.nullable:
            choices = choices + [None]
        detail[column.name] = draw(st.sampled_from(choices))
    return fields, detail


def inventories(as_of: date, max_size: int = 8):
    """A small random inventory for `as_of`."""
    return st.lists(asset_rows(as_of), min_size=1, max_size=max_size)


def save_inventory(rows, unit, departments) -> list[int]:
    """Insert the generated assets (ORM, committed) and return their ids."""
    from registry.extensions import db
    ids = []
    for fields, detail in rows:
        n = next(_serial)
        category = fields["category"]
        extra = {"registration_code": f"3110{n:012d}"} if category is Category.ELEVATOR else {}
        if category is Category.OFFICIAL_CAR:
            extra = {"plate_number": f"豫P{n:06d}"}
        asset = Asset(code=f"H-{n:07d}", name=f"随机{n}", owner_unit=unit, township=unit.township,
                      department=departments[category], **fields)
        setattr(asset, category.value, DETAIL_MODELS[category](**detail, **extra))
        db.session.add(asset)
        db.session.flush()
        ids.append(asset.id)
    db.session.commit()
    return ids


def clear_inventory() -> None:
    """Delete generated findings, evaluations and assets (tests only)."""
    from registry.extensions import db
    from registry.rules.models import Evaluation, Finding
    db.session.execute(sa.delete(Finding))
    db.session.execute(sa.delete(Evaluation))
    for model in DETAIL_MODELS.values():
        db.session.execute(sa.delete(model))
    db.session.execute(sa.delete(Asset))
    db.session.commit()

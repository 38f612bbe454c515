"""A small world of disposal and replacement records with 2023 baselines, for the outcome tests."""
from __future__ import annotations

from datetime import date

from registry.disposals import baselines, services
from registry.disposals.models import Baseline
from registry.enums import Category
from registry.planning.reference import ensure_planning_reference
from tests.factories import make_asset, make_user


def _dispose(user, asset, day: str, way: str = "报废拆解", **kw):
    raw = {"way": way, "disposed_on": day, "receiver": "河南某报废机动车回收拆解有限公司", **kw}
    return services.record_disposal(asset.id, user, services.parse_disposal(raw))


def _replace(user, new, old, day: str, amount: str, new_energy: bool):
    return services.record_replacement(user, services.parse_replacement(
        {"new_asset": new.code, "replaces": [old.code], "replaced_on": day, "investment_yuan": amount,
         "funding_source": "地方财政", "new_energy": "是" if new_energy else "否"}))


def enter_baseline(user, measure: str, department: str, sector: str, value) -> Baseline:
    """Enter one 2023 baseline through the service."""
    return baselines.create_baseline(baselines.parse_baseline(
        {"measure": measure, "department": department, "sector": sector, "year": 2023, "value": value}), user)


def build_world(app, files_dir) -> dict:
    """Disposals and replacements of 2025–2026 for 机关事务中心 cars and one 住建局 machine, with baselines.

    Investment: cars 200,000 (2025) and 150,000.50 (2026) against 250,000; the machine 800,000 (2025)
    against 600,000. Recycled scrapped cars: one in 2025, one in 2026 (a third car was sold) against 1.
    """
    app.config["DISPOSAL_FILES_DIR"] = str(files_dir)
    ensure_planning_reference()
    cars, zjj = make_user("maintainer", "jgsw"), make_user("maintainer", "zjj")
    tf = make_user("taskforce", None)
    old = [make_asset(Category.OFFICIAL_CAR, commissioned_on=date(2012, 3, 1)) for _ in range(3)]
    new = [make_asset(Category.OFFICIAL_CAR, commissioned_on=date(2025, 1, 5)) for _ in range(2)]
    _dispose(cars, old[0], "2025-04-01", recycling_certificate_no="HS-1", deregistration_no="ZX-1")
    _dispose(cars, old[1], "2026-02-01", recycling_certificate_no="HS-2", deregistration_no="ZX-2")
    _dispose(cars, old[2], "2025-06-01", way="转让")  # sold on: not a recycled scrapped car
    _replace(cars, new[0], old[0], "2025-04-10", "200000", True)
    _replace(cars, new[1], old[1], "2026-02-10", "150000.50", False)
    machine, machine_new = make_asset(Category.CONSTRUCTION_MACHINE), make_asset(Category.CONSTRUCTION_MACHINE)
    _dispose(zjj, machine, "2025-05-01", way="转让")
    _replace(zjj, machine_new, machine, "2025-05-20", "800000", False)
    ids = [enter_baseline(tf, "investment", "jgsw", "official_car", "250000").id,
           enter_baseline(tf, "investment", "zjj", "construction_machine", "600,000").id,
           enter_baseline(tf, "scrapped_cars", "jgsw", "", "1").id]
    return {"tf": tf, "cars": cars, "zjj": zjj, "baselines": ids}

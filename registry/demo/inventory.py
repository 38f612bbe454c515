"""A deterministic, realistic demo inventory of Xinzheng, built with bulk inserts."""
from __future__ import annotations

import contextlib
import functools
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable, Iterator

import sqlalchemy as sa

from registry import clock
from registry.assets import search
from registry.assets.codes import SEQUENCE_DIGITS, code_for
from registry.assets.models import DETAIL_MODELS, Asset
from registry.bulk import LARGE_LOAD_CACHE_SIZE, bulk_insert, foreign_keys_checked_after, sqlite_pragmas
from registry.db_types import utcnow
from registry.disposals.models import Baseline, Disposal, Replacement, ReplacementLink
from registry.disposals.queries import investment_by_year, recycled_cars_by_year
from registry.enums import (
    AssessmentConclusion,
    BaselineMeasure,
    CarUseClass,
    Category,
    ConditionGrade,
    ConfigurationLevel,
    DeviceClass,
    DisposalWay,
    EfficiencyLevel,
    ElevatorType,
    EmissionStandard,
    EnergyType,
    FarmMachineType,
    FundingSource,
    HazardAssessment,
    HoistType,
    LifecycleStatus,
    MachineType,
    NonRoadEmissionStage,
    PipeFacilityType,
    PipeMaterial,
    PipeNetwork,
    UnitKind,
    VehicleType,
    WearGrade,
)
from registry.extensions import db
from registry.orgs.models import DepartmentCategory, Unit
from registry.orgs.reference import TOWNSHIPS, ensure_reference_data

# Ages are laid out relative to a fixed day, so the same --count always builds the same rows.
ANCHOR = date(2026, 6, 30)
SEED = 20240716  # the plan's issue date
CHUNK = 20_000
BULK_INDEX_THRESHOLD = 50_000
# Above this many assets the demo builds this many rows in Python and copies them in SQL up to the count
# (new ids and codes, dates moved back up to two months): drawing each row costs ~70 µs, 70 s at 1M.
GROWTH_BASE = 50_000

CATEGORY_SHARE = (
    (Category.ELEVATOR, 0.25), (Category.CONSTRUCTION_MACHINE, 0.15), (Category.PIPE, 0.25),
    (Category.OFFICIAL_CAR, 0.08), (Category.FARM_MACHINE, 0.17), (Category.MEDICAL_DEVICE, 0.10),
)
GRADE_WEIGHTS = (0.22, 0.30, 0.26, 0.15, 0.07)
STREETS = ("人民路", "轩辕路", "金城路", "文化路", "新华路", "中华北路", "郑韩路", "始祖路", "黄水路", "龙湖大道")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Cars registered in the last ~16 years: 国三 onwards (国一/国二 left the roads before 2008).
CAR_STANDARDS = (EmissionStandard.GUO3, EmissionStandard.GUO4, EmissionStandard.GUO5, EmissionStandard.GUO6A,
                 EmissionStandard.GUO6B)
MAINTAINERS = ("郑州奥的斯电梯维保有限公司", "河南三菱电梯服务有限公司", "新郑市恒安电梯工程有限公司",
               "郑州通力电梯服务有限公司", "河南迅达电梯维修有限公司")
LICENSE_TYPES = {"sedan": "小型轿车", "suv": "小型越野客车", "mpv": "小型普通客车", "minibus": "小型普通客车",
                 "medium_bus": "中型普通客车", "pickup": "轻型多用途货车", "special": "专项作业车"}


@functools.cache
def _members(enum_cls) -> list:
    """Return an enum's members as a cached list (the generator asks millions of times)."""
    return list(enum_cls)


class DemoAlreadySeeded(Exception):
    """The database already holds assets; the demo is only built on an empty inventory."""


def _years_ago(rng: random.Random, low: float, high: float) -> date:
    return ANCHOR - timedelta(days=int(rng.uniform(low, high) * 365.25))


def _age(rng: random.Random, threshold: float, spread: float = 4.0) -> date:
    """Return a start date; a quarter cluster within a month of `threshold` years (near misses)."""
    if rng.random() < 0.25:
        return _years_ago(rng, threshold - 0.08, threshold + 0.08)
    return _years_ago(rng, max(0.3, threshold - spread * 2), threshold + spread)


def _flag(rng: random.Random, p_true: float, p_missing: float = 0.03) -> bool | None:
    r = rng.random()
    if r < p_missing:
        return None
    return r < p_missing + p_true


def _grade(rng: random.Random) -> ConditionGrade:
    return rng.choices(_members(ConditionGrade), GRADE_WEIGHTS)[0]


def _units(rng: random.Random, count: int) -> list[dict]:
    kinds = (
        (UnitKind.COMMUNITY, "{}{}小区", ("锦绣", "龙湖", "轩辕", "金城", "阳光", "世纪", "华南城", "书香", "裕华", "康桥")),
        (UnitKind.COMPANY, "新郑市{}{}建筑工程有限公司", ("鼎盛", "中原", "宏达", "恒通", "豫兴", "建安", "瑞丰", "华业")),
        (UnitKind.SCHOOL, "新郑市{}{}学校", ("实验", "第一", "第二", "第三", "龙湖", "外国语", "双语")),
        (UnitKind.HOSPITAL, "新郑市{}{}医院", ("人民", "中医", "妇幼", "第二人民", "社区卫生服务中心", "骨科")),
        (UnitKind.COOPERATIVE, "新郑市{}{}农机专业合作社", ("丰收", "惠农", "金穗", "绿野", "兴农", "沃土")),
        (UnitKind.GOVERNMENT, "新郑市{}{}", ("机关", "公安", "交通", "城管", "水利", "生态环境")),
        (UnitKind.COMPANY, "新郑{}{}水务燃气有限公司", ("华润", "中裕", "豫港", "新奥")),
    )
    rows, seen = [], set()
    i = 0
    while len(rows) < count:
        kind, pattern, words = kinds[i % len(kinds)]
        township = TOWNSHIPS[rng.randrange(len(TOWNSHIPS))]
        name = pattern.format(rng.choice(words), "" if i < 60 else f"{i // 7}号" if kind is UnitKind.COMMUNITY
                              else f"（{i}）")
        i += 1
        if (name, township) in seen:
            continue
        seen.add((name, township))
        rows.append({"name": name, "kind": kind, "township": township,
                     "address": f"{township}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
                     "contact": rng.choice(SURNAMES) + rng.choice(("先生", "女士", "工")),
                     "phone": f"0371-6{rng.randint(2000000, 2999999)}"})
    return rows


def _elevator(rng, asset_id, base):
    etype = rng.choices(_members(ElevatorType), (0.82, 0.03, 0.12, 0.03))[0]
    base["commissioned_on"] = _age(rng, rng.choice((15, 20)), 6)
    base["name"] = {"escalator": "自动扶梯", "moving_walk": "自动人行道"}.get(etype.value, "乘客电梯")
    base["brand_model"] = rng.choice(("奥的斯 GeN2", "三菱 LEHY-III", "日立 MCA", "通力 3000S", "迅达 3300", "西子 XO-STAR"))
    base["design_life_years"] = rng.choice((15, 20, 25))
    floors = rng.randint(6, 33)
    return {"asset_id": asset_id, "registration_code": f"3110410{asset_id:013d}", "elevator_type": etype,
            "floors": floors, "stops": floors, "residential_community": None,
            "faults_last_12m": None if rng.random() < 0.03 else int(rng.expovariate(1 / 3)),
            "configuration_level": rng.choices(_members(ConfigurationLevel), (0.3, 0.5, 0.2))[0],
            "last_inspection_on": ANCHOR - timedelta(days=rng.randint(10, 400)),
            "assessment_conclusion": rng.choices(_members(AssessmentConclusion), (0.6, 0.25, 0.1, 0.05))[0]}


def _machine(rng, base, mtype, ages: tuple, commission_days: tuple, brands: tuple) -> None:
    """Fill a machine's dates, name, brand and design life (the draws in a fixed order: the demo is reproducible)."""
    base["manufactured_on"] = _age(rng, rng.choice(ages), 5)
    base["commissioned_on"] = min(base["manufactured_on"] + timedelta(days=rng.randint(*commission_days)), ANCHOR)
    base["name"] = mtype.label
    base["brand_model"] = rng.choice(brands)
    base["design_life_years"] = rng.choice((10, 12, 15))


def _construction_machine(rng, asset_id, base):
    mtype = rng.choices(_members(MachineType), (0.3, 0.2, 0.15, 0.1, 0.05, 0.08, 0.05, 0.04, 0.03))[0]
    _machine(rng, base, mtype, (5, 8, 10, 15, 20), (10, 120),
             ("中联 TC6013", "徐工 XGT7020", "三一 SY215C", "柳工 CLG856", "山推 SD16"))
    moment = hoist = None
    if mtype is MachineType.TOWER_CRANE:
        moment = rng.choice((400, 630, 800, 1250, 1600))
    if mtype is MachineType.CONSTRUCTION_HOIST:
        hoist = rng.choice(_members(HoistType))
    return {"asset_id": asset_id, "machine_type": mtype, "rated_moment_knm": moment, "hoist_type": hoist,
            "filing_number": f"豫AJ-{asset_id:07d}", "emission_stage": rng.choice(_members(NonRoadEmissionStage)),
            "wear_grade": rng.choices(_members(WearGrade), (0.6, 0.3, 0.1))[0],
            "safety_hazard": _flag(rng, 0.08), "no_repair_value": _flag(rng, 0.05),
            "main_part_damaged": _flag(rng, 0.05)}


def _pipe(rng, asset_id, base):
    ftype = rng.choices(_members(PipeFacilityType), (0.85, 0.1, 0.05))[0]
    network = rng.choice(_members(PipeNetwork))
    base["design_life_years"] = rng.choice((20, 30, 50)) if ftype is PipeFacilityType.PIPE else rng.choice((15, 20))
    base["commissioned_on"] = _age(rng, base["design_life_years"], 8)
    material = rng.choices(_members(PipeMaterial), (0.06, 0.25, 0.2, 0.25, 0.08, 0.03, 0.02, 0.06, 0.03, 0.02))[0]
    base["name"] = f"{network.label}{ftype.label}" if ftype is not PipeFacilityType.PIPE else f"{network.label}管道"
    lat, lon = float(base["latitude"] or 34.39), float(base["longitude"] or 113.74)
    return {"asset_id": asset_id, "facility_type": ftype, "network": network,
            "material": material if ftype is PipeFacilityType.PIPE else None,
            "has_lining": _flag(rng, 0.5), "diameter_mm": rng.choice((100, 150, 200, 300, 400, 600)),
            "length_m": round(rng.uniform(50, 2000), 1), "meets_standards": _flag(rng, 0.9),
            "hazard_assessment": rng.choices(_members(HazardAssessment), (0.75, 0.18, 0.07))[0],
            "built_over": _flag(rng, 0.03), "affects_water_quality": _flag(rng, 0.05) if
            ftype is PipeFacilityType.SECONDARY_WATER else None,
            "banned_type": _flag(rng, 0.03) if ftype is PipeFacilityType.SECONDARY_WATER else None,
            "start_latitude": round(lat, 6), "start_longitude": round(lon, 6),
            "end_latitude": round(lat + rng.uniform(-0.01, 0.01), 6),
            "end_longitude": round(lon + rng.uniform(-0.01, 0.01), 6)}


def _official_car(rng, asset_id, base):
    base["registered_on"] = _age(rng, 8, 4)
    base["manufactured_on"] = base["registered_on"] - timedelta(days=rng.randint(20, 200))
    base["commissioned_on"] = base["registered_on"]
    base["design_life_years"] = 15
    energy = rng.choices(_members(EnergyType), (0.7, 0.18, 0.08, 0.03, 0.01))[0]
    base["name"] = rng.choice(("公务轿车", "执法执勤车", "业务用车"))
    base["brand_model"] = rng.choice(("大众帕萨特", "丰田凯美瑞", "比亚迪汉", "别克GL8", "红旗H5", "长安CS75"))
    plate = "豫A" + ("D" if energy in (EnergyType.BEV, EnergyType.PHEV) else "") \
        + PLATE_LETTERS[(asset_id // 10000) % 24] + f"{asset_id % 10000:04d}" + f"{(asset_id // 240000) or ''}"
    return {"asset_id": asset_id, "plate_number": plate, "use_class": rng.choices(_members(CarUseClass), (0.5, 0.35, 0.15))[0],
            "vehicle_type": rng.choice(_members(VehicleType)), "energy_type": energy,
            "odometer_km": int(rng.uniform(5_000, 420_000)),
            "emission_standard": EmissionStandard.NONE if energy is EnergyType.BEV else rng.choice(CAR_STANDARDS)}


def _farm_machine(rng, asset_id, base):
    mtype = rng.choices(_members(FarmMachineType), (0.15, 0.2, 0.2, 0.08, 0.15, 0.07, 0.07, 0.05, 0.03))[0]
    _machine(rng, base, mtype, (10, 12, 15), (5, 90),
             ("东方红 LX1004", "雷沃 M1104", "约翰迪尔 5E", "久保田 PRO988", "沃得 4LZ-6"))
    power = {"tractor_large": (75, 150), "tractor_medium": (25, 75), "tractor_small": (8, 25)}.get(mtype.value, (20, 120))
    return {"asset_id": asset_id, "machine_type": mtype, "rated_power_kw": round(rng.uniform(*power), 1),
            "plate_number": f"豫01-{asset_id % 100000:05d}" if mtype.value.startswith("tractor") else None,
            "high_energy_use": _flag(rng, 0.15), "heavy_pollution": _flag(rng, 0.12),
            "large_operating_loss": _flag(rng, 0.1)}


def _medical_device(rng, asset_id, base):
    name, large = rng.choice((("CT 扫描仪", True), ("磁共振成像系统", True), ("数字 X 射线摄影系统", True),
                              ("彩色多普勒超声诊断仪", False), ("呼吸机", False), ("心电监护仪", False),
                              ("全自动生化分析仪", False), ("血液透析机", False)))
    base["commissioned_on"] = _age(rng, 8, 5)
    base["manufactured_on"] = base["commissioned_on"] - timedelta(days=rng.randint(30, 300))
    base["name"] = name
    base["brand_model"] = rng.choice(("联影 uCT 760", "迈瑞 Resona 7", "东软 NeuViz", "GE Revolution", "西门子 Somatom"))
    life = rng.choice((8, 10, 12))
    base["design_life_years"] = life
    return {"asset_id": asset_id, "registration_cert_no": f"国械注准2016{asset_id % 10_000_000:07d}",
            "device_class": DeviceClass.CLASS_III if large else rng.choice(_members(DeviceClass)),
            "is_large_equipment": large, "specified_service_life_years": life,
            "function_complete": _flag(rng, 0.92), "performance_backward": _flag(rng, 0.12)}


def _elevator_ledger(xr, asset_id, base, detail):
    moving = detail["elevator_type"] in (ElevatorType.ESCALATOR, ElevatorType.MOVING_WALK)
    detail["rated_load_kg"] = None if moving else xr.choice((630, 800, 1000, 1050, 1350, 1600))
    detail["rated_speed_ms"] = 0.5 if moving else xr.choice((1.0, 1.5, 1.75, 2.0, 2.5))
    detail["maintenance_company"] = xr.choice(MAINTAINERS)
    detail["maintenance_phone"] = f"0371-6{xr.randint(2000000, 2999999)}"
    # Yearly inspection: some next dates have already passed (an overdue inspection).
    detail["next_inspection_on"] = detail["last_inspection_on"] + timedelta(days=365)
    r = xr.random()
    detail["serves_housing"] = False if moving else (None if r < 0.03 else r < 0.93)


def _construction_ledger(xr, asset_id, base, detail):
    detail["factory_serial_no"] = f"{xr.choice(('ZL', 'XG', 'SY', 'LG', 'ST'))}{asset_id:08d}"


def _car_ledger(xr, asset_id, base, detail):
    detail["license_vehicle_type"] = LICENSE_TYPES[detail["vehicle_type"].value]


def _farm_ledger(xr, asset_id, base, detail):
    year = base["manufactured_on"].year
    detail["factory_serial_no"] = f"{xr.choice(('DF', 'LW', 'JD', 'KB', 'WD'))}{year}{asset_id:07d}"
    # The non-road stage in force when the machine was made (国一 2007, 国二 2009, 国三 2016, 国四 2022-12).
    stages = _members(NonRoadEmissionStage)
    detail["emission_stage"] = stages[0 if year < 2008 else 1 if year < 2010 else 2 if year < 2016
                                      else 3 if year < 2023 else 4]
    detail["purchase_subsidy"] = _flag(xr, 0.6)


# The ledger fields come from a second random stream, so the rows the first one made stay the same.
LEDGER_BUILDERS: dict[Category, Callable] = {
    Category.ELEVATOR: _elevator_ledger, Category.CONSTRUCTION_MACHINE: _construction_ledger,
    Category.OFFICIAL_CAR: _car_ledger, Category.FARM_MACHINE: _farm_ledger,
}


DETAIL_BUILDERS: dict[Category, Callable] = {
    Category.ELEVATOR: _elevator, Category.CONSTRUCTION_MACHINE: _construction_machine, Category.PIPE: _pipe,
    Category.OFFICIAL_CAR: _official_car, Category.FARM_MACHINE: _farm_machine, Category.MEDICAL_DEVICE: _medical_device,
}


def _category_sequence(count: int, rng: random.Random) -> Iterator[Category]:
    cats = [c for c, _ in CATEGORY_SHARE]
    weights = [w for _, w in CATEGORY_SHARE]
    # Every category appears at least once even for a tiny --count.
    for i in range(count):
        yield cats[i] if i < len(cats) else rng.choices(cats, weights)[0]


def build_rows(count: int, unit_ids_by_kind: dict, departments: dict, start_id: int = 1) -> Iterator[tuple]:
    """Yield (category, asset_row, detail_row) for `count` deterministic assets."""
    rng = random.Random(SEED)
    xr = random.Random(SEED + 2)
    seq = {c: 0 for c in Category}
    for offset, category in enumerate(_category_sequence(count, rng)):
        asset_id = start_id + offset
        seq[category] += 1
        owner_kinds = {
            Category.ELEVATOR: UnitKind.COMMUNITY, Category.CONSTRUCTION_MACHINE: UnitKind.COMPANY,
            Category.PIPE: UnitKind.COMPANY, Category.OFFICIAL_CAR: UnitKind.GOVERNMENT,
            Category.FARM_MACHINE: UnitKind.COOPERATIVE, Category.MEDICAL_DEVICE: UnitKind.HOSPITAL,
        }
        owners = unit_ids_by_kind[owner_kinds[category]]
        owner_id, owner_township = owners[rng.randrange(len(owners))]
        grade = _grade(rng)
        base = {
            "id": asset_id, "code": code_for(category, seq[category]), "category": category,
            "brand_model": None, "owner_unit_id": owner_id, "user_unit_id": owner_id,
            "department_id": departments[category], "township": owner_township,
            "address": f"{owner_township}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            "latitude": round(34.39 + rng.uniform(-0.12, 0.12), 6),
            "longitude": round(113.74 + rng.uniform(-0.15, 0.15), 6),
            "manufactured_on": None, "commissioned_on": None, "registered_on": None, "design_life_years": None,
            "condition_grade": grade, "condition_assessed_on": ANCHOR - timedelta(days=rng.randint(0, 500)),
            "status": rng.choices((LifecycleStatus.IN_USE, LifecycleStatus.IDLE), (0.95, 0.05))[0],
            "notes": None, "version": 1,
        }
        detail = DETAIL_BUILDERS[category](rng, asset_id, base)
        if category in LEDGER_BUILDERS:
            LEDGER_BUILDERS[category](xr, asset_id, base, detail)
        if rng.random() < 0.01:  # a few records lack the date the rules count from
            base["commissioned_on"] = None
            base["registered_on"] = None
        if rng.random() < 0.02:
            base["condition_grade"] = None
            base["condition_assessed_on"] = None
        if base["manufactured_on"] and base["commissioned_on"] and base["manufactured_on"] > base["commissioned_on"]:
            base["manufactured_on"] = base["commissioned_on"]
        yield category, base, detail


def seed_demo(count: int = 5000, progress: Callable[[int], None] | None = None) -> dict:
    """Build the demo inventory on an empty database; return counts per category."""
    if db.session.scalar(sa.select(Asset.id).limit(1)) is not None:
        raise DemoAlreadySeeded("数据库中已有设备数据，演示数据只在空库上生成")
    ensure_reference_data()
    departments = {row.category: row.department_id for row in db.session.execute(
        sa.select(DepartmentCategory.category, DepartmentCategory.department_id))}
    start_id = (db.session.scalar(sa.select(sa.func.max(Asset.id))) or 0) + 1
    first_unit_id = (db.session.scalar(sa.select(sa.func.max(Unit.id))) or 0) + 1
    drawn_per_category = {c: 0 for c in Category}
    asset_cols = [c.name for c in Asset.__table__.columns if c.name not in ("created_at", "updated_at",
                                                                            "deleted_at", "deletion_reason", "extra")]
    detail_cols = {c: [col.name for col in DETAIL_MODELS[c].__table__.columns] for c in Category}
    now = utcnow()
    # Maintaining secondary indexes row by row dominates a large load; rebuild them once at the end
    # (inside the same transaction, so a failed seed leaves the schema as it was).
    deferred_indexes = list(Asset.__table__.indexes) if count >= BULK_INDEX_THRESHOLD else []
    large = bool(deferred_indexes)

    def when_large(manager):
        return manager if large else contextlib.nullcontext()
    by_date = [ix for ix in deferred_indexes if ix.name == "ix_assets_category_commissioned_id"]
    conn = db.session.connection()
    for index in deferred_indexes:
        index.drop(conn)
    assets: list[tuple] = []
    details: dict[Category, list[tuple]] = {c: [] for c in Category}
    done = 0

    def flush():
        nonlocal done
        if assets:
            bulk_insert(Asset.__table__, asset_cols + ["created_at", "updated_at"], assets)
            for cat, rows in details.items():
                if rows:
                    bulk_insert(DETAIL_MODELS[cat].__table__, detail_cols[cat], rows)
                    rows.clear()
            done += len(assets)
            assets.clear()
            if progress:
                progress(done)

    drawn = min(count, GROWTH_BASE)
    loaded = [Asset.__table__] + [m.__table__ for m in DETAIL_MODELS.values()]
    # The keyword indexes and PostgreSQL's foreign-key checks too: once at the end, not row by row.
    with when_large(search.index_deferred(conn, start_id, first_unit_id)), \
            when_large(foreign_keys_checked_after(conn, loaded)):
        # The unique-code index still grows row by row; a bigger page cache keeps it off the disk.
        with when_large(sqlite_pragmas(conn, cache_size=LARGE_LOAD_CACHE_SIZE)):
            rng = random.Random(SEED + 1)
            unit_rows = _units(rng, max(70, min(count // 8, 40_000)))
            unit_cols = ["name", "kind", "township", "address", "contact", "phone"]
            bulk_insert(Unit.__table__, unit_cols, [tuple(r[c] for c in unit_cols) for r in unit_rows])
            unit_ids_by_kind: dict = {}
            for uid, kind, township in db.session.execute(
                    sa.select(Unit.id, Unit.kind, Unit.township).order_by(Unit.id)):
                unit_ids_by_kind.setdefault(kind, []).append((uid, township))
            for category, base, detail in build_rows(drawn, unit_ids_by_kind, departments, start_id):
                assets.append(tuple(base[c] for c in asset_cols) + (now, now))
                details[category].append(tuple(detail.get(c) for c in detail_cols[category]))
                drawn_per_category[category] += 1
                if len(assets) >= CHUNK:
                    flush()
            flush()
            if count > drawn:
                copy_demo_rows(start_id, drawn, count, drawn_per_category, progress)
        # The records read the oldest and newest of each category through its date index, built first;
        # the statuses they set then touch no other index (at 1M: 5 s less on PostgreSQL).
        with when_large(sqlite_pragmas(conn, threads=2)):
            for index in by_date:
                index.create(conn)
        seed_records(start_id)
    # SQLite sorts faster in small runs merged by two threads than in one big in-memory sort (1M: 1.0 s an
    # index, not 1.9 s).
    with when_large(sqlite_pragmas(conn, threads=2)):
        for index in deferred_indexes:
            if index not in by_date:
                index.create(conn)
    _advance_sequences(["assets", "units"])
    seed_baselines()
    totals = dict(db.session.execute(sa.select(Asset.category, sa.func.count()).where(Asset.id >= start_id)
                                     .group_by(Asset.category)).all())
    db.session.commit()
    return {c.label: totals.get(c, 0) for c in Category}


def copy_demo_rows(first_id: int, drawn: int, count: int, drawn_per_category: dict,
                   progress: Callable[[int], None] | None = None) -> None:
    """Copy the `drawn` demo assets from `first_id` on, in SQL, until `count` exist.

    Copy k of asset i is asset i + k·drawn. It gets the next codes of its category, identifiers
    (registration code, plate, filing and certificate numbers, serials) made from its own id as the
    drawn rows make them, and every date moved back by 0–60 days, so no two copies are alike.
    """
    sqlite = db.session.get_bind().dialect.name == "sqlite"

    def padded(number, digits: int):
        text = sa.func.printf(f"%0{digits}d", number) if sqlite else sa.func.lpad(sa.cast(number, sa.Text), digits, "0")
        return _text(text)

    def days_back(column, new_id):
        days = (new_id * 37) % 61
        return sa.func.date(column, "-" + sa.cast(days, sa.Text) + " days") if sqlite else column - days

    assets = Asset.__table__
    prefix_length = len(code_for(Category.ELEVATOR, 0)) - SEQUENCE_DIGITS  # XZ-DT-
    sequence = sa.cast(sa.func.substr(assets.c.code, prefix_length + 1), sa.Integer)
    done = drawn
    for k in range(1, -(-count // drawn)):
        shift = k * drawn
        last = first_id - 1 + min(drawn, count - shift)
        # Copy k moves each category's sequence on by k times the drawn rows of that category.
        step = sa.case({c: k * n for c, n in drawn_per_category.items() if n}, value=assets.c.category, else_=0)
        code = _text(sa.func.substr(assets.c.code, 1, prefix_length)) + padded(sequence + step, SEQUENCE_DIGITS)
        sources = [(assets, assets.c.id, {"code": code})] + [
            (m.__table__, m.__table__.c.asset_id, _copied_identifiers(c, m.__table__, m.__table__.c.asset_id + shift,
                                                                       padded))
            for c, m in DETAIL_MODELS.items()]
        for table, key, rewrites in sources:
            rewrites = {key.name: key + shift, **rewrites}
            exprs = [rewrites.get(c.name, days_back(c, key + shift) if isinstance(c.type, sa.Date) else c)
                     for c in table.c]
            db.session.execute(table.insert().from_select(
                [c.name for c in table.c], sa.select(*exprs).where(key.between(first_id, last))))
        done += last - first_id + 1
        if progress:
            progress(done)


def _text(expr):
    """`expr` typed as text, so that `+` concatenates."""
    return sa.type_coerce(expr, sa.Text)


def _copied_identifiers(category: Category, table: sa.Table, aid, padded) -> dict:
    """The identifier columns of a copied detail row, rebuilt from the copy's id as the drawn rows build them."""
    c = table.c
    if category is Category.ELEVATOR:
        return {"registration_code": "3110410" + padded(aid, 13)}
    if category is Category.CONSTRUCTION_MACHINE:
        return {"filing_number": "豫AJ-" + padded(aid, 7),
                "factory_serial_no": _text(sa.func.substr(c.factory_serial_no, 1, 2)) + padded(aid, 8)}
    if category is Category.OFFICIAL_CAR:
        electric = sa.case((c.energy_type.in_([EnergyType.BEV, EnergyType.PHEV]), "D"), else_="")
        letter = _text(sa.func.substr(PLATE_LETTERS, (aid // 10000) % len(PLATE_LETTERS) + 1, 1))
        tail = sa.case((aid // 240000 > 0, sa.cast(aid // 240000, sa.Text)), else_="")
        return {"plate_number": "豫A" + electric + letter + padded(aid % 10000, 4) + tail}
    if category is Category.FARM_MACHINE:
        return {"plate_number": sa.case((c.plate_number.is_(None), None), else_="豫01-" + padded(aid % 100000, 5)),
                "factory_serial_no": _text(sa.func.substr(c.factory_serial_no, 1, 6)) + padded(aid, 7)}
    if category is Category.MEDICAL_DEVICE:
        return {"registration_cert_no": "国械注准2016" + padded(aid % 10_000_000, 7)}
    return {}


def seed_records(start_id: int, share: float = 0.04) -> int:
    """Add deterministic disposals (2024–2026) for the oldest assets, half with a replacement by a newer asset.

    The disposed assets become 已报废 (scrapped), or 已更新 (renewed) when replaced.
    """
    # Plain rows through bulk_insert and one UPDATE for the statuses: at 1M assets these are
    # 40,000 disposals, and one ORM object and flush each cost about 90 s.
    rng = random.Random(SEED + 2)
    today, now = clock.today(), utcnow()
    disposals: list[tuple] = []
    replacements: list[tuple] = []
    links: list[tuple] = []
    replacement_id = db.session.scalar(sa.select(sa.func.max(Replacement.id))) or 0
    for category in Category:
        # `id + 0`: the planner would walk the primary key from start_id (all rows), not the category's date index.
        dated = sa.select(Asset.id, Asset.commissioned_on).where(
            Asset.id + 0 >= start_id, Asset.category == category, Asset.commissioned_on.is_not(None))
        k = int(db.session.scalar(sa.select(sa.func.count()).select_from(dated.subquery())) * share)
        # The k oldest, and the k/2 newest newest-first (only those rows: at 1M the whole list cost 4 s).
        olds = db.session.execute(dated.order_by(Asset.commissioned_on, Asset.id).limit(k)).all()
        news = db.session.execute(dated.order_by(Asset.commissioned_on.desc(), Asset.id.desc()).limit(k // 2)).all()
        for i, (asset_id, commissioned) in enumerate(olds):
            year = 2024 + i % 3
            day = min(date(year, 1 + (i * 5) % 12, 1 + (i * 7) % 28), today)
            if day < commissioned:
                continue
            car = category is Category.OFFICIAL_CAR
            way = DisposalWay.SCRAP_DISMANTLE if car or rng.random() < 0.7 else rng.choice(
                (DisposalWay.TRANSFER, DisposalWay.REALLOCATION, DisposalWay.REMANUFACTURE))
            dereg = category in (Category.OFFICIAL_CAR, Category.ELEVATOR, Category.CONSTRUCTION_MACHINE)
            scrap = way is DisposalWay.SCRAP_DISMANTLE
            disposals.append((
                asset_id, way, day, "河南豫新报废机动车回收拆解有限公司" if car else "新郑市再生资源回收利用有限公司",
                f"HS{year}{asset_id:07d}" if car and scrap else None, f"ZX{year}{asset_id:07d}" if dereg and scrap else None,
                "演示数据", now))
            if i < len(news) and news[i][0] != asset_id:
                replacement_id += 1
                # The draws in the order the replacement's fields were always drawn (the same demo data).
                replacements.append((
                    replacement_id, news[i][0], day, Decimal(rng.randrange(50, 3000) * 1000),
                    rng.choice(list(FundingSource)), rng.choice(list(EfficiencyLevel)), "国六b" if car else None,
                    car and rng.random() < 0.6, "演示数据", now))
                links.append((replacement_id, asset_id))
    bulk_insert(Disposal.__table__, ["asset_id", "way", "disposed_on", "receiver", "recycling_certificate_no",
                                     "deregistration_no", "note", "created_at"], disposals)
    bulk_insert(Replacement.__table__, ["id", "new_asset_id", "replaced_on", "investment_yuan", "funding_source",
                                        "efficiency_level", "emission_standard", "new_energy", "note", "created_at"],
                replacements)
    bulk_insert(ReplacementLink.__table__, ["replacement_id", "old_asset_id"], links)
    _advance_sequences(["replacements"])
    if disposals:
        # One statement: 40,000 single-row updates at 1M assets cost 12 s on PostgreSQL.
        assets = Asset.__table__
        renewed = sa.select(ReplacementLink.old_asset_id).where(ReplacementLink.old_asset_id >= start_id)
        db.session.execute(sa.update(assets).where(assets.c.id.in_(
            sa.select(Disposal.asset_id).where(Disposal.asset_id >= start_id))).values(
            status=sa.case((assets.c.id.in_(renewed), LifecycleStatus.RENEWED.value),
                           else_=LifecycleStatus.SCRAPPED.value), updated_at=now))
    return len(disposals)


def _advance_sequences(tables: list[str]) -> None:
    """Move PostgreSQL's id sequences of `tables` past the ids written explicitly (SQLite needs nothing)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def seed_baselines() -> int:
    """Add demo 2023 baselines below the demo records' yearly average, so the dashboard shows growth; idempotent."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Baseline)):
        return 0
    invested: dict[tuple[int, str], Decimal] = {}
    for (dept, category, _year), amount in investment_by_year().items():
        invested[(dept, category)] = invested.get((dept, category), Decimal(0)) + amount
    cars: dict[int, int] = {}
    for (dept, _year), n in recycled_cars_by_year().items():
        cars[dept] = cars.get(dept, 0) + n
    rows = [Baseline(measure=BaselineMeasure.INVESTMENT, department_id=dept, sector=category, year=2023,
                     value=(total / 3 * Decimal("0.8") / 10000).quantize(Decimal(1)) * 10000, note="演示数据", version=1)
            for (dept, category), total in sorted(invested.items())]
    rows += [Baseline(measure=BaselineMeasure.SCRAPPED_CARS, department_id=dept, sector="", year=2023,
                      value=Decimal(max(1, round(n / 3 * 0.6))), note="演示数据", version=1)
             for dept, n in sorted(cars.items())]
    db.session.add_all(rows)
    db.session.flush()
    return len(rows)

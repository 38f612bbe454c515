"""Assets, one detail table per category, and the per-field change history."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, joinedload, lazyload, mapped_column, relationship

from registry.db_types import RecordedBy, enum_type, utcnow
from registry.enums import (
    AssessmentConclusion, CarUseClass, Category, ConditionGrade, ConfigurationLevel,
    DeviceClass, ElevatorType, EmissionStandard, EnergyType, FarmMachineType,
    HazardAssessment, HoistType, LifecycleStatus, MachineType, NonRoadEmissionStage,
    PipeFacilityType, PipeMaterial, PipeNetwork, VehicleType, WearGrade,
)
from registry.extensions import db
from registry.orgs.models import Department, Unit

# Indexes on expressions, which SQLite's reflection (and so the drift check) cannot see.
EXPRESSION_INDEXES = ("ix_assets_category_age_start_id",)


class Asset(db.Model):
    """One registered piece of equipment or one pipe segment."""

    __tablename__ = "assets"
    # "Not in the future" is checked by the services with the local date (registry.clock): the
    # database's CURRENT_DATE is the server's UTC day, a day behind Beijing before 08:00.
    __table_args__ = (
        sa.CheckConstraint(
            "manufactured_on IS NULL OR commissioned_on IS NULL OR manufactured_on <= commissioned_on",
            name="manufactured_before_commissioned",
        ),
        sa.CheckConstraint(
            "manufactured_on IS NULL OR registered_on IS NULL OR manufactured_on <= registered_on",
            name="manufactured_before_registered",
        ),
        sa.CheckConstraint(
            "design_life_years IS NULL OR (design_life_years > 0 AND design_life_years <= 100)",
            name="design_life_range",
        ),
        sa.CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude_range"),
        sa.CheckConstraint("longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_assets_category_id", "category", "id"),
        sa.Index("ix_assets_department_category_id", "department_id", "category", "id"),
        # Keyset-paginated lists filter by category plus one attribute and walk by id (or the sort key).
        sa.Index("ix_assets_category_township_id", "category", "township", "id"),
        sa.Index("ix_assets_category_status_id", "category", "status", "id"),
        sa.Index("ix_assets_category_grade_id", "category", "condition_grade", "id"),
        sa.Index("ix_assets_category_commissioned_id", "category", "commissioned_on", "id"),
        # A car's age counts from registration (filters.age_start_expr), so its age filters need their own.
        sa.Index(EXPRESSION_INDEXES[0], "category", sa.text("coalesce(registered_on, commissioned_on)"), "id"),
        sa.Index("ix_assets_category_code", "category", "code"),
        # A keyword found in unit names leads to those units' assets of the page's category.
        sa.Index("ix_assets_owner_unit_category", "owner_unit_id", "category"),
        sa.Index("ix_assets_user_unit_category", "user_unit_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    name: Mapped[str] = mapped_column(sa.String(120))
    brand_model: Mapped[str | None] = mapped_column(sa.String(120))
    owner_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    user_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    township: Mapped[str] = mapped_column(sa.String(32), index=True)
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    manufactured_on: Mapped[date | None] = mapped_column(sa.Date)
    commissioned_on: Mapped[date | None] = mapped_column(sa.Date)
    registered_on: Mapped[date | None] = mapped_column(sa.Date)
    design_life_years: Mapped[int | None] = mapped_column(sa.Integer)
    condition_grade: Mapped[ConditionGrade | None] = mapped_column(enum_type(ConditionGrade))
    condition_assessed_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[LifecycleStatus] = mapped_column(
        enum_type(LifecycleStatus), default=LifecycleStatus.IN_USE, index=True
    )
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # Columns of an imported ledger that have no registry field, kept as {column label: text}.
    extra: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True)  # loaded only where shown
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Records are never hard-deleted: deletion is a timestamp with a reason.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    deletion_reason: Mapped[str | None] = mapped_column(sa.String(200))

    owner_unit: Mapped[Unit] = relationship(foreign_keys=[owner_unit_id], lazy="joined")
    user_unit: Mapped[Unit | None] = relationship(foreign_keys=[user_unit_id], lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")

    elevator: Mapped["ElevatorDetail | None"] = relationship(back_populates="asset", uselist=False, lazy="selectin")
    construction_machine: Mapped["ConstructionMachineDetail | None"] = relationship(
        back_populates="asset", uselist=False, lazy="selectin")
    pipe: Mapped["PipeDetail | None"] = relationship(back_populates="asset", uselist=False, lazy="selectin")
    official_car: Mapped["OfficialCarDetail | None"] = relationship(
        back_populates="asset", uselist=False, lazy="selectin")
    farm_machine: Mapped["FarmMachineDetail | None"] = relationship(
        back_populates="asset", uselist=False, lazy="selectin")
    medical_device: Mapped["MedicalDeviceDetail | None"] = relationship(
        back_populates="asset", uselist=False, lazy="selectin")

    __mapper_args__ = {"version_id_col": version}

    @property
    def detail(self):
        """Return this asset's category detail row, if any."""
        return getattr(self, self.category.value)

    @property
    def age_start(self) -> date | None:
        """Return the date age is counted from: registration for cars, else commissioning."""
        if self.category is Category.OFFICIAL_CAR:
            return self.registered_on or self.commissioned_on
        return self.commissioned_on


def load_options() -> list:
    """Load units and department in the same query, and every category detail lazily.

    One asset's own detail then costs one statement on first access, instead of the six selectin
    queries (one per detail table) of the default.
    """
    return [joinedload(Asset.department).lazyload(Department.categories),
            *(lazyload(getattr(Asset, c.value)) for c in Category)]


class _Detail:
    """Columns every detail table shares: the asset it extends."""

    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), primary_key=True)


class ElevatorDetail(_Detail, db.Model):
    """Attributes of an elevator, escalator or moving walk."""

    __tablename__ = "elevator_details"
    __table_args__ = (
        sa.CheckConstraint("floors IS NULL OR floors > 0", name="floors_positive"),
        sa.CheckConstraint("stops IS NULL OR stops > 0", name="stops_positive"),
        sa.CheckConstraint("faults_last_12m IS NULL OR faults_last_12m >= 0", name="faults_nonnegative"),
        sa.CheckConstraint("rated_load_kg IS NULL OR rated_load_kg > 0", name="rated_load_positive"),
        sa.CheckConstraint("rated_speed_ms IS NULL OR rated_speed_ms > 0", name="rated_speed_positive"),
    )
    registration_code: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    elevator_type: Mapped[ElevatorType] = mapped_column(enum_type(ElevatorType))
    floors: Mapped[int | None]
    stops: Mapped[int | None]
    residential_community: Mapped[str | None] = mapped_column(sa.String(120))
    faults_last_12m: Mapped[int | None]
    configuration_level: Mapped[ConfigurationLevel | None] = mapped_column(enum_type(ConfigurationLevel))
    last_inspection_on: Mapped[date | None] = mapped_column(sa.Date)
    assessment_conclusion: Mapped[AssessmentConclusion | None] = mapped_column(enum_type(AssessmentConclusion))
    rated_load_kg: Mapped[int | None]
    rated_speed_ms: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 2))
    maintenance_company: Mapped[str | None] = mapped_column(sa.String(120))
    maintenance_phone: Mapped[str | None] = mapped_column(sa.String(32))
    # The one date that lies ahead: when the special-equipment inspector is next due.
    next_inspection_on: Mapped[date | None] = mapped_column(sa.Date)
    # XZ-7 covers residential elevators only; None (not stated) stays within its scope.
    serves_housing: Mapped[bool | None]
    asset: Mapped[Asset] = relationship(back_populates="elevator")


class ConstructionMachineDetail(_Detail, db.Model):
    """Attributes of a piece of construction machinery."""

    __tablename__ = "construction_machine_details"
    __table_args__ = (
        sa.CheckConstraint("rated_moment_knm IS NULL OR rated_moment_knm > 0", name="moment_positive"),
    )
    machine_type: Mapped[MachineType] = mapped_column(enum_type(MachineType))
    factory_serial_no: Mapped[str | None] = mapped_column(sa.String(60))  # 出厂编号, the natural key with 型号
    rated_moment_knm: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 1))
    hoist_type: Mapped[HoistType | None] = mapped_column(enum_type(HoistType))
    filing_number: Mapped[str | None] = mapped_column(sa.String(40))
    emission_stage: Mapped[NonRoadEmissionStage | None] = mapped_column(enum_type(NonRoadEmissionStage))
    wear_grade: Mapped[WearGrade | None] = mapped_column(enum_type(WearGrade))
    safety_hazard: Mapped[bool | None]
    no_repair_value: Mapped[bool | None]
    main_part_damaged: Mapped[bool | None]
    asset: Mapped[Asset] = relationship(back_populates="construction_machine")


class PipeDetail(_Detail, db.Model):
    """Attributes of a pipe segment or a facility (secondary water supply, station)."""

    __tablename__ = "pipe_details"
    __table_args__ = (
        sa.CheckConstraint("diameter_mm IS NULL OR diameter_mm > 0", name="diameter_positive"),
        sa.CheckConstraint("length_m IS NULL OR length_m > 0", name="length_positive"),
    )
    facility_type: Mapped[PipeFacilityType] = mapped_column(enum_type(PipeFacilityType))
    network: Mapped[PipeNetwork] = mapped_column(enum_type(PipeNetwork))
    material: Mapped[PipeMaterial | None] = mapped_column(enum_type(PipeMaterial))
    has_lining: Mapped[bool | None]
    diameter_mm: Mapped[int | None]
    length_m: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 1))
    meets_standards: Mapped[bool | None]
    hazard_assessment: Mapped[HazardAssessment | None] = mapped_column(enum_type(HazardAssessment))
    built_over: Mapped[bool | None]
    affects_water_quality: Mapped[bool | None]
    banned_type: Mapped[bool | None]
    start_latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    start_longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    end_latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    end_longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    asset: Mapped[Asset] = relationship(back_populates="pipe")


class OfficialCarDetail(_Detail, db.Model):
    """Attributes of an official car."""

    __tablename__ = "official_car_details"
    __table_args__ = (sa.CheckConstraint("odometer_km IS NULL OR odometer_km >= 0", name="odometer_nonnegative"),)
    plate_number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    use_class: Mapped[CarUseClass] = mapped_column(enum_type(CarUseClass))
    vehicle_type: Mapped[VehicleType | None] = mapped_column(enum_type(VehicleType))
    # The wording printed on the 行驶证 (「小型普通客车」); `vehicle_type` is the class the rules read.
    license_vehicle_type: Mapped[str | None] = mapped_column(sa.String(32))
    energy_type: Mapped[EnergyType | None] = mapped_column(enum_type(EnergyType))
    odometer_km: Mapped[int | None]
    emission_standard: Mapped[EmissionStandard | None] = mapped_column(enum_type(EmissionStandard))
    asset: Mapped[Asset] = relationship(back_populates="official_car")


class FarmMachineDetail(_Detail, db.Model):
    """Attributes of an agricultural machine."""

    __tablename__ = "farm_machine_details"
    __table_args__ = (sa.CheckConstraint("rated_power_kw IS NULL OR rated_power_kw > 0", name="power_positive"),)
    machine_type: Mapped[FarmMachineType] = mapped_column(enum_type(FarmMachineType))
    rated_power_kw: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 1))
    plate_number: Mapped[str | None] = mapped_column(sa.String(20))
    factory_serial_no: Mapped[str | None] = mapped_column(sa.String(60))  # 出厂编号, the natural key with 型号
    emission_stage: Mapped[NonRoadEmissionStage | None] = mapped_column(enum_type(NonRoadEmissionStage))
    purchase_subsidy: Mapped[bool | None]  # 享受购机补贴
    high_energy_use: Mapped[bool | None]
    heavy_pollution: Mapped[bool | None]
    large_operating_loss: Mapped[bool | None]
    asset: Mapped[Asset] = relationship(back_populates="farm_machine")


class MedicalDeviceDetail(_Detail, db.Model):
    """Attributes of a medical device."""

    __tablename__ = "medical_device_details"
    __table_args__ = (
        sa.CheckConstraint(
            "specified_service_life_years IS NULL OR specified_service_life_years > 0", name="service_life_positive"
        ),
    )
    registration_cert_no: Mapped[str | None] = mapped_column(sa.String(60))
    device_class: Mapped[DeviceClass] = mapped_column(enum_type(DeviceClass))
    is_large_equipment: Mapped[bool] = mapped_column(default=False)
    specified_service_life_years: Mapped[int | None]
    function_complete: Mapped[bool | None]
    performance_backward: Mapped[bool | None]
    asset: Mapped[Asset] = relationship(back_populates="medical_device")


DETAIL_MODELS: dict[Category, type] = {
    Category.ELEVATOR: ElevatorDetail,
    Category.CONSTRUCTION_MACHINE: ConstructionMachineDetail,
    Category.PIPE: PipeDetail,
    Category.OFFICIAL_CAR: OfficialCarDetail,
    Category.FARM_MACHINE: FarmMachineDetail,
    Category.MEDICAL_DEVICE: MedicalDeviceDetail,
}


class AssetChange(db.Model):
    """One field of one asset changed by one action: who, when, before, after."""

    __tablename__ = "asset_changes"
    __table_args__ = (sa.Index("ix_asset_changes_asset_id_id", "asset_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(16))  # create / update / delete / import / bulk / assess
    field: Mapped[str] = mapped_column(sa.String(64))
    before: Mapped[str | None] = mapped_column(sa.Text)
    after: Mapped[str | None] = mapped_column(sa.Text)


class ConditionAssessment(RecordedBy, db.Model):
    """An inspector's on-site condition assessment; the latest one sets the asset's grade."""

    __tablename__ = "condition_assessments"
    __table_args__ = (
        sa.Index("ix_condition_assessments_asset_id_assessed_on", "asset_id", "assessed_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    assessed_on: Mapped[date] = mapped_column(sa.Date)
    assessor: Mapped[str] = mapped_column(sa.String(64))
    grade: Mapped[ConditionGrade] = mapped_column(enum_type(ConditionGrade))
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    # Path relative to instance/uploads; the file name is random, never the uploader's.
    photo_path: Mapped[str | None] = mapped_column(sa.String(255))
    photo_content_type: Mapped[str | None] = mapped_column(sa.String(32))

    asset: Mapped[Asset] = relationship()

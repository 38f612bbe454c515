"""The asset data rules may read: name -> where it lives, how to show it, how to read it."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from registry.assets.models import DETAIL_MODELS, Asset
from registry.enums import Category, LabeledEnum


@dataclass(frozen=True)
class Field:
    """One readable datum: on the asset row or on its category's detail row."""

    name: str
    label: str  # shown in 「无法判定：缺少{label}」 and in explanations
    on_detail: bool = False
    enum: type[LabeledEnum] | None = None
    boolean: bool = False  # a yes/no column (a rule's scope may name it)

    def scope_values(self) -> list | None:
        """Return the values a rule's scope may list for this field (None: it cannot scope a rule)."""
        if self.enum is not None:
            return self.enum.values()
        return [True, False] if self.boolean else None


ASSET_FIELDS = {
    "commissioned_on": Field("commissioned_on", "投入使用日期"),
    "manufactured_on": Field("manufactured_on", "出厂日期"),
    "registered_on": Field("registered_on", "登记日期"),
    "age_start": Field("age_start", "投入使用（登记）日期"),
    "design_life_years": Field("design_life_years", "设计使用年限"),
    "condition_grade": Field("condition_grade", "状况等级"),
}
# Words that introduce an age in an explanation: 「投入使用 11 年 2 个月」.
DATE_VERBS = {"commissioned_on": "投入使用", "manufactured_on": "出厂", "registered_on": "登记",
              "age_start": "使用"}
DATE_FIELDS = tuple(DATE_VERBS)




def detail_field(category: Category, name: str) -> Field | None:
    """Return the Field for a column of `category`'s detail table, or None if it has no such column."""
    model = DETAIL_MODELS[category]
    column = model.__table__.columns.get(name)
    if column is None or name == "asset_id":
        return None
    enum = getattr(column.type, "enum_class", None)
    return Field(name, DETAIL_LABELS.get(name, name), on_detail=True, enum=enum,
                 boolean=isinstance(column.type, sa.Boolean))


def resolve(category: Category, name: str) -> Field | None:
    """Return the Field `name` for assets of `category` (asset column first), or None if unknown."""
    if name in ASSET_FIELDS:
        field = ASSET_FIELDS[name]
        if name == "condition_grade":
            from registry.enums import ConditionGrade
            return Field(name, field.label, enum=ConditionGrade)
        return field
    return detail_field(category, name)


DETAIL_LABELS = {
    "faults_last_12m": "近12个月故障次数", "configuration_level": "配置水平",
    "assessment_conclusion": "评估结论", "elevator_type": "电梯类型",
    "machine_type": "机械类型", "rated_moment_knm": "额定起重力矩", "hoist_type": "升降机型式",
    "emission_stage": "排放阶段", "wear_grade": "磨损等级", "safety_hazard": "安全隐患",
    "no_repair_value": "维修价值", "main_part_damaged": "主要部件受损情况",
    "facility_type": "设施类型", "network": "管网类别", "material": "管材", "has_lining": "防腐内衬",
    "meets_standards": "是否符合标准规范", "hazard_assessment": "隐患评估", "built_over": "占压情况",
    "affects_water_quality": "是否影响水质", "banned_type": "是否国家明令淘汰类型",
    "use_class": "用车类别", "vehicle_type": "车辆类型", "energy_type": "能源类型", "odometer_km": "行驶里程",
    "machine_type_farm": "农机类型", "rated_power_kw": "额定功率", "high_energy_use": "是否耗能高",
    "heavy_pollution": "是否污染重", "large_operating_loss": "是否作业损失大",
    "serves_housing": "是否住宅电梯", "rated_load_kg": "额定载重量", "rated_speed_ms": "额定速度",
    "purchase_subsidy": "是否享受购机补贴",
    "device_class": "管理类别", "specified_service_life_years": "规定使用年限",
    "function_complete": "功能是否完整", "performance_backward": "性能是否落后",
}

# What a boolean flag means when it holds the value a rule looks for: {name: {value: text}}.
FLAG_TEXT = {
    "safety_hazard": {True: "存在安全隐患", False: "无安全隐患"},
    "no_repair_value": {True: "无维修价值", False: "有维修价值"},
    "main_part_damaged": {True: "主要部件严重受损", False: "主要部件完好"},
    "has_lining": {True: "有防腐内衬", False: "无防腐内衬"},
    "meets_standards": {True: "符合标准规范", False: "不符合相关标准规范（带病运行）"},
    "built_over": {True: "被建构筑物占压", False: "无占压"},
    "affects_water_quality": {True: "影响水质达标", False: "不影响水质"},
    "banned_type": {True: "属国家明令淘汰类型", False: "非淘汰类型"},
    "high_energy_use": {True: "耗能高", False: "耗能正常"},
    "heavy_pollution": {True: "污染重", False: "污染正常"},
    "large_operating_loss": {True: "作业损失大", False: "作业损失正常"},
    "function_complete": {True: "功能完整", False: "功能不全"},
    "performance_backward": {True: "性能落后", False: "性能正常"},
    "is_large_equipment": {True: "大型医用设备", False: "非大型医用设备"},
    "serves_housing": {True: "住宅电梯", False: "非住宅电梯"},
    "purchase_subsidy": {True: "享受购机补贴", False: "未享受购机补贴"},
}


def value_of(asset: Asset, field: Field):
    """Read `field` from an ORM asset (None when the asset or its detail lacks it)."""
    if field.name == "age_start":
        return asset.age_start
    if field.on_detail:
        detail = asset.detail
        return None if detail is None else getattr(detail, field.name)
    return getattr(asset, field.name)


def column_of(category: Category, field: Field, detail_table: sa.Table):
    """Return the SQL expression reading `field` in a query over assets joined to `detail_table`."""
    table = Asset.__table__
    if field.name == "age_start":
        if category is Category.OFFICIAL_CAR:
            return sa.func.coalesce(table.c.registered_on, table.c.commissioned_on)
        return table.c.commissioned_on
    if field.on_detail:
        return detail_table.c[field.name]
    return table.c[field.name]

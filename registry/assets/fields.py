"""The attributes of an asset, per category, with Chinese labels and one parser each.

Forms, the JSON schemas, Excel templates, the importer and the detail page all read this
table, so a column is described once: its label, type, enum, limits and help text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from registry import clock, enums
from registry.enums import Category, LabeledEnum
from registry.inputs import MAX_NUMBER_CHARS, NumberError, has_control_chars, parse_number, show as _show


class FieldError(ValueError):
    """A value that cannot be accepted; the message is Chinese and names no row (the caller adds it)."""

    def __init__(self, message: str, warning: str | None = None):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldSpec:
    """One attribute: where it lives (`table` is "asset" or a category value) and how to parse it."""

    name: str
    label: str
    kind: str  # str, text, int, decimal, date, bool, enum, unit, department
    table: str = "asset"
    required: bool = False
    enum: type[LabeledEnum] | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""
    extra: dict = field(default_factory=dict)
    future_years: int = 0  # a date may lie this many years ahead (0: not after today)
    pattern: str | None = None  # a text value must match this whole (checked after the length)
    pattern_hint: str = ""  # what a matching value looks like, for the message


def latest_date(spec: FieldSpec | None, today: date) -> date:
    """Return the last date `spec` accepts: today, or today plus its `future_years` (29 Feb -> 28 Feb)."""
    years = spec.future_years if spec is not None else 0
    if not years:
        return today
    try:
        return today.replace(year=today.year + years)
    except ValueError:
        return today.replace(year=today.year + years, day=28)


def _f(name, label, kind, **kw) -> FieldSpec:
    return FieldSpec(name, label, kind, **kw)


# A telephone number as ledgers write it: 0371-62345678, 138 1234 5678, (0371)62345678, 0371-6234567转8
PHONE_PATTERN = r"[+(（]?[0-9][0-9 ()（）+\-－转]{5,30}"

COMMON_FIELDS: tuple[FieldSpec, ...] = (
    _f("code", "设备编码", "str", required=True, max_length=40, help="全市唯一的设备编码，如 XZ-DT-0000123"),
    _f("name", "设备名称", "str", required=True, max_length=120),
    _f("brand_model", "品牌型号", "str", max_length=120),
    _f("owner_unit", "产权单位", "unit", required=True, help="填写单位全称；系统中不存在的单位将按所在乡镇新建"),
    _f("user_unit", "使用单位", "unit", help="为空时视同产权单位"),
    _f("address", "地址", "str", max_length=200),
    _f("township", "乡镇/街道", "str", required=True, max_length=32, help="新郑市下辖乡镇或街道"),
    _f("latitude", "纬度", "decimal", minimum=-90, maximum=90),
    _f("longitude", "经度", "decimal", minimum=-180, maximum=180),
    _f("manufactured_on", "出厂日期", "date", help="日期，如 2015-06-01"),
    _f("commissioned_on", "投入使用日期", "date", help="规则按此日期计算使用年限（公务用车按登记日期）"),
    _f("registered_on", "登记日期", "date", help="车辆登记（上牌）日期"),
    _f("design_life_years", "设计使用年限（年）", "int", minimum=1, maximum=100),
    _f("condition_grade", "状况等级", "enum", enum=enums.ConditionGrade, help="好/较好/一般/较差/差"),
    _f("condition_assessed_on", "状况评定日期", "date"),
    _f("status", "使用状态", "enum", enum=enums.LifecycleStatus),
    _f("notes", "备注", "text", max_length=2000),
)

CATEGORY_FIELDS: dict[Category, tuple[FieldSpec, ...]] = {
    Category.ELEVATOR: (
        _f("registration_code", "注册代码", "str", table="elevator", max_length=40),
        _f("elevator_type", "电梯类型", "enum", table="elevator", required=True, enum=enums.ElevatorType),
        _f("floors", "层数", "int", table="elevator", minimum=1, maximum=200),
        _f("stops", "站数", "int", table="elevator", minimum=1, maximum=200),
        _f("residential_community", "所在小区", "str", table="elevator", max_length=120),
        _f("faults_last_12m", "近12个月故障次数", "int", table="elevator", minimum=0, maximum=10000),
        _f("configuration_level", "配置水平", "enum", table="elevator", enum=enums.ConfigurationLevel),
        _f("last_inspection_on", "最近定期检验日期", "date", table="elevator"),
        _f("assessment_conclusion", "评估结论", "enum", table="elevator", enum=enums.AssessmentConclusion),
        _f("rated_load_kg", "额定载重量（kg）", "int", table="elevator", minimum=1, maximum=100000,
           help="自动扶梯、自动人行道可不填"),
        _f("rated_speed_ms", "额定速度（m/s）", "decimal", table="elevator", minimum=0.01, maximum=20),
        _f("maintenance_company", "维保单位", "str", table="elevator", max_length=120),
        _f("maintenance_phone", "维保单位电话", "str", table="elevator", max_length=32, pattern=PHONE_PATTERN,
           pattern_hint="数字，可含 - 、空格、+ 和括号，如 0371-62345678 或 13812345678"),
        _f("next_inspection_on", "下次定期检验日期", "date", table="elevator", future_years=5,
           help="可填今后 5 年内的日期"),
        _f("serves_housing", "住宅电梯", "bool", table="elevator",
           help="是否服务于住宅；XZ-7 只适用于住宅电梯（未填写的按住宅电梯判定）"),
    ),
    Category.CONSTRUCTION_MACHINE: (
        _f("machine_type", "机械类型", "enum", table="construction_machine", required=True, enum=enums.MachineType),
        _f("factory_serial_no", "出厂编号", "str", table="construction_machine", max_length=60,
           help="与品牌型号一起识别同一台设备（台账没有设备编码时）"),
        _f("rated_moment_knm", "额定起重力矩（kN·m）", "decimal", table="construction_machine", minimum=0.1,
           maximum=100000, help="塔式起重机填写"),
        _f("hoist_type", "升降机型式", "enum", table="construction_machine", enum=enums.HoistType,
           help="施工升降机填写 SC 或 SS"),
        _f("filing_number", "产权备案编号", "str", table="construction_machine", max_length=40),
        _f("emission_stage", "非道路排放阶段", "enum", table="construction_machine", enum=enums.NonRoadEmissionStage),
        _f("wear_grade", "磨损程度", "enum", table="construction_machine", enum=enums.WearGrade),
        _f("safety_hazard", "存在安全隐患", "bool", table="construction_machine"),
        _f("no_repair_value", "无修理价值", "bool", table="construction_machine"),
        _f("main_part_damaged", "主要部件严重损坏", "bool", table="construction_machine"),
    ),
    Category.PIPE: (
        _f("facility_type", "设施类型", "enum", table="pipe", required=True, enum=enums.PipeFacilityType),
        _f("network", "管网类别", "enum", table="pipe", required=True, enum=enums.PipeNetwork),
        _f("material", "管材", "enum", table="pipe", enum=enums.PipeMaterial),
        _f("has_lining", "有防腐内衬", "bool", table="pipe"),
        _f("diameter_mm", "管径（mm）", "int", table="pipe", minimum=1, maximum=10000),
        _f("length_m", "长度（m）", "decimal", table="pipe", minimum=0.1, maximum=1000000),
        _f("meets_standards", "符合标准规范", "bool", table="pipe"),
        _f("hazard_assessment", "隐患评估", "enum", table="pipe", enum=enums.HazardAssessment),
        _f("built_over", "被建构筑物占压", "bool", table="pipe"),
        _f("affects_water_quality", "影响水质", "bool", table="pipe", help="二次供水设施填写"),
        _f("banned_type", "属国家明令淘汰类型", "bool", table="pipe", help="二次供水设施填写"),
        _f("start_latitude", "起点纬度", "decimal", table="pipe", minimum=-90, maximum=90),
        _f("start_longitude", "起点经度", "decimal", table="pipe", minimum=-180, maximum=180),
        _f("end_latitude", "终点纬度", "decimal", table="pipe", minimum=-90, maximum=90),
        _f("end_longitude", "终点经度", "decimal", table="pipe", minimum=-180, maximum=180),
    ),
    Category.OFFICIAL_CAR: (
        _f("plate_number", "号牌号码", "str", table="official_car", required=True, max_length=16),
        _f("use_class", "车辆用途类别", "enum", table="official_car", required=True, enum=enums.CarUseClass),
        _f("vehicle_type", "车辆类型", "enum", table="official_car", enum=enums.VehicleType),
        _f("license_vehicle_type", "行驶证车辆类型", "str", table="official_car", max_length=32,
           help="按行驶证填写，如 小型普通客车"),
        _f("energy_type", "能源类型", "enum", table="official_car", enum=enums.EnergyType),
        _f("odometer_km", "行驶里程（km）", "int", table="official_car", minimum=0, maximum=5000000),
        _f("emission_standard", "排放标准", "enum", table="official_car", enum=enums.EmissionStandard),
    ),
    Category.FARM_MACHINE: (
        _f("machine_type", "农机类型", "enum", table="farm_machine", required=True, enum=enums.FarmMachineType),
        _f("rated_power_kw", "额定功率（kW）", "decimal", table="farm_machine", minimum=0.1, maximum=10000),
        _f("plate_number", "号牌号码", "str", table="farm_machine", max_length=20),
        _f("factory_serial_no", "出厂编号", "str", table="farm_machine", max_length=60,
           help="与品牌型号一起识别同一台农机（台账没有设备编码时）"),
        _f("emission_stage", "排放阶段", "enum", table="farm_machine", enum=enums.NonRoadEmissionStage),
        _f("purchase_subsidy", "享受购机补贴", "bool", table="farm_machine"),
        _f("high_energy_use", "高耗能", "bool", table="farm_machine"),
        _f("heavy_pollution", "高污染", "bool", table="farm_machine"),
        _f("large_operating_loss", "作业损失大", "bool", table="farm_machine"),
    ),
    Category.MEDICAL_DEVICE: (
        _f("registration_cert_no", "注册证编号", "str", table="medical_device", max_length=60),
        _f("device_class", "管理类别", "enum", table="medical_device", required=True, enum=enums.DeviceClass),
        _f("is_large_equipment", "大型医用设备", "bool", table="medical_device"),
        _f("specified_service_life_years", "规定使用期限（年）", "int", table="medical_device", minimum=1, maximum=100),
        _f("function_complete", "功能完好", "bool", table="medical_device"),
        _f("performance_backward", "性能落后", "bool", table="medical_device"),
    ),
}


def fields_for(category: Category) -> tuple[FieldSpec, ...]:
    """Return the common fields followed by the category's own."""
    return COMMON_FIELDS + CATEGORY_FIELDS[category]


TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", "×", "✗"}
_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), False),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), False),
    (re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"), False),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"), False),
    (re.compile(r"^(\d{4})年(\d{1,2})月$"), True),
)
EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(raw, today: date | None = None, spec: FieldSpec | None = None) -> tuple[date | None, str | None]:
    """Parse the date forms people type; return (date, warning). Raise FieldError when ambiguous or invalid."""
    today = today or clock.today()
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    warning = None
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # NaN, infinity (JSON 1e400, an xlsx "inf" cell) and huge serials are refused before int() sees them.
        if raw != raw or not -1e9 < raw < 1e9:
            raise FieldError(f"「{_show(raw)}」不是有效的 Excel 日期序号")
        raw = int(raw)  # a serial's fraction is the time of day, which a date drops
        if 1900 <= raw <= 2100:
            raise FieldError(f"「{raw}」像是年份而不是日期，请填写完整日期，如 {raw}-06-01")
        if not 1 <= raw <= 2958465:
            raise FieldError(f"「{_show(raw)}」不是有效的 Excel 日期序号")
        value = EXCEL_EPOCH + timedelta(days=int(raw))
    else:
        text = str(raw).strip()
        for pattern, month_only in _DATE_PATTERNS:
            m = pattern.match(text)
            if not m:
                continue
            year, month = int(m.group(1)), int(m.group(2))
            day = 1 if month_only else int(m.group(3))
            try:
                value = date(year, month, day)
            except ValueError:
                raise FieldError(f"「{_show(text)}」不是有效日期") from None
            if month_only:
                warning = f"「{_show(text)}」只有年月，按 {value.isoformat()}（当月1日）计"
            break
        else:
            if text.isdigit() and len(text) == 8:
                raise FieldError(f"「{_show(text)}」格式有歧义，请写成 {text[:4]}-{text[4:6]}-{text[6:]}")
            raise FieldError(f"「{_show(text)}」无法识别为日期，请使用 2015-06-01、2015/6/1、2015.6.1 或 2015年6月1日 等格式")
    if value.year < 1900:
        raise FieldError(f"「{value.isoformat()}」年份过早，请核对")
    if value > today:
        latest = latest_date(spec, today)
        if latest == today:
            raise FieldError(f"「{value.isoformat()}」晚于今天，不能填写未来日期")
        if value > latest:
            raise FieldError(f"「{value.isoformat()}」晚于 {latest.isoformat()}，最多填写今后 {spec.future_years} 年内的日期")
    return value, warning


def parse_value(spec: FieldSpec, raw, today: date | None = None):
    """Parse one raw value for `spec`; return (value, warning) or raise FieldError (Chinese)."""
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        if spec.required:
            raise FieldError("不能为空")
        return None, None
    kind = spec.kind
    if kind == "date":
        return parse_date(raw, today, spec)
    if kind in ("str", "text", "unit", "department"):
        text = str(raw)
        if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e18:
            text = str(int(raw))  # Excel turns codes like 123 into 123.0
        if spec.max_length and len(text) > spec.max_length:
            raise FieldError(f"长度不能超过 {spec.max_length} 个字符")
        # Control characters broke every xlsx export of the row; only multi-line text keeps line breaks.
        if has_control_chars(text, single_line=kind != "text"):
            raise FieldError("不能包含控制字符（如换行、制表符、U+0001）" if kind != "text"
                             else "不能包含控制字符（如 U+0001）")
        if spec.pattern and not re.fullmatch(spec.pattern, text):
            raise FieldError(f"「{_show(text)}」格式不正确，应为{spec.pattern_hint}")
        return text, None
    if kind == "enum":
        try:
            return spec.enum.from_label(str(raw)), None
        except KeyError:
            raise FieldError(f"「{_show(raw)}」不是有效选项，可选：{'、'.join(spec.enum.labels())}") from None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).strip().lower()
        if text in TRUE_WORDS:
            return True, None
        if text in FALSE_WORDS:
            return False, None
        raise FieldError(f"「{_show(raw)}」应填写“是”或“否”")
    if kind in ("int", "decimal"):
        try:  # bounded by length and magnitude before any conversion (registry.inputs)
            number = parse_number(raw, integer=kind == "int")
        except NumberError as exc:
            raise FieldError(exc.message) from None
        if spec.minimum is not None and number < spec.minimum:
            raise FieldError(f"不能小于 {spec.minimum:g}")
        if spec.maximum is not None and number > spec.maximum:
            raise FieldError(f"不能大于 {spec.maximum:g}")
        return number, None
    raise AssertionError(f"unknown field kind {kind}")


def compile_parser(spec: FieldSpec, today: date | None = None):
    """Return a fast parser for `spec` with the same answers as `parse_value` (bulk import calls it per cell).

    The common cases of a spreadsheet cell (a clean text, a date or number object, a string of
    ASCII digits, an exact label) are answered without the general path; everything else falls back
    to `parse_value`. A date parser remembers the texts it has read (one parser serves one import).
    """
    today = today or clock.today()

    def general(raw):
        return parse_value(spec, raw, today)

    if spec.kind == "enum":
        table = {}
        for member in spec.enum:
            table[member.label] = member
            table[member.value] = member

        def parse_enum(raw):
            hit = table.get(raw) if raw.__class__ is str else None
            if hit is not None:
                return hit, None
            return general(raw)
        return parse_enum
    if spec.kind == "bool":
        words = {w: True for w in TRUE_WORDS} | {w: False for w in FALSE_WORDS}

        def parse_bool(raw):
            if raw.__class__ is str and raw in words:
                return words[raw], None
            return general(raw)
        return parse_bool
    if spec.kind == "date":
        low, high = date(1900, 1, 1), latest_date(spec, today)

        seen: dict[str, tuple] = {}  # a ledger's text dates repeat; refusals are not kept (they raise)

        def parse_fast_date(raw):
            if raw.__class__ is date and low <= raw <= high:
                return raw, None
            if raw.__class__ is str:
                hit = seen.get(raw)
                if hit is None:
                    hit = seen[raw] = general(raw)
                return hit
            return general(raw)
        return parse_fast_date
    if spec.kind in ("int", "decimal"):
        # Finite bounds even without a limit: an "inf" cell must take the general path and be refused there.
        low = -1e24 if spec.minimum is None else spec.minimum
        high = 1e24 if spec.maximum is None else spec.maximum
        as_int = spec.kind == "int"

        def parse_number(raw):
            # Spreadsheet numbers arrive as floats; ints and in-range values need no Decimal detour.
            kind = raw.__class__
            if kind is float and low <= raw <= high:
                if as_int:
                    if raw.is_integer():
                        return int(raw), None
                else:
                    return Decimal(repr(raw)), None
            elif kind is int and low <= raw <= high:  # a bool's class is bool: it takes the general path
                return (raw if as_int else Decimal(raw)), None
            elif kind is str and len(raw) <= MAX_NUMBER_CHARS and raw.isascii() and raw.isdigit():
                number = int(raw)  # mapped ledgers hand over 「1,000kg」 as "1000"
                if low <= number <= high:
                    return (number if as_int else Decimal(raw)), None
            return general(raw)
        return parse_number
    if spec.kind in ("str", "text", "unit", "department") and not spec.pattern:
        limit = spec.max_length or 0

        def parse_str(raw):
            if raw.__class__ is str:
                text = raw.strip()
                # isprintable() is False for every control character (and some harmless spaces): those ask parse_value.
                if text and (not limit or len(text) <= limit) and text.isprintable():
                    return text, None
            return general(raw)
        return parse_str
    return general


def display_value(spec: FieldSpec, value) -> str | None:
    """Return `value` as people read it (label, 是/否, ISO date), for history entries and messages."""
    if value is None:
        return None
    if spec.kind == "enum":
        return value.label if hasattr(value, "label") else spec.enum(value).label
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)

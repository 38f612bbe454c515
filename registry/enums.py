"""Every enumeration the registry stores, each value with its Chinese label.

The database stores the English value; the interface, Excel and PDFs show the
label. This module is the one place a label is written.
"""
from __future__ import annotations

import enum


class LabeledEnum(str, enum.Enum):
    """A string enum whose members carry a Chinese label."""

    label: str

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """Return (value, label) pairs in declaration order."""
        return [(m.value, m.label) for m in cls]

    @classmethod
    def from_label(cls, label: str):
        """Return the member whose label (or value) is `label`, or raise KeyError."""
        text = str(label).strip()
        for m in cls:
            if text in (m.label, m.value):
                return m
        raise KeyError(text)

    @classmethod
    def values(cls) -> list[str]:
        """Return the stored values."""
        return [m.value for m in cls]

    @classmethod
    def labels(cls) -> list[str]:
        """Return the Chinese labels."""
        return [m.label for m in cls]

    def __str__(self) -> str:
        return self.value


class Category(LabeledEnum):
    ELEVATOR = ("elevator", "电梯")
    CONSTRUCTION_MACHINE = ("construction_machine", "建筑工程机械")
    PIPE = ("pipe", "市政管道设施")
    OFFICIAL_CAR = ("official_car", "公务用车")
    FARM_MACHINE = ("farm_machine", "农业机械")
    MEDICAL_DEVICE = ("medical_device", "医疗设备")


class ConditionGrade(LabeledEnum):
    """Five grades, best first; `rank` grows as condition worsens."""

    GOOD = ("good", "好")
    FAIRLY_GOOD = ("fairly_good", "较好")
    FAIR = ("fair", "一般")
    POOR = ("poor", "较差")
    BAD = ("bad", "差")

    @property
    def rank(self) -> int:
        return list(ConditionGrade).index(self) + 1


class LifecycleStatus(LabeledEnum):
    IN_USE = ("in_use", "在用")
    IDLE = ("idle", "停用")
    PLANNED = ("planned", "已列入更新计划")
    NOTIFIED = ("notified", "已下达通知")
    RENEWED = ("renewed", "已更新")
    SCRAPPED = ("scrapped", "已报废")


class UnitKind(LabeledEnum):
    COMPANY = ("company", "企业")
    COMMUNITY = ("residential_community", "住宅小区")
    SCHOOL = ("school", "学校")
    HOSPITAL = ("hospital", "医院")
    TOWNSHIP_OFFICE = ("township_office", "乡镇/街道办事处")
    GOVERNMENT = ("government", "机关事业单位")
    COOPERATIVE = ("cooperative", "农民合作社")
    OTHER = ("other", "其他")


class Role(LabeledEnum):
    SYSADMIN = ("sysadmin", "系统管理员")
    SECADMIN = ("secadmin", "安全管理员")
    AUDITOR = ("auditor", "审计管理员")
    MAINTAINER = ("maintainer", "部门维护员")
    INSPECTOR = ("inspector", "检查员")
    DEPT_HEAD = ("dept_head", "部门负责人")
    TASKFORCE = ("taskforce", "工作专班")


class RuleOutcome(LabeledEnum):
    """What a rule demands; the first three are mandatory (they make notices)."""

    MANDATORY_RENEWAL = ("mandatory_renewal", "强制更新")
    PHASE_OUT = ("phase_out", "淘汰")
    SCRAP = ("scrap", "报废")
    SAFETY_ASSESSMENT = ("safety_assessment", "安全评估")
    SUGGESTED_RENEWAL = ("suggested_renewal", "建议更新")

    @property
    def is_mandatory(self) -> bool:
        return self in MANDATORY_OUTCOMES

    @property
    def severity(self) -> int:
        """Return the planning severity: 报废 5 > 淘汰 4 > 强制更新 3 > 安全评估 2 > 建议更新 1."""
        return OUTCOME_SEVERITY[self]

    @classmethod
    def strictest_first(cls, outcomes) -> list["RuleOutcome"]:
        """Return the distinct `outcomes`, the strictest (highest severity) first."""
        return sorted(set(outcomes), key=lambda o: -o.severity)


class NoticeStatus(LabeledEnum):
    """Where a replacement notice stands; a draft has no number until a department head signs it.

    Completed, voided, discarded and superseded are final.
    """

    DRAFT = ("draft", "拟稿")
    ISSUED = ("issued", "已下达")
    SERVED = ("served", "已送达")
    ACKNOWLEDGED = ("acknowledged", "已签收")
    OVERDUE = ("overdue", "已逾期")
    COMPLETED = ("completed", "已完成")
    VOIDED = ("voided", "已作废")  # a signed notice withdrawn: it keeps its number
    DISCARDED = ("discarded", "已撤稿")  # a draft dropped before signing: it never had a number
    SUPERSEDED = ("superseded", "已被替代")  # a draft replaced by one made from newer findings


class CompletionKind(LabeledEnum):
    """The disposal evidence that completes a notice."""

    SCRAP_CERTIFICATE = ("scrap_certificate", "报废证明")
    DEREGISTRATION = ("deregistration", "注销登记")
    REPLACEMENT = ("replacement", "更新替换设备")
    RECORDS = ("records", "处置与更新记录")


# --- disposal and replacement records ------------------------------------------
class DisposalWay(LabeledEnum):
    """How an asset left service."""

    SCRAP_DISMANTLE = ("scrap_dismantle", "报废拆解")
    TRANSFER = ("transfer", "转让")
    REALLOCATION = ("reallocation", "调拨")
    REMANUFACTURE = ("remanufacture", "再制造")


class FundingSource(LabeledEnum):
    """Where the money for a replacement came from (plan 四(三))."""

    CENTRAL_BUDGET = ("central_budget", "中央预算内投资")
    SPECIAL_BONDS = ("special_bonds", "超长期特别国债")
    LOCAL_FISCAL = ("local_fiscal", "地方财政")
    SELF_RAISED = ("self_raised", "自筹")
    LOAN = ("loan", "贷款")
    OTHER = ("other", "其他")


class EfficiencyLevel(LabeledEnum):
    """Energy-efficiency level of a new asset (GB energy-efficiency grades)."""

    ADVANCED = ("advanced", "先进")
    SAVING = ("saving", "节能")
    ENTRY = ("entry", "准入")


# --- elevator ---------------------------------------------------------------
class ElevatorType(LabeledEnum):
    TRACTION = ("traction", "曳引")
    HYDRAULIC = ("hydraulic", "液压")
    ESCALATOR = ("escalator", "自动扶梯")
    MOVING_WALK = ("moving_walk", "自动人行道")


class ConfigurationLevel(LabeledEnum):
    HIGH = ("high", "高")
    MEDIUM = ("medium", "中")
    LOW = ("low", "低")


class AssessmentConclusion(LabeledEnum):
    CONTINUE = ("continue", "继续使用")
    REPAIR = ("repair", "维修后使用")
    RENEW = ("renew", "建议更新")
    SCRAP = ("scrap", "建议报废")


# --- construction machinery -----------------------------------------------
class MachineType(LabeledEnum):
    TOWER_CRANE = ("tower_crane", "塔式起重机")
    CONSTRUCTION_HOIST = ("construction_hoist", "施工升降机")
    EXCAVATOR = ("excavator", "挖掘机")
    LOADER = ("loader", "装载机")
    BULLDOZER = ("bulldozer", "推土机")
    TRUCK_CRANE = ("truck_crane", "汽车起重机")
    ROAD_ROLLER = ("road_roller", "压路机")
    CONCRETE_PUMP = ("concrete_pump", "混凝土泵车")
    OTHER = ("other", "其他")


class HoistType(LabeledEnum):
    SC = ("SC", "SC型（齿轮齿条式）")
    SS = ("SS", "SS型（钢丝绳式）")


class NonRoadEmissionStage(LabeledEnum):
    PRE_STAGE_1 = ("pre1", "国一以前")
    STAGE_1 = ("stage1", "国一")
    STAGE_2 = ("stage2", "国二")
    STAGE_3 = ("stage3", "国三")
    STAGE_4 = ("stage4", "国四")
    ELECTRIC = ("electric", "电动")


class WearGrade(LabeledEnum):
    LIGHT = ("light", "轻微")
    MODERATE = ("moderate", "中等")
    SEVERE = ("severe", "严重")


# --- pipes --------------------------------------------------------------------
class PipeNetwork(LabeledEnum):
    GAS = ("gas", "燃气")
    WATER = ("water", "供水")
    DRAINAGE = ("drainage", "排水")
    HEATING = ("heating", "供热")


class PipeFacilityType(LabeledEnum):
    PIPE = ("pipe", "管段")
    SECONDARY_WATER = ("secondary_water_supply", "二次供水设施")
    STATION = ("station", "场站设施")


class PipeMaterial(LabeledEnum):
    GREY_CAST_IRON = ("grey_cast_iron", "灰口铸铁")
    DUCTILE_IRON = ("ductile_iron", "球墨铸铁")
    STEEL = ("steel", "钢")
    PE = ("pe", "PE")
    PVC = ("pvc", "PVC")
    CEMENT = ("cement", "水泥")
    ASBESTOS = ("asbestos", "石棉")
    CONCRETE = ("concrete", "混凝土")
    FLAT_JOINT_CONCRETE = ("flat_joint_concrete", "平口混凝土")
    OTHER = ("other", "其他")


class HazardAssessment(LabeledEnum):
    NONE = ("none", "无隐患")
    CONTROLLABLE = ("controllable", "隐患可控")
    UNCONTROLLABLE = ("uncontrollable", "隐患不可控")


# --- official cars ----------------------------------------------------------
class CarUseClass(LabeledEnum):
    GENERAL = ("general", "一般公务用车")
    LAW_ENFORCEMENT = ("law_enforcement", "执法执勤用车")
    SPECIAL_TECHNICAL = ("special_technical", "特种专业技术用车")


class VehicleType(LabeledEnum):
    SEDAN = ("sedan", "轿车")
    SUV = ("suv", "越野车/SUV")
    MPV = ("mpv", "多用途乘用车")
    MINIBUS = ("minibus", "小型客车")
    MEDIUM_BUS = ("medium_bus", "中型客车")
    PICKUP = ("pickup", "皮卡")
    SPECIAL = ("special", "专用车")


class EnergyType(LabeledEnum):
    FUEL = ("fuel", "燃油")
    BEV = ("bev", "纯电")
    PHEV = ("phev", "插电混动")
    HEV = ("hev", "油电混动")
    GAS = ("gas", "燃气")


class EmissionStandard(LabeledEnum):
    """China's light-vehicle emission stages (国一 … 国六b), as on the 环保信息随车清单."""

    GUO1 = ("guo1", "国一")
    GUO2 = ("guo2", "国二")
    GUO3 = ("guo3", "国三")
    GUO4 = ("guo4", "国四")
    GUO5 = ("guo5", "国五")
    GUO6A = ("guo6a", "国六a")
    GUO6B = ("guo6b", "国六b")
    NONE = ("none", "无（纯电）")


# --- farm machinery ---------------------------------------------------------
class FarmMachineType(LabeledEnum):
    TRACTOR_LARGE = ("tractor_large", "大型轮式拖拉机")
    TRACTOR_MEDIUM = ("tractor_medium", "中型轮式拖拉机")
    TRACTOR_SMALL = ("tractor_small", "小型拖拉机")
    TRACTOR_CRAWLER = ("tractor_crawler", "履带拖拉机")
    COMBINE_HARVESTER = ("combine_harvester", "自走式联合收割机")
    CORN_HARVESTER = ("corn_harvester", "悬挂式玉米收获机")
    SEEDER = ("seeder", "播种机")
    SPRAYER = ("sprayer", "植保机械")
    OTHER = ("other", "其他")


# --- medical devices --------------------------------------------------------
class DeviceClass(LabeledEnum):
    CLASS_I = ("I", "第一类")
    CLASS_II = ("II", "第二类")
    CLASS_III = ("III", "第三类")


class PlanStatus(LabeledEnum):
    """Workflow of a renewal plan: 草稿 -> 已上报 -> 已审批 -> 已锁定 (a newer locked revision supersedes)."""

    DRAFT = ("draft", "草稿")
    SUBMITTED = ("submitted", "已上报")
    APPROVED = ("approved", "已审批")
    LOCKED = ("locked", "已锁定")
    SUPERSEDED = ("superseded", "已被新修订取代")


class TargetMeasure(LabeledEnum):
    COUNT = ("count", "数量")
    PERCENTAGE = ("percentage", "百分比")


class BaselineMeasure(LabeledEnum):
    """What a 2023 baseline counts: equipment investment (元) per sector, or scrapped cars recycled (辆)."""

    INVESTMENT = ("investment", "设备投资额")
    SCRAPPED_CARS = ("scrapped_cars", "报废汽车回收量")

# --- scheduled jobs and snapshots --------------------------------------------
class TaskStatus(LabeledEnum):
    """A background task (a large import, a batch print) as the person who started it sees it."""
    QUEUED = ("queued", "排队中")
    RUNNING = ("running", "进行中")
    DONE = ("done", "已完成")
    FAILED = ("failed", "失败")


class JobStatus(LabeledEnum):
    QUEUED = ("queued", "排队中")
    RUNNING = ("running", "运行中")
    SUCCEEDED = ("succeeded", "成功")
    FAILED = ("failed", "失败")
    ABANDONED = ("abandoned", "已中断")


class DiffStatus(LabeledEnum):
    """How a snapshot item compares with the previous snapshot."""

    NEW = ("new", "新增")
    STILL_OPEN = ("still_open", "仍未整改")
    RESOLVED = ("resolved", "已消除")


MANDATORY_OUTCOMES = frozenset({RuleOutcome.MANDATORY_RENEWAL, RuleOutcome.PHASE_OUT, RuleOutcome.SCRAP})

# The one order of outcomes (报废 > 淘汰 > 强制更新 > 安全评估 > 建议更新): the planner plans the more final
# first, and a notice names an asset's strictest outcome.
OUTCOME_SEVERITY = {RuleOutcome.SCRAP: 5, RuleOutcome.PHASE_OUT: 4, RuleOutcome.MANDATORY_RENEWAL: 3,
                    RuleOutcome.SAFETY_ASSESSMENT: 2, RuleOutcome.SUGGESTED_RENEWAL: 1}

ALL_ENUMS: tuple[type[LabeledEnum], ...] = tuple(
    obj for obj in list(globals().values())
    if isinstance(obj, type) and issubclass(obj, LabeledEnum) and obj is not LabeledEnum
)

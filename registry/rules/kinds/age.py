"""Age kinds: age_over, age_and_condition, past_design_life, age_by_band, age_by_class."""
from __future__ import annotations

from registry.enums import ConditionGrade
from registry.rules import atoms
from registry.rules.kinds.base import register
from registry.rules.tree import AllOf, AnyOf


def _grade(checker, params, key="grade"):
    value = params.get(key, "poor")
    if value not in ConditionGrade.values():
        checker.fail(key, f"状况等级必须是 {'、'.join(g.value + '（' + g.label + '）' for g in ConditionGrade)} 之一"
                          f"（当前：{value!r}）")
    return value


@register("age_over", "使用年限超过/达到 N 年")
class AgeOver:
    """Age from a named date over N years (超过) or N years and above (以上)."""

    @staticmethod
    def validate(checker, params):
        return {"years": checker.years(params), "reading": checker.reading(params),
                "date_field": checker.date_field(params)}

    @staticmethod
    def build(params, category, as_of):
        return atoms.age(category, params["date_field"], params["years"], params["reading"] == "at_least", as_of)


@register("age_and_condition", "使用年限达到 N 年且状况等级不高于某级")
class AgeAndCondition:
    """Age threshold AND condition grade at or below a grade (XZ-12: 8 年以上且车况较差)."""

    @staticmethod
    def validate(checker, params):
        return {"years": checker.years(params), "reading": checker.reading(params, "at_least"),
                "date_field": checker.date_field(params), "grade": _grade(checker, params)}

    @staticmethod
    def build(params, category, as_of):
        return AllOf([atoms.age(category, params["date_field"], params["years"], params["reading"] == "at_least", as_of),
                      atoms.grade_at_or_below(category, params["grade"])])


@register("past_design_life", "超过设计（规定）使用年限")
class PastDesignLife:
    """Age from a named date past the asset's own design or specified service life."""

    @staticmethod
    def validate(checker, params):
        life = params.get("life_field", "design_life_years")
        if life not in ("design_life_years", "specified_service_life_years"):
            checker.fail("life_field", f"年限字段必须是 design_life_years 或 specified_service_life_years（当前：{life!r}）")
        elif checker.field({"life_field": life}, "life_field", ("number",)) is None:
            pass
        return {"date_field": checker.date_field(params), "life_field": life, "reading": checker.reading(params)}

    @staticmethod
    def build(params, category, as_of):
        return atoms.past_life(category, params["date_field"], params["life_field"],
                               params["reading"] == "at_least", as_of)


@register("age_by_band", "按数值分档的使用年限")
class AgeByBand:
    """Age threshold chosen by bands of a numeric attribute (e.g. a tower crane's rated moment)."""

    @staticmethod
    def validate(checker, params):
        checker.field(params, "attribute", ("number",))
        bands = params.get("bands")
        clean = []
        if not isinstance(bands, list) or not bands:
            checker.fail("bands", "必须是非空的分档列表，如 [{\"max\": 630, \"years\": 10}]")
            bands = []
        for i, band in enumerate(bands, 1):
            if not isinstance(band, dict):
                checker.fail("bands", f"第 {i} 档必须是对象")
                continue
            low = checker.number(band, "min", required=False)
            high = checker.number(band, "max", required=False)
            if low is not None and high is not None and high <= low:
                checker.fail("bands", f"第 {i} 档上限 {high:g} 不大于下限 {low:g}")
            clean.append({"min": low, "max": high, "years": checker.years(band)})
        return {"attribute": params.get("attribute"), "unit": str(params.get("unit", "")), "bands": clean,
                "reading": checker.reading(params), "date_field": checker.date_field(params)}

    @staticmethod
    def build(params, category, as_of):
        inclusive = params["reading"] == "at_least"
        return AnyOf([AllOf([atoms.number_between(category, params["attribute"], b["min"], b["max"], params["unit"],
                                                  show_value=False),
                             atoms.age(category, params["date_field"], b["years"], inclusive, as_of)])
                      for b in params["bands"]], first_only=True)


@register("age_by_class", "按类型区分的使用年限")
class AgeByClass:
    """Age threshold chosen by an enumerated attribute (e.g. hoist SC 8 years, SS 5 years)."""

    @staticmethod
    def validate(checker, params):
        field = checker.field(params, "attribute", ("enum",))
        classes = params.get("classes")
        clean = {}
        if not isinstance(classes, dict) or not classes:
            checker.fail("classes", "必须是非空对象，如 {\"SC\": 8, \"SS\": 5}")
        elif field is not None:
            checker.enum_values(field, list(classes), "classes")
            for value, years in classes.items():
                clean[value] = checker.years({"years": years})
        return {"attribute": params.get("attribute"), "classes": clean, "reading": checker.reading(params),
                "date_field": checker.date_field(params)}

    @staticmethod
    def build(params, category, as_of):
        inclusive = params["reading"] == "at_least"
        return AnyOf([AllOf([atoms.enum_in(category, params["attribute"], [value]),
                             atoms.age(category, params["date_field"], years, inclusive, as_of)])
                      for value, years in params["classes"].items()], first_only=True)

"""Attribute kinds: flag_set, material_in, enum_in, number_at_least, condition_at_or_below."""
from __future__ import annotations

from registry.rules import atoms
from registry.rules.kinds.age import _grade
from registry.rules.kinds.base import register
from registry.rules.tree import AllOf, AnyOf


@register("flag_set", "标记为真（任一/全部）")
class FlagSet:
    """One or several yes/no attributes holding given values; "any" or "all" of them."""

    @staticmethod
    def validate(checker, params):
        flags = params.get("flags")
        clean = {}
        if isinstance(flags, list):  # shorthand: a list of flags that must be true
            flags = {name: True for name in flags}
        if not isinstance(flags, dict) or not flags:
            checker.fail("flags", "必须是非空对象，如 {\"safety_hazard\": true}")
            flags = {}
        for name, expected in flags.items():
            if checker.field({"flag": name}, "flag", ("bool",)) is None:
                continue
            if not isinstance(expected, bool):
                checker.fail("flags", f"{name} 的取值必须是 true 或 false")
                continue
            clean[name] = expected
        mode = params.get("mode", "any")
        if mode not in ("any", "all"):
            checker.fail("mode", f"必须是 any（任一）或 all（全部）（当前：{mode!r}）")
        return {"flags": clean, "mode": mode}

    @staticmethod
    def build(params, category, as_of):
        parts = [atoms.flag(category, name, expected) for name, expected in params["flags"].items()]
        if len(parts) == 1:
            return parts[0]
        return AnyOf(parts) if params["mode"] == "any" else AllOf(parts)


@register("enum_in", "取值属于列表")
class EnumIn:
    """An enumerated attribute (assessment conclusion, emission stage …) in a list of values."""

    @staticmethod
    def validate(checker, params):
        field = checker.field(params, "field", ("enum",))
        values = checker.enum_values(field, params.get("values")) if field else []
        return {"field": params.get("field"), "values": values}

    @staticmethod
    def build(params, category, as_of):
        return atoms.enum_in(category, params["field"], params["values"])


@register("material_in", "管材属于列表")
class MaterialIn:
    """A pipe's material in a list (e.g. 灰口铸铁, 水泥, 石棉)."""

    @staticmethod
    def validate(checker, params):
        field = checker.field({"field": "material"}, "field", ("enum",))
        return {"values": checker.enum_values(field, params.get("values")) if field else []}

    @staticmethod
    def build(params, category, as_of):
        return atoms.enum_in(category, "material", params["values"])


@register("number_at_least", "数值达到阈值")
class NumberAtLeast:
    """A numeric attribute at or above a threshold (faults in 12 months, odometer km)."""

    @staticmethod
    def validate(checker, params):
        checker.field(params, "field", ("number",))
        return {"field": params.get("field"), "min": checker.number(params, "min"), "unit": str(params.get("unit", ""))}

    @staticmethod
    def build(params, category, as_of):
        return atoms.number_between(category, params["field"], params["min"], None, params["unit"])


@register("condition_at_or_below", "状况等级不高于某级")
class ConditionAtOrBelow:
    """Condition grade at or below a grade of 好 / 较好 / 一般 / 较差 / 差."""

    @staticmethod
    def validate(checker, params):
        return {"grade": _grade(checker, params)}

    @staticmethod
    def build(params, category, as_of):
        return atoms.grade_at_or_below(category, params["grade"])

"""Composite kinds: any_of / all_of over sub-conditions, and the elevator renewal rule."""
from __future__ import annotations

from registry.rules import atoms
from registry.rules.kinds.base import ParamErrors, build_condition, register, validate_params, UnknownKind
from registry.rules.tree import AllOf, AnyOf


def _terms(checker, params):
    terms = params.get("terms")
    clean = []
    if not isinstance(terms, list) or not terms:
        checker.fail("terms", "必须是非空的条件列表，每项形如 {\"kind\": ..., \"params\": {...}}")
        return clean
    for i, term in enumerate(terms, 1):
        kind = term.get("kind") if isinstance(term, dict) else None
        prefix = f"terms[{i}]."
        try:
            sub = validate_params(kind, checker.category, term.get("params", {}), checker.prefix + prefix)
        except UnknownKind as exc:
            checker.fail(prefix + "kind", str(exc))
            continue
        except ParamErrors as exc:
            for key, messages in exc.errors.items():
                checker.errors.setdefault(key, []).extend(messages)
            continue
        clean.append({"kind": kind, "params": sub})
    return clean


@register("any_of", "满足任一条件")
class AnyOfKind:
    """Hit when any of the sub-conditions holds (XZ-8b: past life, or hazard without repair value, or …)."""

    @staticmethod
    def validate(checker, params):
        return {"terms": _terms(checker, params)}

    @staticmethod
    def build(params, category, as_of):
        return AnyOf([build_condition(t["kind"], t["params"], category, as_of) for t in params["terms"]])


@register("all_of", "同时满足全部条件")
class AllOfKind:
    """Hit when every sub-condition holds."""

    @staticmethod
    def validate(checker, params):
        return {"terms": _terms(checker, params)}

    @staticmethod
    def build(params, category, as_of):
        return AllOf([build_condition(t["kind"], t["params"], category, as_of) for t in params["terms"]])


@register("elevator_renewal", "老旧电梯：年限，或年限加评估/故障率")
class ElevatorRenewal:
    """N years and above; or M years and above with an assessment saying renew or faults >= a threshold."""

    @staticmethod
    def validate(checker, params):
        years = checker.years(params, "years", 20)
        assessed = checker.years(params, "assessed_years", 15)
        if years and assessed and assessed > years:
            checker.fail("assessed_years", f"评估年限 {assessed} 不应大于直接更新年限 {years}")
        field = checker.field({"f": "assessment_conclusion"}, "f", ("enum",))
        values = checker.enum_values(field, params.get("assessment_values", ["renew", "scrap"]),
                                     "assessment_values") if field else []
        faults = params.get("fault_threshold", 6)
        if isinstance(faults, bool) or not isinstance(faults, int) or faults < 1:
            checker.fail("fault_threshold", f"故障次数阈值必须是正整数（当前：{faults!r}）")
        return {"years": years, "assessed_years": assessed, "assessment_values": values,
                "fault_threshold": faults, "reading": checker.reading(params, "at_least"),
                "date_field": checker.date_field(params)}

    @staticmethod
    def build(params, category, as_of):
        inclusive = params["reading"] == "at_least"
        return AnyOf([
            atoms.age(category, params["date_field"], params["years"], inclusive, as_of),
            AllOf([atoms.age(category, params["date_field"], params["assessed_years"], inclusive, as_of),
                   AnyOf([atoms.enum_in(category, "assessment_conclusion", params["assessment_values"]),
                          atoms.number_between(category, "faults_last_12m", params["fault_threshold"], None, "次")])]),
        ], first_only=True)

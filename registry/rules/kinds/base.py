"""The kind registry and the parameter checks shared by every kind."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

import sqlalchemy as sa

from registry.assets.models import DETAIL_MODELS, Asset
from registry.enums import Category
from registry.rules.fields import DATE_FIELDS, Field, resolve


class UnknownKind(LookupError):
    """A rule names a kind the engine does not have: never evaluated silently."""


class ParamErrors(Exception):
    """Collected parameter problems: {param: [Chinese messages]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Kind:
    """A rule kind: its Chinese label, its parameter check and its condition builder."""

    name: str
    label: str
    validate: Callable[["Checker", dict], dict]
    build: Callable[[dict, Category, date], Any]


KINDS: dict[str, Kind] = {}


def register(name: str, label: str):
    """Register a kind from a module-level (validate, build) pair."""
    def decorate(cls):
        KINDS[name] = Kind(name, label, cls.validate, cls.build)
        return cls
    return decorate


def get_kind(name: str) -> Kind:
    """Return the kind called `name`, or raise UnknownKind."""
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(f"未知的规则类型：{name}") from None


class Checker:
    """Reads and checks parameters for one category, collecting Chinese messages."""

    def __init__(self, category: Category, prefix: str = ""):
        self.category = category
        self.prefix = prefix
        self.errors: dict[str, list[str]] = {}

    def fail(self, key: str, message: str) -> None:
        """Record a problem with parameter `key`."""
        self.errors.setdefault(self.prefix + key, []).append(message)

    def years(self, params: dict, key: str = "years", default=None) -> int | None:
        """Return a positive whole number of years (1..100)."""
        value = params.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            self.fail(key, f"年限必须是 1 到 100 之间的整数（当前：{value!r}）")
            return None
        return value

    def number(self, params: dict, key: str, required: bool = True, minimum: float = 0) -> float | None:
        """Return a number >= minimum (or None when optional and absent)."""
        value = params.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            self.fail(key, f"必须是不小于 {minimum:g} 的数值（当前：{value!r}）")
            return None
        return value

    def reading(self, params: dict, default: str = "over") -> str:
        """Return the reading of the threshold: "over" (超过, exclusive) or "at_least" (以上, inclusive)."""
        value = params.get("reading", default)
        if value not in ("over", "at_least"):
            self.fail("reading", f"读法必须是 over（超过，不含本数）或 at_least（以上，含本数）（当前：{value!r}）")
            return default
        return value

    def date_field(self, params: dict, default: str = "commissioned_on") -> str:
        """Return the name of the date an age is counted from."""
        value = params.get("date_field", default)
        if value not in DATE_FIELDS:
            self.fail("date_field", f"起算日期必须是 {'、'.join(DATE_FIELDS)} 之一（当前：{value!r}）")
            return default
        return value

    def field(self, params: dict, key: str, kinds: tuple[str, ...]) -> Field | None:
        """Return the asset/detail field named by params[key], checking its type family."""
        name = params.get(key)
        field = resolve(self.category, name) if isinstance(name, str) else None
        if field is None:
            self.fail(key, f"{self.category.label}没有字段 {name!r}")
            return None
        family = _family(self.category, field)
        if family not in kinds:
            self.fail(key, f"字段 {name} 的类型不适用于此规则类型")
            return None
        return field

    def enum_values(self, field: Field, values, key: str = "values") -> list[str]:
        """Return a non-empty list of valid stored values of `field`'s enumeration."""
        if not isinstance(values, list) or not values:
            self.fail(key, "必须是非空列表")
            return []
        allowed = field.enum.values() if field.enum else []
        bad = [v for v in values if v not in allowed]
        if bad:
            self.fail(key, f"{field.label}没有取值 {'、'.join(map(str, bad))}；可选：{'、'.join(allowed)}")
        return [v for v in values if v in allowed]


def _family(category: Category, field: Field) -> str:
    """Return "date", "enum", "bool", "number" or "text" for a field."""
    if field.name == "age_start":
        return "date"
    if field.enum is not None:
        return "enum"
    table = DETAIL_MODELS[category].__table__ if field.on_detail else Asset.__table__
    col_type = table.c[field.name].type
    if isinstance(col_type, sa.Boolean):
        return "bool"
    if isinstance(col_type, sa.Date):
        return "date"
    if isinstance(col_type, (sa.Integer, sa.Numeric)):
        return "number"
    return "text"


def validate_params(kind_name: str, category: Category, params: dict, prefix: str = "") -> dict:
    """Check `params` for `kind_name`; return the cleaned params or raise ParamErrors / UnknownKind."""
    kind = get_kind(kind_name)
    if not isinstance(params, dict):
        raise ParamErrors({prefix + "params": ["参数必须是一个对象（JSON 字典）"]})
    checker = Checker(category, prefix)
    clean = kind.validate(checker, params)
    if checker.errors:
        raise ParamErrors(checker.errors)
    return clean


def build_condition(kind_name: str, params: dict, category: Category, as_of: date):
    """Return the three-valued condition of a rule as of `as_of`."""
    return get_kind(kind_name).build(params, category, as_of)

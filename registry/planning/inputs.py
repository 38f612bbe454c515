"""Validate what a user asks the planner: year range, quotas, budgets, pin years (Chinese messages)."""
from __future__ import annotations

from datetime import date

from registry.enums import Category
from registry.errors import ValidationFailed
from registry.inputs import NumberError, parse_number, show

# The period of 新政〔2024〕3号: renewal runs from 2024 to 2027.
PLAN_PERIOD = (2024, 2027)


def open_years(today: date) -> list[int]:
    """Return the plan years still ahead of (or at) `today`: the years a new plan offers by default."""
    first = min(max(today.year, PLAN_PERIOD[0]), PLAN_PERIOD[1])
    return list(range(first, PLAN_PERIOD[1] + 1))


def form_years(year_from, year_to) -> list[int]:
    """Return the years a submitted form asked for, within the plan period (empty if they do not parse)."""
    years = []
    for raw in (year_from, year_to):
        text = str(raw or "").strip()
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            return []
        years.append(int(text))
    lo, hi = max(years[0], PLAN_PERIOD[0]), min(years[1], PLAN_PERIOD[1])
    return list(range(lo, hi + 1))


MAX_COST = 10**12  # 元 per asset: far above any real price, far below the BIGINT column and its sums
MAX_QUOTA = 10**6  # assets per category and year: above the inventory's size
MAX_BUDGET = 10**13  # 元 per year: far above the city's budget, within the JSON column's and the sums' reach


def _int(value, *, field: str, label: str, errors: dict, minimum: int | None = None,
         maximum: int | None = None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:  # bounded by length and magnitude before conversion: "1e400000" must not become an int
        number = parse_number(value, integer=True)
    except NumberError as exc:
        errors.setdefault(field, []).append(f"{label}必须是整数：{exc.message}")
        return None
    if minimum is not None and number < minimum:
        errors.setdefault(field, []).append(f"{label}不能小于 {minimum}（当前：{show(value)}）")
        return None
    if maximum is not None and number > maximum:
        errors.setdefault(field, []).append(f"{label}不能大于 {maximum}（当前：{show(value)}）")
        return None
    return number


def parse_years(year_from, year_to) -> tuple[int, int]:
    """Return (from, to) or raise ValidationFailed: both years in 2024–2027 and not backwards."""
    errors: dict = {}
    lo, hi = PLAN_PERIOD
    start = _int(year_from, field="year_from", label="起始年度", errors=errors)
    end = _int(year_to, field="year_to", label="截止年度", errors=errors)
    if start is None and "year_from" not in errors:
        errors["year_from"] = ["请填写起始年度"]
    if end is None and "year_to" not in errors:
        errors["year_to"] = ["请填写截止年度"]
    for field, year, label in (("year_from", start, "起始年度"), ("year_to", end, "截止年度")):
        if year is not None and not lo <= year <= hi:
            errors.setdefault(field, []).append(f"{label} {year} 超出方案期限（{lo}—{hi} 年）")
    if start is not None and end is not None and start > end and not errors:
        errors["year_to"] = [f"年度范围颠倒：截止年度 {end} 早于起始年度 {start}"]
    if errors:
        raise ValidationFailed("年度范围有误", errors)
    return start, end


def _per_year(raw: dict, years: list[int], errors: dict, *, field: str, year_label: str, value_label,
              maximum: int) -> dict[str, int]:
    """Return {year: whole number ≥ 0} from {year: value}; a year outside `years` or a bad value goes to `errors`."""
    clean: dict[str, int] = {}
    for year_key, value in raw.items():
        key = f"{field}.{show(year_key, 8)}"
        year = _int(year_key, field=key, label=year_label, errors=errors)
        if year is not None and year not in years:
            errors.setdefault(key, []).append(f"{year_label} {year} 不在计划年度范围内")
            continue
        number = _int(value, field=key, label=value_label(year_key), errors=errors, minimum=0, maximum=maximum)
        if number is not None and year is not None:
            clean[str(year)] = number
    return clean


def parse_quotas(raw: dict | None, years: list[int]) -> dict[str, dict[str, int]]:
    """Return {category: {year: count}} from {category: {year: value}}; blank = no limit; raise on bad values."""
    errors: dict = {}
    clean: dict[str, dict[str, int]] = {}
    if raw is not None and not isinstance(raw, dict):
        raise ValidationFailed("配额格式有误", {"quotas": ["应为 {类别: {年度: 数量}}"]})
    for cat_key, per_year in (raw or {}).items():
        try:
            cat = Category.from_label(cat_key)
        except KeyError:
            errors.setdefault("quotas", []).append(f"未知的设备类别：{show(cat_key)}")
            continue
        if not isinstance(per_year, dict):
            errors.setdefault(f"quotas.{cat.value}", []).append(f"{cat.label}配额应按年度填写")
            continue
        counts = _per_year(per_year, years, errors, field=f"quotas.{cat.value}", year_label=f"{cat.label}配额年度",
                           value_label=lambda key: f"{cat.label} {show(key)} 年配额", maximum=MAX_QUOTA)
        if counts:
            clean.setdefault(cat.value, {}).update(counts)
    if errors:
        raise ValidationFailed("配额有误：须为不小于 0 的整数", errors)
    return clean


def parse_budgets(raw: dict | None, years: list[int]) -> dict[str, int]:
    """Return {year: 元} from {year: value}; blank = no budget limit; raise on negative or non-numeric values."""
    errors: dict = {}
    if raw is not None and not isinstance(raw, dict):
        raise ValidationFailed("预算格式有误", {"budgets": ["应为 {年度: 金额（元）}"]})
    clean = _per_year(raw or {}, years, errors, field="budgets", year_label="预算年度",
                      value_label=lambda key: f"{show(key)} 年预算（元）", maximum=MAX_BUDGET)
    if errors:
        raise ValidationFailed("预算有误：须为不小于 0 的整数金额（元）", errors)
    return clean


def parse_pin_year(value, years: list[int]) -> int:
    """Return the year to pin to, or raise when it is not a number or outside the plan's years."""
    errors: dict = {}
    year = _int(value, field="year", label="年度", errors=errors)
    if year is None and not errors:
        errors["year"] = ["请填写年度"]
    elif year is not None and year not in years:
        errors["year"] = [f"年度 {year} 不在本计划的年度范围（{years[0]}—{years[-1]} 年）内"]
    if errors:
        raise ValidationFailed("指定年度有误", errors)
    return year


def parse_cost(value, label: str) -> int:
    """Return a non-negative whole-yuan cost or raise."""
    errors: dict = {}
    cost = _int(value, field="unit_cost", label=label, errors=errors, minimum=0, maximum=MAX_COST)
    if cost is None and not errors:
        errors["unit_cost"] = [f"请填写{label}"]
    if errors:
        raise ValidationFailed("估算费用有误", errors)
    return cost

"""Rule versions: validate a rule, save an edit as a new version, load the shipped packs."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry.audit import services as audit
from registry.config import DEADLINE_DAYS_MAX, DEADLINE_DAYS_MIN
from registry.enums import Category, RuleOutcome
from registry.errors import Conflict, NotFound, ValidationFailed
from registry.extensions import db
from registry.rules.fields import resolve
from registry.rules.kinds import KINDS, ParamErrors, UnknownKind, validate_params
from registry.rules.models import Rule
from registry.rules.packs import NATIONAL_PACK, PLAN_PACK

EDITABLE = ("title", "citation", "kind", "params", "outcome", "deadline_policy", "effective_from", "effective_to",
            "enabled", "notes", "verified")


def _date(value, key, errors):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(key, []).append(f"日期格式应为 YYYY-MM-DD（当前：{value!r}）")
        return None


def _days(value, label: str, errors) -> int | None:
    """Return `value` as a whole number of days in range, or record a Chinese error naming `label`."""
    if isinstance(value, bool) or not isinstance(value, int) or not DEADLINE_DAYS_MIN <= value <= DEADLINE_DAYS_MAX:
        errors.setdefault("deadline_policy", []).append(
            f"{label}必须是 {DEADLINE_DAYS_MIN} 到 {DEADLINE_DAYS_MAX} 之间的整数（当前：{value!r}）")
        return None
    return value


def _deadline(policy, errors):
    if policy in (None, {}, ""):
        return None
    if not isinstance(policy, dict) or policy.get("type") not in ("fixed", "days_after_notice"):
        errors.setdefault("deadline_policy", []).append(
            "整改期限必须是 {\"type\": \"fixed\", \"date\": \"YYYY-MM-DD\"[, \"late_days\": N]} 或 "
            "{\"type\": \"days_after_notice\", \"days\": N}")
        return None
    if policy["type"] == "fixed":
        day = _date(policy.get("date"), "deadline_policy", errors)
        if day is None:
            errors.setdefault("deadline_policy", []).append("固定期限须填写日期")
            return None
        clean = {"type": "fixed", "date": day.isoformat()}
        # late_days: the notice's deadline, counted from its date, once the fixed date has passed.
        if policy.get("late_days") not in (None, ""):
            late = _days(policy["late_days"], "固定日期已过时的通知后天数", errors)
            if late is None:
                return None
            clean["late_days"] = late
        return clean
    days = _days(policy.get("days"), "通知后天数", errors)
    return None if days is None else {"type": "days_after_notice", "days": days}


def _scope(category: Category, scope, errors) -> dict | None:
    if not scope:
        return None
    if not isinstance(scope, dict):
        errors.setdefault("params.scope", []).append("适用范围必须是对象，如 {\"facility_type\": [\"pipe\"]}")
        return None
    clean = {}
    for name, values in scope.items():
        field = resolve(category, name)
        allowed = field.scope_values() if field is not None else None
        if allowed is None:
            errors.setdefault("params.scope", []).append(f"{category.label}没有可用于限定范围的字段 {name!r}")
            continue
        # null in the list keeps assets that leave the field empty within the rule's reach.
        if (not isinstance(values, list) or not [v for v in values if v is not None]
                or any(v is not None and (v not in allowed or isinstance(v, bool) != field.boolean) for v in values)):
            shown = "true、false" if field.boolean else "、".join(allowed)
            errors.setdefault("params.scope", []).append(
                f"{field.label}的取值必须是 {shown} 中的若干项，可加 null 表示未填写的也适用（当前：{values!r}）")
            continue
        clean[name] = list(values)
    return clean


def validate_rule(data: dict) -> dict:
    """Check a whole rule definition; return cleaned values or raise ValidationFailed (Chinese messages)."""
    errors: dict[str, list[str]] = {}
    clean = dict(data)
    try:
        category = Category(data.get("category"))
    except ValueError:
        raise ValidationFailed("规则定义有误", {"category": [f"未知的设备类别：{data.get('category')!r}"]}) from None
    clean["category"] = category
    try:
        clean["outcome"] = RuleOutcome(data.get("outcome"))
    except ValueError:
        errors.setdefault("outcome", []).append(
            f"处理结果必须是 {'、'.join(o.value + '（' + o.label + '）' for o in RuleOutcome)} 之一")
    for key in ("title", "citation"):
        if not str(data.get(key) or "").strip():
            errors.setdefault(key, []).append("不能为空")
    params = dict(data.get("params") or {}) if isinstance(data.get("params"), dict) else data.get("params")
    scope = params.pop("scope", None) if isinstance(params, dict) else None
    kind = data.get("kind")
    if kind not in KINDS:
        errors.setdefault("kind", []).append(f"未知的规则类型：{kind!r}；可选：{'、'.join(sorted(KINDS))}")
    else:
        try:
            params = validate_params(kind, category, params)
        except ParamErrors as exc:
            for key, messages in exc.errors.items():
                errors.setdefault(f"params.{key}", []).extend(messages)
        except UnknownKind as exc:
            errors.setdefault("kind", []).append(str(exc))
    scope = _scope(category, scope, errors)
    if isinstance(params, dict) and scope:
        params["scope"] = scope
    clean["params"] = params
    clean["deadline_policy"] = _deadline(data.get("deadline_policy"), errors)
    clean["effective_from"] = _date(data.get("effective_from"), "effective_from", errors)
    clean["effective_to"] = _date(data.get("effective_to"), "effective_to", errors)
    if clean["effective_from"] and clean["effective_to"] and clean["effective_to"] < clean["effective_from"]:
        errors.setdefault("effective_to", []).append(
            f"失效日期 {clean['effective_to']} 早于生效日期 {clean['effective_from']}")
    if errors:
        raise ValidationFailed("规则参数有误，未保存", errors)
    return clean


def current_rules() -> list[Rule]:
    """Return the current version of every rule: the city pack first, then by code."""
    return list(db.session.scalars(sa.select(Rule).where(Rule.is_current.is_(True))
                                   .order_by(Rule.pack.desc(), Rule.code)))


def current_rule(code: str) -> Rule:
    """Return the current version of rule `code`, or raise NotFound."""
    rule = db.session.scalar(sa.select(Rule).where(Rule.code == code, Rule.is_current.is_(True)))
    if rule is None:
        raise NotFound(f"规则 {code} 不存在")
    return rule


def rule_versions(code: str) -> list[Rule]:
    """Return every version of rule `code`, newest first."""
    return list(db.session.scalars(sa.select(Rule).where(Rule.code == code).order_by(Rule.version.desc())))


def proposed(rule: Rule, changes: dict) -> dict:
    """Return the full definition `rule` would have after `changes` (validated)."""
    data = {k: getattr(rule, k) for k in EDITABLE}
    data.update({"code": rule.code, "category": rule.category.value, "outcome": rule.outcome.value,
                 "pack": rule.pack})
    data.update({k: v for k, v in changes.items() if k in EDITABLE})
    return validate_rule(data)


def save_new_version(code: str, changes: dict, user_id: int | None = None) -> Rule:
    """Save `changes` to rule `code` as a new version; the old version stays for its findings."""
    old = current_rule(code)
    clean = proposed(old, changes)
    if clean.get("enabled") and not clean.get("verified", True):
        raise ValidationFailed("未核实的规则不能启用", {"enabled": ["请先确认规则依据并勾选“已核实”后再启用"]})
    new = Rule(code=old.code, version=old.version + 1, category=old.category, pack=old.pack, is_current=True,
               created_by=user_id, **{k: clean[k] for k in EDITABLE})
    old.is_current = False
    try:
        db.session.flush()  # the old row stops being current before the new one arrives
        db.session.add(new)
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"规则 {code} 刚被他人修改（第 {new.version} 版已存在），请刷新后重试") from None
    before = {k: _plain(getattr(old, k)) for k in EDITABLE}
    after = {k: _plain(getattr(new, k)) for k in EDITABLE}
    audit.record("rules.version", object_type="rule", object_id=f"{code} v{new.version}",
                 details={"before": {k: v for k, v in before.items() if v != after[k]},
                          "after": {k: v for k, v in after.items() if v != before[k]}})
    db.session.commit()
    return new


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)


def seed_packs(packs: tuple[str, ...] = ("plan", "national")) -> int:
    """Load the shipped packs; rules whose code exists are left alone (idempotent). Return rows added."""
    existing = set(db.session.scalars(sa.select(Rule.code)))
    added = 0
    for pack, rows in (("plan", PLAN_PACK), ("national", NATIONAL_PACK)):
        if pack not in packs:
            continue
        for row in rows:
            if row["code"] in existing:
                continue
            clean = validate_rule(row)
            # The plan pack is on by default; the national pack is optional and ships switched off.
            enabled = pack == "plan"
            db.session.add(Rule(code=row["code"], version=1, category=clean["category"], pack=pack,
                                is_current=True, enabled=enabled, verified=row["verified"],
                                **{k: clean[k] for k in EDITABLE if k not in ("enabled", "verified")}))
            added += 1
    if added:
        from registry.audit import services as audit
        audit.record("rules.seed", object_type="rule", details={"added": added, "packs": list(packs)})
    db.session.commit()
    return added

"""Notice body templates: one per outcome, stored in the database, with validated placeholders."""
from __future__ import annotations

import re
from string import Formatter

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry.audit import services as audit
from registry.enums import MANDATORY_OUTCOMES, RuleOutcome
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.notices.models import NoticeTemplate
from registry.transactions import atomic

# Placeholder -> what it becomes (shown to administrators on the edit page).
PLACEHOLDERS: dict[str, str] = {
    "产权单位": "收文的产权单位名称",
    "发文机关": "发文部门全称",
    "联系方式": "发文部门联系方式",
    "设备": "设备名称及编号；多台时为“某某等N台设备”",
    "设备数量": "设备台数",
    "触发情形": "触发规则的情形及数据；多台时提示见附件",
    "依据": "依据条款，按文件归并，如 新政〔2024〕3号二（三）8、9",
    "期限": "整改期限（完整日期）；各设备期限不同时为“附件所列各设备整改期限（最早为某日）”",
    "期限说明": "规定的完成期限在发文时已过时，说明该日期已过及重新起算的天数；否则为空",
    "处理要求": "处理要求：强制更新、淘汰或报废",
}

_COMMON_TAIL = ("{期限说明}请你单位于{期限}前完成上述设备的{处理要求}工作，并将报废证明、注销登记凭证或更新设备登记信息"
                "报送{发文机关}。逾期未完成的，将依法依规督促整改。\n联系方式：{联系方式}。")
DEFAULTS: dict[RuleOutcome, tuple[str, str]] = {
    RuleOutcome.MANDATORY_RENEWAL: (
        "关于设备强制更新的通知书",
        "经核查，你单位的{设备}：{触发情形}。根据{依据}的规定，上述设备属于强制更新范围。\n" + _COMMON_TAIL),
    RuleOutcome.PHASE_OUT: (
        "关于设备限期淘汰的通知书",
        "经核查，你单位的{设备}：{触发情形}。根据{依据}的规定，上述设备应予淘汰。\n" + _COMMON_TAIL),
    RuleOutcome.SCRAP: (
        "关于设备限期报废的通知书",
        "经核查，你单位的{设备}：{触发情形}。根据{依据}的规定，上述设备应予报废。\n" + _COMMON_TAIL),
}


def validate_text(title: str, body: str) -> None:
    """Raise ValidationFailed naming each unknown or malformed placeholder."""
    errors: dict[str, list[str]] = {}
    for field, text, limit in (("title", title, 120), ("body", body, 4000)):
        if not text or not text.strip():
            errors.setdefault(field, []).append("不能为空")
            continue
        if len(text) > limit:
            errors.setdefault(field, []).append(f"不能超过 {limit} 个字符")
        try:
            parsed = list(Formatter().parse(text))
        except ValueError:
            errors.setdefault(field, []).append("花括号不成对：占位符须写成 {名称}，文字中的花括号写成 {{ 和 }}")
            continue
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if name in PLACEHOLDERS and (spec or conversion):
                errors.setdefault(field, []).append(f"占位符 {{{name}}} 不能带格式说明，请写成 {{{name}}}")
            elif name not in PLACEHOLDERS:
                errors.setdefault(field, []).append(
                    f"未知占位符 {{{name}}}；可用占位符：" + "、".join("{" + p + "}" for p in PLACEHOLDERS))
        if field == "body" and not any(name == "期限" for _l, name, _s, _c in parsed):
            errors.setdefault(field, []).append("正文须含占位符 {期限}：通知书必须写明整改期限")
    if errors:
        raise ValidationFailed("通知书模板有误：" + "；".join(f"{k}: {'；'.join(v)}" for k, v in errors.items()),
                               errors)


def fill(text: str, values: dict[str, str]) -> str:
    """Fill a validated template's placeholders."""
    return text.format_map(values)


def fill_body(body: str, values: dict[str, str]) -> str:
    """Fill a body template; a template without {期限说明} still says a passed date has passed.

    Templates saved before {期限说明} existed get the statement at the start of the paragraph that
    states the deadline, so no notice gives a new deadline without saying why.
    """
    note = values.get("期限说明", "")
    if note and "{期限说明}" not in body:
        lines = body.splitlines()
        at = next((n for n, line in enumerate(lines) if "{期限}" in line), len(lines) - 1)
        lines[at] = "{期限说明}" + lines[at]
        body = "\n".join(lines)
    return fill(body, values)


_CLAUSE_NUMBER = re.compile(r"^(.*?)(\d+)$")


def split_citation(citation: str) -> tuple[str, str]:
    """Split 「新政〔2024〕3号 二（三）8」 into document and clause at the last space.

    The tail is a clause only when it opens with a Chinese character (二（三）8, 第3.0.2条, 燃气管道);
    「GB/T 16877-2008」 is all document.
    """
    doc, sep, clause = citation.strip().rpartition(" ")
    clause = clause.strip()
    if sep and doc.strip() and clause and not clause[0].isascii():
        return doc.strip(), clause
    return citation.strip(), ""


def citations_text(citations) -> str:
    """Group citations by document, each named once: 「新政〔2024〕3号二（三）8、9、JGJ/T 189-2009第3.0.2条」.

    Clauses of one document that differ only in their final number share the prefix (二（三）8、9).
    Documents keep the order in which they first appear (the strictest finding's first).
    """
    docs: dict[str, dict[str, list[str]]] = {}
    for citation in citations:
        if not citation or not citation.strip():
            continue
        doc, clause = split_citation(citation)
        clauses = docs.setdefault(doc, {})
        m = _CLAUSE_NUMBER.match(clause)
        prefix, number = (m.group(1), m.group(2)) if m else (clause, "")
        numbers = clauses.setdefault(prefix, [])
        if number not in numbers:
            numbers.append(number)
    parts = []
    for doc, clauses in docs.items():
        texts = [prefix + "、".join(sorted(numbers, key=lambda n: int(n) if n else 0))
                 for prefix, numbers in clauses.items()]
        parts.append(doc + "、".join(t for t in texts if t))
    return "、".join(parts)


def get_template(outcome: RuleOutcome) -> NoticeTemplate:
    """Return the stored template for `outcome`, creating it from the default on first use."""
    if outcome not in MANDATORY_OUTCOMES:
        raise ValidationFailed(f"处理要求“{outcome.label}”不是强制性要求，不出具通知书")
    stmt = sa.select(NoticeTemplate).where(NoticeTemplate.outcome == outcome)
    tpl = db.session.scalar(stmt)
    if tpl is None:
        title, body = DEFAULTS[outcome]
        try:
            with db.session.begin_nested():
                db.session.add(NoticeTemplate(outcome=outcome, title=title, body=body, version=1))
        except IntegrityError:
            pass  # a concurrent issuer created it first
        tpl = db.session.scalar(stmt)
    return tpl


@atomic
def all_templates() -> list[NoticeTemplate]:
    """Return the template of every mandatory outcome, creating missing ones from the defaults (commits)."""
    items = [get_template(o) for o in sorted(MANDATORY_OUTCOMES, key=lambda o: o.value)]
    db.session.commit()
    return items


@atomic
def save_template(outcome: RuleOutcome, title: str, body: str, user) -> NoticeTemplate:
    """Validate and store a template (new version), audited; commits."""
    validate_text(title, body)
    tpl = get_template(outcome)
    before = {"title": tpl.title, "body": tpl.body, "version": tpl.version}
    tpl.title, tpl.body = title.strip(), body.strip()
    tpl.version += 1
    tpl.updated_by_id = getattr(user, "id", None)
    audit.record("notice.template.update", object_type="notice_template", object_id=outcome.value,
                 details={"before": before, "after": {"title": tpl.title, "body": tpl.body, "version": tpl.version}},
                 user=user)
    db.session.commit()
    return tpl

"""The Finding -> NoticeItem adapter and body-template validation (no database needed for most)."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from registry.enums import RuleOutcome
from registry.errors import ValidationFailed
from registry.notices.documents import authority_size_pt, full_date
from registry.notices.items import Deadline, NoticeItem, by_asset, item_from_finding
from registry.notices.texts import DEFAULTS, PLACEHOLDERS, citations_text, fill, fill_body, validate_text


def _finding(**kw):
    rule = SimpleNamespace(citation="新政〔2024〕3号 二（四）12", deadline_policy=kw.pop("policy", None))
    values = dict(id=9, rule=rule, rule_code="XZ-12", rule_version=2, outcome=RuleOutcome.MANDATORY_RENEWAL,
                  result="hit", explanation="登记已满8年，车况较差", figures={"years": 8}, deadline=None)
    values.update(kw)
    return SimpleNamespace(**values)


def test_finding_with_days_after_notice_policy_gets_deadline_from_issue_date():
    item = item_from_finding(_finding(policy={"type": "days_after_notice", "days": 30}), asset=object())
    assert item.mandatory and item.citation == "新政〔2024〕3号 二（四）12" and item.finding_id == 9
    assert item.deadline_for(date(2025, 7, 16), default_days=90) == Deadline(date(2025, 8, 15), 30)


def test_finding_with_fixed_deadline_keeps_it_while_ahead_and_undeterminable_is_not_mandatory():
    fixed = item_from_finding(_finding(deadline=date(2024, 12, 31), policy={"type": "fixed", "date": "2024-12-31"}),
                              asset=object())
    assert fixed.deadline_for(date(2024, 7, 16), 90) == Deadline(date(2024, 12, 31))
    assert fixed.deadline_for(date(2024, 12, 31), 90).due == date(2024, 12, 31)  # the day itself is not past
    assert not item_from_finding(_finding(result="undeterminable"), asset=object()).mandatory
    assert not item_from_finding(_finding(outcome=RuleOutcome.SUGGESTED_RENEWAL), asset=object()).mandatory


@pytest.mark.parametrize("body, message", [
    ("请{产权单位}于{地址}前整改", "未知占位符 {地址}"),
    ("请{产权单位:>10}整改", "不能带格式说明"),
    ("请{产权单位整改", "花括号不成对"),
    ("请{0}整改", "未知占位符 {0}"),
    ("", "不能为空"),
])
def test_template_validation_names_the_problem(body, message):
    with pytest.raises(ValidationFailed) as err:
        validate_text("标题", body)
    assert message in str(err.value.errors)


def test_default_templates_are_valid_and_fill_every_placeholder():
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    for title, body in DEFAULTS.values():
        validate_text(title, body)
        assert "{" not in fill(body, values)
    assert fill("{{字面}}{期限}", values) == "{字面}<期限>"


def test_full_date_and_header_size():
    assert full_date(date(2025, 7, 6)) == "2025年7月6日"
    assert authority_size_pt("新郑市住房和城乡建设局文件") <= 36
    assert authority_size_pt("新郑市" * 10) < 20


def test_passed_fixed_date_gives_late_days_after_the_notice_and_keeps_the_date_as_reason():
    policy = {"type": "fixed", "date": "2024-12-31", "late_days": 120}
    item = item_from_finding(_finding(deadline=date(2024, 12, 31), policy=policy), asset=object())
    got = item.deadline_for(date(2026, 12, 2), default_days=90)
    assert got == Deadline(date(2027, 4, 1), 120, date(2024, 12, 31)) and got.due > date(2026, 12, 2)
    # Without late_days the configured default applies.
    bare = item_from_finding(_finding(deadline=date(2024, 12, 31), policy={"type": "fixed", "date": "2024-12-31"}),
                             asset=object())
    assert bare.deadline_for(date(2026, 12, 2), default_days=90) == Deadline(date(2027, 3, 2), 90, date(2024, 12, 31))


def test_by_asset_keeps_every_finding_strictest_first():
    crane, other = SimpleNamespace(id=1), SimpleNamespace(id=2)
    renew = NoticeItem(asset=crane, rule_code="XZ-8b", rule_version=1, citation="新政〔2024〕3号 二（三）8",
                       outcome=RuleOutcome.MANDATORY_RENEWAL, explanation="主要部件严重受损", deadline_days=90)
    phase = NoticeItem(asset=crane, rule_code="XZ-8a", rule_version=1, citation="新政〔2024〕3号 二（三）8",
                       outcome=RuleOutcome.PHASE_OUT, explanation="超过10年", deadline=date(2027, 12, 31))
    scrap = NoticeItem(asset=other, rule_code="GB-CM-166", rule_version=1, citation="建设部令第166号 第七条",
                       outcome=RuleOutcome.SCRAP, explanation="超过使用年限", deadline_days=30)
    [a, b] = by_asset([renew, phase, scrap, renew])
    assert [i.rule_code for i in a.items] == ["XZ-8a", "XZ-8b"] and a.outcome is RuleOutcome.PHASE_OUT
    assert a.with_deadlines(date(2026, 12, 2), 90).deadline == Deadline(date(2027, 3, 2), 90)
    assert b.outcome is RuleOutcome.SCRAP and len(b.items) == 1


def test_outcome_order_is_defined_once_on_the_enum():
    assert RuleOutcome.strictest_first([RuleOutcome.MANDATORY_RENEWAL, RuleOutcome.SCRAP, RuleOutcome.PHASE_OUT,
                                        RuleOutcome.SCRAP]) == [RuleOutcome.SCRAP, RuleOutcome.PHASE_OUT,
                                                                 RuleOutcome.MANDATORY_RENEWAL]


@pytest.mark.parametrize("citations, text", [
    (["新政〔2024〕3号 二（三）9", "新政〔2024〕3号 二（三）8", "新政〔2024〕3号 二（三）8"], "新政〔2024〕3号二（三）8、9"),
    (["新政〔2024〕3号 二（三）8", "新政〔2024〕3号 二（四）12"], "新政〔2024〕3号二（三）8、二（四）12"),
    (["JGJ/T 189-2009 第3.0.2条", "GB/T 16877-2008", "国办发〔2022〕22号 燃气管道"],
     "JGJ/T 189-2009第3.0.2条、GB/T 16877-2008、国办发〔2022〕22号燃气管道"),
    (["", "  "], ""),
])
def test_citations_are_grouped_by_document(citations, text):
    assert citations_text(citations) == text


def test_body_without_deadline_placeholder_is_refused_and_old_templates_still_state_a_passed_date():
    with pytest.raises(ValidationFailed) as err:
        validate_text("标题", "请{产权单位}尽快整改")
    assert "{期限}" in str(err.value.errors)
    values = {name: "" for name in PLACEHOLDERS} | {"期限": "2027年3月2日",
                                                   "期限说明": "方案规定的完成期限2024年12月31日已过，整改期限自本通知书发文之日起90日计算。"}
    body = fill_body("经核查……\n请你单位于{期限}前完成。\n联系方式：", values)
    assert body.splitlines()[1].startswith("方案规定的完成期限2024年12月31日已过") and "2027年3月2日前完成" in body

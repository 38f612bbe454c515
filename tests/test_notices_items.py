"""The Finding -> NoticeItem adapter and body-template validation (no database needed for most)."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from registry.enums import RuleOutcome
from registry.errors import ValidationFailed
from registry.notices.documents import authority_size_pt, full_date
from registry.notices.items import item_from_finding
from registry.notices.texts import DEFAULTS, PLACEHOLDERS, fill, validate_text


def _finding(**kw):
    rule = SimpleNamespace(citation="新政〔2024〕3号 二（四）12", deadline_policy=kw.pop("policy", None))
    values = dict(id=9, rule=rule, rule_code="XZ-12", rule_version=2, outcome=RuleOutcome.MANDATORY_RENEWAL,
                  result="hit", explanation="登记已满8年，车况较差", figures={"years": 8}, deadline=None)
    values.update(kw)
    return SimpleNamespace(**values)


def test_finding_with_days_after_notice_policy_gets_deadline_from_issue_date():
    item = item_from_finding(_finding(policy={"type": "days_after_notice", "days": 30}), asset=object())
    assert item.mandatory and item.citation == "新政〔2024〕3号 二（四）12" and item.finding_id == 9
    assert item.deadline_for(date(2025, 7, 16), default_days=90) == date(2025, 8, 15)


def test_finding_with_fixed_deadline_keeps_it_and_undeterminable_is_not_mandatory():
    fixed = item_from_finding(_finding(deadline=date(2024, 12, 31), policy={"type": "fixed", "date": "2024-12-31"}),
                              asset=object())
    assert fixed.deadline_for(date(2025, 7, 16), 90) == date(2024, 12, 31)
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

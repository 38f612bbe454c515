"""Build NoticeItems (what the rules engine's mandatory findings become) for notice tests."""
from __future__ import annotations

from datetime import date

from registry.enums import Category, RuleOutcome
from registry.notices.items import NoticeItem
from tests.factories import make_asset, make_unit


def item_for(asset, outcome: RuleOutcome = RuleOutcome.MANDATORY_RENEWAL, deadline: date | None = date(2026, 12, 31),
             explanation: str = "于2013年3月1日投入使用，截至2025年7月16日已使用12年，超过10年",
             mandatory: bool = True, rule_code: str = "XZ-8a") -> NoticeItem:
    """Return a NoticeItem for `asset` as a mandatory finding would give it."""
    return NoticeItem(asset=asset, rule_code=rule_code, rule_version=1, citation="新政〔2024〕3号 二（三）8",
                      outcome=outcome, explanation=explanation, figures={"years": 12}, deadline=deadline,
                      mandatory=mandatory)


def flagged_assets(n: int = 1, *, unit=None, township: str = "新建路街道", category=Category.CONSTRUCTION_MACHINE,
                   **fields):
    """Create `n` assets of one owner unit and return their NoticeItems."""
    unit = unit or make_unit(township=township)
    return [item_for(make_asset(category, owner=unit, **fields)) for _ in range(n)]


def head_of(department) -> "User":
    """Return the department head (部门负责人) of `department`, creating one the first time."""
    import sqlalchemy as sa
    from registry.accounts.models import User
    from registry.enums import Role
    from registry.extensions import db
    from tests.factories import make_user
    head = db.session.scalar(sa.select(User).where(User.role == Role.DEPT_HEAD, User.department_id == department.id)
                             .order_by(User.id).limit(1))
    return head or make_user("dept_head", department.code)


def issue_signed(items, user=None, issued_on: date | None = None, render: bool = True, snapshot_id=None):
    """Draft notices for `items` and have each department's head sign them: the two steps of issuing."""
    from registry.notices.services import draft_notices, sign_notices
    drafts = draft_notices(items, user, issued_on=issued_on, snapshot_id=snapshot_id)
    by_department: dict = {}
    for d in drafts:
        by_department.setdefault(d.department_id, []).append(d)
    signed = {}
    for group in by_department.values():
        for n in sign_notices([d.id for d in group], head_of(group[0].department), issued_on=issued_on,
                              render=render):
            signed[n.id] = n
    return [signed[d.id] for d in drafts]


def signed_from_findings(user, **kw):
    """Draft from the latest mandatory findings (sources.draft_from_findings), then sign as the head."""
    from registry.notices.services import sign_notices
    from registry.notices.sources import draft_from_findings
    drafts = draft_from_findings(user, **kw)
    signed = {n.id: n for n in sign_notices([d.id for d in drafts], head_of(drafts[0].department),
                                            issued_on=kw.get("issued_on"), render=False)}
    return [signed[d.id] for d in drafts]

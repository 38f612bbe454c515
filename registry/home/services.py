"""The home page: each role's work for today, built here from the domains' own queries; and the health check.

A work list says what to do and links to the page where it is done, already filtered. Counts
appear only as "how many of this to do", never as inventory totals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for

from registry import clock
from registry.accounts import policy
from registry.accounts.models import User
from registry.accounts.scoping import kept_categories
from registry.assets.filters import stale_grade_condition
from registry.assets.models import Asset
from registry.assets.scoping import asset_scope
from registry.audit import integrity
from registry.audit.models import AuditRecord
from registry.audit.names import action_label
from registry.enums import MANDATORY_OUTCOMES, DiffStatus, NoticeStatus, PlanStatus, Role
from registry.extensions import db
from registry.jobs.catalog import declared_jobs
from registry.jobs.services import failed_unacknowledged
from registry.jobs.views import JOB_ROLES
from registry.notices.services import find_notices
from registry.planning.progress import behind_schedule, dashboard
from registry.planning.services import visible_plans
from registry.rules.ledger import undetermined_by_field
from registry.rules.results import HIT
from registry.snapshots.models import Snapshot, SnapshotItem
from registry.snapshots.queries import item_scope, latest_snapshot

LIST_LIMIT = 20  # lines per work list; the list's own page shows the rest
WEEK_DAYS = 7
DENIALS_DAYS = 7


@dataclass
class WorkItem:
    """One line of a work list: what, how many (when it is a group), and where to do it."""

    text: str
    url: str | None = None
    count: int | None = None
    note: str = ""


@dataclass
class WorkList:
    """One heading of the home page with its lines; `empty` is said when there is nothing to do."""

    title: str
    empty: str
    items: list[WorkItem] = field(default_factory=list)
    more_url: str | None = None
    more_text: str = "查看全部"
    hint: str = ""
    truncated: bool = False  # more lines than shown (the badge says 20+)
    counted: bool = True  # False for a status (audit chain, policy): its lines are facts, not tasks


def work_for(user) -> list[WorkList]:
    """Return the work lists of `user`'s role, most pressing first."""
    builders = {
        Role.MAINTAINER: _maintainer, Role.INSPECTOR: _inspector, Role.TASKFORCE: _taskforce,
        Role.SYSADMIN: _sysadmin, Role.SECADMIN: _secadmin, Role.AUDITOR: _auditor, Role.DEPT_HEAD: _dept_head,
    }
    builder = builders.get(user.role)
    lists = builder(user) if builder else []
    return sorted(lists, key=lambda w: not w.items)  # work first, the lists with nothing to do after


# --- department staff ---------------------------------------------------------------------
def missing_data(user) -> WorkList:
    """Assets the rules could not judge, grouped by the empty field, each a link to the list to fill in."""
    work = WorkList("规则无法判定：请补全数据", "没有因缺少数据而无法判定的设备。",
                    hint="以下设备因缺少数据，规则无法判定是否需要更新。点击进入已筛选的台账逐台补全。")
    for gap in undetermined_by_field(asset_scope(user), kept_categories(user)):
        work.items.append(WorkItem(f"{gap.category.label}：缺少「{gap.label}」", count=gap.count,
                                   url=url_for("assets.list_assets", category=gap.category.value,
                                               finding="undetermined", missing=gap.field)))
    return work


def stale_grades(user, title: str = "状况等级已过期：请安排重新评定") -> WorkList:
    """Per category the user's department keeps: assets whose condition grade is older than the limit."""
    days = current_app.config["CONDITION_STALE_DAYS"]
    work = WorkList(title, "没有状况等级过期的设备。", hint=f"状况等级评定已超过 {days} 天（或没有评定日期）。")
    stale = stale_grade_condition(clock.today(), days)
    counts = dict(db.session.execute(
        sa.select(Asset.category, sa.func.count()).where(asset_scope(user), Asset.deleted_at.is_(None), stale)
        .group_by(Asset.category)).all())
    for category in kept_categories(user):
        if counts.get(category):
            work.items.append(WorkItem(f"{category.label}", count=counts[category],
                                       url=url_for("assets.list_assets", category=category.value, stale=1)))
    return work


def missing_grades(user) -> WorkList:
    """Per kept category: assets never graded (an inspector's visit is due)."""
    work = WorkList("尚未评定状况等级：请安排现场评定", "所有设备均已评定状况等级。")
    counts = dict(db.session.execute(
        sa.select(Asset.category, sa.func.count())
        .where(asset_scope(user), Asset.deleted_at.is_(None), Asset.condition_grade.is_(None))
        .group_by(Asset.category)).all())
    for category in kept_categories(user):
        if counts.get(category):
            work.items.append(WorkItem(category.label, count=counts[category],
                                       url=url_for("assets.list_assets", category=category.value,
                                                   missing="condition_grade")))
    return work


def new_mandatory(user) -> WorkList:
    """Mandatory findings that entered the list this week (snapshot diffs 新增 of the last seven days)."""
    latest = latest_snapshot()
    work = WorkList("本周新增强制更新项", "本周没有新增的强制更新项。",
                    hint="最近七天的强制更新清单快照中新出现的设备，需核实数据并下达更新通知书。")
    if latest is None:
        work.empty = "尚未生成强制更新清单快照。"
        return work
    since = clock.today() - timedelta(days=WEEK_DAYS - 1)
    rows = db.session.execute(
        sa.select(SnapshotItem.asset_id, SnapshotItem.asset_code, SnapshotItem.asset_name, SnapshotItem.rule_code,
                  SnapshotItem.outcome, Snapshot.as_of)
        .join(Snapshot, Snapshot.id == SnapshotItem.snapshot_id)
        .where(Snapshot.as_of >= since, SnapshotItem.diff == DiffStatus.NEW, SnapshotItem.result == HIT,
               SnapshotItem.outcome.in_([o.value for o in MANDATORY_OUTCOMES]), item_scope(user))
        .order_by(Snapshot.as_of.desc(), SnapshotItem.asset_code).limit(LIST_LIMIT * 3)).all()
    seen = set()
    for asset_id, code, name, rule_code, outcome, as_of in rows:
        if asset_id in seen:
            continue
        seen.add(asset_id)
        work.items.append(WorkItem(f"{code} {name}", url=url_for("assets.detail", asset_id=asset_id),
                                   note=f"{outcome.label}（{rule_code}），{as_of.month}月{as_of.day}日新增"))
    if len(work.items) > LIST_LIMIT:
        work.items, work.truncated = work.items[:LIST_LIMIT], True
    work.more_url = url_for("snapshots.detail", snapshot_id=latest.id, diff="new")
    work.more_text = "查看最新快照的新增项"
    return work


def _maintainer(user) -> list[WorkList]:
    return [new_mandatory(user), missing_data(user), stale_grades(user)]


def _notices(user, status: NoticeStatus, title: str, empty: str) -> WorkList:
    notices = find_notices(user, status=status, limit=LIST_LIMIT + 1)
    work = WorkList(title, empty)
    for notice in notices[:LIST_LIMIT]:
        deadline = f"整改期限 {notice.deadline.isoformat()}" if notice.deadline else ""
        work.items.append(WorkItem(f"{notice.number or '（草稿）'} {notice.owner_unit.name}",
                                   note=f"{notice.township} {deadline}",
                                   url=url_for("notices.detail", notice_id=notice.id)))
    if len(notices) > LIST_LIMIT:
        work.more_url, work.truncated = url_for("notices.index", status=status.value), True
    return work


def _inspector(user) -> list[WorkList]:
    return [_notices(user, NoticeStatus.ISSUED, "待送达的通知书", "没有待送达的通知书。"),
            _notices(user, NoticeStatus.OVERDUE, "已逾期的通知书：请督促整改", "没有逾期的通知书。"),
            stale_grades(user, "待评定：状况等级已过期"), missing_grades(user)]


def drafts_to_sign(user) -> list[WorkList]:
    """Return the department head's notice drafts awaiting signature (nothing for other roles)."""
    if user.role is not Role.DEPT_HEAD:
        return []
    drafts = find_notices(user, status=NoticeStatus.DRAFT, limit=LIST_LIMIT + 1)
    work = WorkList("待签发的通知书草稿", "没有待签发的通知书草稿。", more_url=url_for("notices.index", status="draft"),
                    more_text="进入签发页面", hint="核对草稿内容后在通知书页面勾选签发（签发后编号、生效）。")
    work.truncated = len(drafts) > LIST_LIMIT
    for draft in drafts[:LIST_LIMIT]:
        deadline = f"整改期限 {draft.deadline.isoformat()}" if draft.deadline else ""
        work.items.append(WorkItem(f"{draft.owner_unit.name}：{draft.title}", note=f"{draft.outcome.label} {deadline}",
                                   url=url_for("notices.detail", notice_id=draft.id)))
    return [work]


def _dept_head(user) -> list[WorkList]:
    return drafts_to_sign(user) + [_notices(user, NoticeStatus.OVERDUE, "已逾期的通知书：请督促整改", "没有逾期的通知书。")]


# --- task force -----------------------------------------------------------------------------
def _taskforce(user) -> list[WorkList]:
    plans = WorkList("更新计划", "尚无更新计划，请在「更新计划」中编制。")
    for plan in visible_plans(user):
        if plan.status is PlanStatus.SUPERSEDED:
            continue
        todo = {PlanStatus.DRAFT: "草稿：待完善并上报", PlanStatus.SUBMITTED: "已上报：待审批",
                PlanStatus.APPROVED: "已审批：待锁定", PlanStatus.LOCKED: "已锁定：按计划执行"}[plan.status]
        plans.items.append(WorkItem(plan.name, url=url_for("planning.detail", plan_id=plan.id), note=todo))
    plans.items = plans.items[:LIST_LIMIT]
    behind = WorkList("进度落后于目标", "各项目标均按进度推进。",
                      hint="按目标期限平均分摊，截至今年应完成的数量多于已完成的数量。")
    for row, expected, done in behind_schedule(dashboard(), clock.today().year):
        behind.items.append(WorkItem(f"{row.department.name} · {row.category.label}",
                                     note=f"截至今年应完成 {expected}，已完成 {done}",
                                     url=url_for("progress.progress_page")))
    return [behind, plans]


# --- administrators: their own work only, no business data -----------------------------------
def _sysadmin(user) -> list[WorkList]:
    locked = WorkList("已锁定的账户：核实后重置密码", "没有被锁定的账户。")
    pending = WorkList("尚未修改初始密码的账户", "所有账户均已修改初始密码。")
    for account in db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.username)):
        url = url_for("users.edit", user_id=account.id)
        if account.is_locked:
            until = clock.to_local(account.locked_until).strftime("%m-%d %H:%M")
            locked.items.append(WorkItem(f"{account.display_name}（{account.username}）", url=url,
                                         note=f"锁定至 {until}"))
        elif account.must_change_password:
            pending.items.append(WorkItem(f"{account.display_name}（{account.username}）", url=url,
                                          note=account.role.label))
    return [locked, pending]


def _secadmin(user) -> list[WorkList]:
    current = policy.current_policy()
    work = WorkList("当前安全策略", "", more_url=url_for("policy.edit_policy"), more_text="调整安全策略",
                    counted=False)
    for setting in policy.SETTINGS:
        work.items.append(WorkItem(setting.label, note=f"{current[setting.key]} {setting.unit}"))
    return [work]


def _auditor(user) -> list[WorkList]:
    report = integrity.verify()
    chain = WorkList("审计链校验", "", counted=report.ok is False)
    if report.ok:
        chain.items.append(WorkItem("审计记录哈希链完整", note=f"已校验 {report.checked} 条记录"))
    else:
        for problem in report.problems[:LIST_LIMIT]:
            chain.items.append(WorkItem(problem.message,
                                        url=url_for("audit.index", object_id=str(problem.record_id))))
    since = clock.now() - timedelta(days=DENIALS_DAYS)
    rows = db.session.execute(
        sa.select(AuditRecord.action, sa.func.count()).where(AuditRecord.outcome == "denied", AuditRecord.at >= since)
        .group_by(AuditRecord.action).order_by(sa.func.count().desc())).all()
    start = (clock.today() - timedelta(days=DENIALS_DAYS - 1)).isoformat()
    denials = WorkList(f"最近 {DENIALS_DAYS} 天被拒绝的操作", f"最近 {DENIALS_DAYS} 天没有被拒绝的操作。")
    for action, count in rows:
        denials.items.append(WorkItem(action_label(action), count=count,
                                      url=url_for("audit.index", outcome="denied", action=action, start=start)))
    return [chain, denials]


def failed_job_runs(user) -> list[tuple]:
    """Return (run, job label) for unacknowledged failed runs, for the roles that may run jobs."""
    if user.role not in JOB_ROLES:
        return []
    labels = {spec.id: spec.label for spec in declared_jobs()}
    return [(run, labels.get(run.job_id, "已下线的任务")) for run in failed_unacknowledged()]


def database_responds() -> None:
    """Run a trivial statement; raise the driver's error when the database does not answer."""
    db.session.execute(sa.text("SELECT 1"))

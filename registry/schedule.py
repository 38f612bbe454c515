"""The scheduled jobs, declared as data with stable ids; each target is the function itself."""
from __future__ import annotations

from registry.jobs.catalog import JobSpec
from registry.notices.jobs import generate_notices
from registry.planning.jobs import draft_yearly_plan
from registry.snapshots.jobs import monthly_overdue_reminder, nightly_evaluation

JOBS: tuple[JobSpec, ...] = (
    JobSpec("nightly-evaluation", "每日评估与强制更新清单快照", "JOB_NIGHTLY_EVALUATION_CRON", "day",
            nightly_evaluation,
            "按当日评估全部设备，生成不可变的清单快照及与上一快照的差异"),
    JobSpec("monthly-overdue-reminder", "每月逾期提醒（按主管部门）", "JOB_MONTHLY_OVERDUE_REMINDER_CRON", "month",
            monthly_overdue_reminder,
            "按最新快照统计各主管部门逾期未整改事项"),
    JobSpec("notice-generation", "新增强制更新项生成通知书", "JOB_NOTICE_GENERATION_CRON", "day",
            generate_notices, "为新增的强制更新项按产权单位生成通知书"),
    JobSpec("yearly-planning-draft", "年度分批更新计划草案（1月1日）", "JOB_YEARLY_PLANNING_DRAFT_CRON", "year",
            draft_yearly_plan, "每年1月1日按最新评估编制下一年度分批更新计划草案"),
)

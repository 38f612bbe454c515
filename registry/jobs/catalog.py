"""The scheduled jobs, declared as data with stable ids, and their periods."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from flask import current_app

from registry.errors import NotFound


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: stable id, Chinese label, schedule setting, period unit, target function."""

    id: str
    label: str
    cron_setting: str  # config key holding a crontab expression (REGISTRY_<key> overrides it)
    period: str  # "day" | "month" | "year": one run per period
    target: str  # "module:function"; the function takes a JobContext and returns a counts dict
    description: str = ""


JOBS: tuple[JobSpec, ...] = (
    JobSpec("nightly-evaluation", "每日评估与强制更新清单快照", "JOB_NIGHTLY_EVALUATION_CRON", "day",
            "registry.snapshots.jobs:nightly_evaluation",
            "按当日评估全部设备，生成不可变的清单快照及与上一快照的差异"),
    JobSpec("monthly-overdue-reminder", "每月逾期提醒（按主管部门）", "JOB_MONTHLY_OVERDUE_REMINDER_CRON", "month",
            "registry.snapshots.jobs:monthly_overdue_reminder",
            "按最新快照统计各主管部门逾期未整改事项"),
    JobSpec("notice-generation", "新增强制更新项生成通知书", "JOB_NOTICE_GENERATION_CRON", "day",
            "registry.notices.jobs:generate_notices", "由通知书模块接入"),
    JobSpec("yearly-planning-draft", "年度分批更新计划草案（1月1日）", "JOB_YEARLY_PLANNING_DRAFT_CRON", "year",
            "registry.planning.jobs:draft_yearly_plan", "由年度计划模块接入"),
)

_LOOKBACK = {"day": timedelta(days=2), "month": timedelta(days=32), "year": timedelta(days=367)}


@dataclass(frozen=True)
class JobContext:
    """What a job function receives: which run, which period, and the as-of date."""

    run_id: int
    job_id: str
    period: str
    as_of: date
    trigger: str


def get_job(job_id: str) -> JobSpec:
    """Return the declared job `job_id` or raise NotFound."""
    for spec in JOBS:
        if spec.id == job_id:
            return spec
    raise NotFound(f"没有编号为 {job_id} 的定时任务")


def resolve(spec: JobSpec) -> Callable | None:
    """Return the job's function, or None while the module that provides it is not wired in."""
    module_name, _, func_name = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # the providing package does not exist yet (a hook for a later issue)
        raise
    return getattr(module, func_name, None)


def local_tz() -> ZoneInfo:
    """Return the registry's timezone (periods and schedules are local)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_now() -> datetime:
    """Return the current local time."""
    return datetime.now(local_tz())


def period_for(spec: JobSpec, moment: datetime) -> str:
    """Return the period key of `moment` for this job: 2026-11-30, 2026-11 or 2026."""
    local = moment.astimezone(local_tz())
    if spec.period == "day":
        return local.date().isoformat()
    if spec.period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    return f"{local.year:04d}"


def as_of_for(spec: JobSpec, period: str) -> date:
    """Return the as-of date a period stands for; a manual key 'P~HHMM' stands for P's date."""
    base = period.split("~", 1)[0]
    try:
        if spec.period == "day":
            return date.fromisoformat(base)
        if spec.period == "month":
            year, month = (int(p) for p in base.split("-"))
            # The reminder for a month is as of its first day; the current month means today.
            today = local_now().date()
            return today if (year, month) == (today.year, today.month) else date(year, month, 1)
        return date(int(base), 1, 1)
    except ValueError as exc:
        from registry.errors import ValidationFailed
        raise ValidationFailed(f"周期“{period}”格式不正确", {"period": ["应为 2026-11-30、2026-11 或 2026"]}) from exc


def cron_trigger(spec: JobSpec):
    """Return the APScheduler CronTrigger for this job's configured schedule."""
    from apscheduler.triggers.cron import CronTrigger
    return CronTrigger.from_crontab(current_app.config[spec.cron_setting], timezone=local_tz())


def last_due(spec: JobSpec, now: datetime | None = None) -> datetime | None:
    """Return the latest scheduled fire time at or before `now` (within one period's lookback)."""
    now = now or local_now()
    trigger = cron_trigger(spec)
    fire = trigger.get_next_fire_time(None, now - _LOOKBACK[spec.period])
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


def next_due(spec: JobSpec, now: datetime | None = None) -> datetime | None:
    """Return the next scheduled fire time after `now`."""
    now = now or local_now()
    return cron_trigger(spec).get_next_fire_time(None, now)

"""The scheduled jobs, declared as data with stable ids, and their periods."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from apscheduler.triggers.cron import CronTrigger
from flask import current_app

from registry import clock
from registry.errors import NotFound


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: stable id, Chinese label, schedule setting, period unit, target function."""

    id: str
    label: str
    cron_setting: str  # config key holding a crontab expression (REGISTRY_<key> overrides it)
    period: str  # "day" | "month" | "year": one run per period
    target: Callable  # takes a JobContext and returns a counts dict
    description: str = ""


JOBS_EXTENSION = "registry.jobs"


def install(app, jobs: tuple[JobSpec, ...]) -> None:
    """Declare `jobs` for this app; refuse at start-up a target that is not a function or a repeated id."""
    ids = [spec.id for spec in jobs]
    if len(set(ids)) != len(ids):
        raise RuntimeError(f"duplicate job ids in {ids}")
    for spec in jobs:
        if not callable(spec.target):
            raise RuntimeError(f"job {spec.id}: target {spec.target!r} is not callable")
    app.extensions[JOBS_EXTENSION] = tuple(jobs)


def declared_jobs() -> tuple[JobSpec, ...]:
    """Return the jobs declared for the current app (registry.schedule.JOBS)."""
    return current_app.extensions[JOBS_EXTENSION]


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
    for spec in declared_jobs():
        if spec.id == job_id:
            return spec
    raise NotFound(f"没有编号为 {job_id} 的定时任务")




def period_for(spec: JobSpec, moment: datetime) -> str:
    """Return the period key of `moment` for this job: 2026-11-30, 2026-11 or 2026."""
    local = moment.astimezone(clock.zone())  # periods are local days, months and years
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
            today = clock.today()
            return today if (year, month) == (today.year, today.month) else date(year, month, 1)
        return date(int(base), 1, 1)
    except ValueError as exc:
        from registry.errors import ValidationFailed
        raise ValidationFailed(f"周期“{period}”格式不正确", {"period": ["应为 2026-11-30、2026-11 或 2026"]}) from exc


def cron_trigger(spec: JobSpec):
    """Return the APScheduler CronTrigger for this job's configured schedule."""
    return CronTrigger.from_crontab(current_app.config[spec.cron_setting], timezone=clock.zone())


def last_due(spec: JobSpec, now: datetime | None = None) -> datetime | None:
    """Return the latest scheduled fire time at or before `now` (within one period's lookback)."""
    now = now or clock.local_now()
    trigger = cron_trigger(spec)
    fire = trigger.get_next_fire_time(None, now - _LOOKBACK[spec.period])
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


def next_due(spec: JobSpec, now: datetime | None = None) -> datetime | None:
    """Return the next scheduled fire time after `now`."""
    now = now or clock.local_now()
    return cron_trigger(spec).get_next_fire_time(None, now)


def schedule_text(cron: str) -> str:
    """Return a crontab expression in words (每日 02:00, 每月1日 07:30, 每年1月1日 06:00), or 按计划表达式."""
    parts = str(cron).split()
    if len(parts) != 5 or not all(p.isdigit() for p in parts[:2]) or parts[4] != "*":
        return "按计划表达式"
    minute, hour, day, month = int(parts[0]), int(parts[1]), parts[2], parts[3]
    at = f"{hour:02d}:{minute:02d}"
    if day == "*" and month == "*":
        return f"每日 {at}"
    if day.isdigit() and month == "*":
        return f"每月{int(day)}日 {at}"
    if day.isdigit() and month.isdigit():
        return f"每年{int(month)}月{int(day)}日 {at}"
    return "按计划表达式"

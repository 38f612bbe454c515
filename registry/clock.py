"""One clock for the registry: instants are stored in UTC; every "today" and "now" a person sees is local.

The servers run UTC while users are in Asia/Shanghai (UTC+8): between 00:00 and 08:00 Beijing time
`date.today()` on the server is still yesterday. Code asks this module instead of the machine, so a
form, a default date, a validation, an export name and a job period all agree on one day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from registry.config import DEFAULTS

DEFAULT_TIMEZONE: str = DEFAULTS["TIMEZONE"]


def zone() -> ZoneInfo:
    """Return the configured local zone (REGISTRY_TIMEZONE via the app config, else the default)."""
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIMEZONE)  # ZoneInfo caches instances per key


def now() -> datetime:
    """Return the current instant as an aware UTC datetime (what the database stores)."""
    return datetime.now(timezone.utc)


def local_now() -> datetime:
    """Return the current time in the local zone."""
    return now().astimezone(zone())


def today() -> date:
    """Return the local calendar date (the "today" of every form, default and check)."""
    return local_now().date()


def to_local(value: datetime) -> datetime:
    """Return a stored instant in the local zone; a naive value is UTC (SQLite hands those back)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone())


def local_midnight(day: date) -> datetime:
    """Return the UTC instant at which the local calendar day `day` begins."""
    return datetime.combine(day, time.min, zone()).astimezone(timezone.utc)


def local_stamp(fmt: str = "%Y%m%d-%H%M%S") -> str:
    """Return the local time formatted for a file name (default 20261202-035600)."""
    return local_now().strftime(fmt)


def check_zone(name: str) -> None:
    """Refuse an unknown zone name at startup, rather than on every page that shows a date."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"REGISTRY_TIMEZONE / TIMEZONE: unknown time zone {name!r} (e.g. Asia/Shanghai)") from exc

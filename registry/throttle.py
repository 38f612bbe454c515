"""Per-address limits kept in the database: login attempts, API token failures, anonymous audit records.

Flask-Limiter (which guards the public /verify page) counts in each worker's memory, so with four
workers on two hosts a client gets eight times its limit. That is acceptable for a public read, not
for the limits that guard passwords and tokens: those counters live in `address_throttles`, one row
per (scope, client address, fixed window), incremented with one atomic upsert, so every worker and
host sees the same count. IPv6 clients are counted per /64, the block one subscriber usually holds.

`RATELIMIT_ENABLED` switches these off together with Flask-Limiter (the test suite runs without them).
"""
from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import limits
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db

class AddressThrottle(db.Model):
    """How many counted events (login attempts, token failures, anonymous audit records) one client
    address caused in one fixed time window; kept in the database so every worker and host agrees."""

    __tablename__ = "address_throttles"
    __table_args__ = (sa.Index("ix_address_throttles_window_start", "window_start"),)

    scope: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # IPv4, or an IPv6 /64
    window_start: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)  # Unix s
    hits: Mapped[int] = mapped_column(sa.Integer, default=0)


# scope -> the setting holding its limit ("30 per 10 minutes", Flask-Limiter's notation)
LIMIT_SETTINGS = {
    "login": "LOGIN_ADDRESS_LIMIT",
    "token": "TOKEN_FAILURE_LIMIT",
    "audit": "ANONYMOUS_AUDIT_LIMIT",
}
# Counters of windows older than this are deleted when a new window starts.
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Window:
    """The current window of one scope for one client address, with its limit."""

    scope: str
    address: str
    start: int
    seconds: int
    limit: int

    def retry_after(self) -> int:
        """Seconds until this window ends (at least 1)."""
        return max(1, self.start + self.seconds - int(time.time()))

    def minutes_left(self) -> int:
        """Whole minutes until this window ends, rounded up (for messages)."""
        return -(-self.retry_after() // 60)


def enabled() -> bool:
    """Tell whether per-address limits apply (REGISTRY_RATELIMIT_ENABLED)."""
    return bool(current_app.config.get("RATELIMIT_ENABLED"))


def address_key(ip: str | None) -> str:
    """Return the counted form of a client address: IPv4 as is, IPv6 as its /64 network."""
    try:
        addr = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return (ip or "unknown")[:64]
    if addr.version == 6:
        if addr.ipv4_mapped:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def window(scope: str, ip: str | None) -> Window:
    """Return the current window of `scope` for the client `ip`."""
    item = limits.parse(current_app.config[LIMIT_SETTINGS[scope]])
    seconds = int(item.get_expiry())
    now = int(time.time())
    return Window(scope, address_key(ip), now - now % seconds, seconds, int(item.amount))


def _key(w: Window):
    t = AddressThrottle.__table__.c
    return sa.and_(t.scope == w.scope, t.address == w.address, t.window_start == w.start)


def hits(w: Window) -> int:
    """Return how many events were counted in `w` so far (without counting one)."""
    table = AddressThrottle.__table__
    return db.session.scalar(sa.select(table.c.hits).where(_key(w))) or 0


def hit(scope: str, ip: str | None) -> tuple[int, Window]:
    """Count one event for `ip` in the current window, in the session's transaction; return (count, window).

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: concurrent requests from one address get
    distinct, increasing counts (row lock on PostgreSQL, the write lock on SQLite). The caller commits.
    """
    w = window(scope, ip)
    table = AddressThrottle.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(scope=w.scope, address=w.address, window_start=w.start, hits=1)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.scope, table.c.address, table.c.window_start],
                                      set_={"hits": table.c.hits + 1}).returning(table.c.hits)
    count = db.session.execute(stmt).scalar_one()
    if count == 1:  # a new window: forget old ones (cheap, indexed, and rare)
        db.session.execute(sa.delete(table).where(table.c.window_start < w.start - KEEP_SECONDS))
    return count, w


def refund(w: Window) -> None:
    """Take back one counted event of `w` (e.g. a login that turned out to be right); the caller commits."""
    table = AddressThrottle.__table__
    db.session.execute(sa.update(table).where(_key(w), table.c.hits > 0).values(hits=table.c.hits - 1))

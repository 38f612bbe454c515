"""Transaction boundaries of service functions, so that views never touch the session."""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

from registry.extensions import db

F = TypeVar("F", bound=Callable)


def atomic(fn: F) -> F:
    """Mark a service entry point that commits its own work: on any error, roll back what it began, then re-raise."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException:
            # A refused action must leave nothing pending: the page shown next queries (and would autoflush).
            db.session.rollback()
            raise

    return wrapper  # type: ignore[return-value]

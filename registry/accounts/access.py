"""Which roles may call which view: declared on the view, enforced and testable.

Every non-public view carries `@roles_required(...)`. The route x role test reads the
declaration (`view.allowed_roles`) and checks each role's answer against it.
"""
from __future__ import annotations

from functools import wraps

from flask_login import current_user

from registry.enums import Role

ALL_ROLES = frozenset(Role)
BUSINESS_READERS = frozenset({Role.MAINTAINER, Role.INSPECTOR, Role.TASKFORCE})


def roles_required(*roles: Role):
    """Allow the view only to users holding one of `roles`; others get 403 (audited)."""
    allowed = frozenset(roles) or ALL_ROLES

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from flask import abort
                abort(401)
            if current_user.role not in allowed:
                from registry.audit import services as audit
                from registry.errors import PermissionDenied
                from registry.extensions import db
                from flask import request
                audit.record("access.denied", outcome="denied", details={"path": request.path,
                                                                        "method": request.method})
                db.session.commit()
                raise PermissionDenied(f"您的角色（{current_user.role.label}）无权执行此操作")
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed
        return wrapper

    return decorate

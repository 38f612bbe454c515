"""Which roles may call which view: declared on the view, enforced and testable.

Every non-public view carries `@roles_required(...)`. The route x role test
(tests/test_route_roles.py) reads the declaration (`allowed_roles_for`) and checks each
role's answer against it; a route without a declaration fails that test.

Plain Flask views: put `@roles_required(...)` under `@bp.route(...)`.

flask-smorest / MethodView API views: decorate EACH HTTP method, e.g.

    @blp.route("/assets")
    class Assets(MethodView):
        @roles_required(*BUSINESS_READERS)
        @blp.response(200, AssetSchema(many=True))
        def get(self): ...

        @roles_required(Role.MAINTAINER)
        @blp.arguments(AssetInSchema)
        def post(self, data): ...

(`method_decorators` on the class is NOT read by the check: declare per method.)
Bearer-token calls and cookie calls pass through the same declaration and the same
scoping (registry/accounts/scoping.py).
"""
from __future__ import annotations

from functools import wraps

from flask import request
from flask_login import current_user

from registry.audit import services as audit
from registry.enums import Role
from registry.errors import PermissionDenied

ALL_ROLES = frozenset(Role)
BUSINESS_READERS = frozenset({Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD, Role.TASKFORCE})


def check_role(allowed: frozenset) -> None:
    """Raise PermissionDenied (audited) unless the current user holds one of `allowed`."""
    if current_user.role in allowed:
        return

    audit.record_refusal("access.denied", details={"path": request.path, "method": request.method})
    raise PermissionDenied(f"您的角色（{current_user.role.label}）无权执行此操作")


def roles_required(*roles: Role):
    """Allow the view only to users holding one of `roles`; others get 403 (audited).

    The login gate also checks the declaration before any argument parsing, so a refused
    role gets 403 whatever order the decorators are stacked in; this wrapper is the backstop.
    """
    allowed = frozenset(roles) or ALL_ROLES

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from flask import abort
                abort(401)
            check_role(allowed)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed
        return wrapper

    return decorate


def allowed_roles_for(view, method: str) -> frozenset | None:
    """Return the roles declared for `view` answering `method`, or None when undeclared."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method.upper() == "HEAD":
            handler = getattr(view_class, "get", None)
        return getattr(handler, "allowed_roles", None)
    return getattr(view, "allowed_roles", None)

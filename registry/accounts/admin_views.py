"""Account management pages for the system administrator, and the security policy page."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from registry.accounts import admin, policy
from registry.accounts.access import roles_required
from registry.accounts.forms import DeactivateForm, EmptyForm, RoleForm, UserForm
from registry.enums import Role
from registry.errors import ValidationFailed
from registry.pages import done

bp = Blueprint("users", __name__, url_prefix="/admin/users")
policy_bp = Blueprint("policy", __name__, url_prefix="/security")


@bp.route("/")
@roles_required(Role.SYSADMIN)
def index():
    """List every account."""
    return render_template("accounts/users.html", users=admin.list_users(), button=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.SYSADMIN)
def create():
    """Create an account and show its one-time password."""
    form = UserForm()
    errors = None
    if form.validate_on_submit():
        try:
            user, password = admin.admin_create_user(current_user, form.username.data, form.display_name.data,
                                                     form.role.data, form.department.data or None,
                                                     form.confirm_admin.data)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return render_template("accounts/one_time_password.html", user=user, password=password,
                                   action="创建"), 201
    status = 422 if errors or form.errors else 200
    return render_template("accounts/user_form.html", form=form, errors=errors), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.SYSADMIN)
def edit(user_id: int):
    """Show an account; change its role and department."""
    user = admin.get_user(user_id)
    form = RoleForm(data={"role": user.role.value, "department": user.department.code if user.department else ""})
    errors = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            admin.change_role(current_user, user.id, form.role.data, form.department.data or None,
                              form.confirm_admin.data)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return done("角色已修改，用户下次登录后生效", "users.edit", user_id=user.id)
    status = 422 if errors or form.errors else 200
    return render_template("accounts/user_edit.html", user=user, form=form, errors=errors,
                           deactivate_form=DeactivateForm(), button=EmptyForm()), status


@bp.route("/<int:user_id>/active", methods=["POST"])
@roles_required(Role.SYSADMIN)
def set_active(user_id: int):
    """Deactivate (with a reason) or reactivate an account."""
    form = DeactivateForm()
    active = request.form.get("active") == "1"
    if not form.validate():
        raise ValidationFailed("账户状态未修改", {"停用原因": form.reason.errors})
    user = admin.set_active(current_user, user_id, active, form.reason.data or "")
    return done(f"账户「{user.username}」已{'启用' if active else '停用'}", "users.edit", user_id=user_id)


@bp.route("/<int:user_id>/reset-password", methods=["POST"])
@roles_required(Role.SYSADMIN)
def reset_password(user_id: int):
    """Reset an account's password; the user must change it at next login."""
    user, password = admin.reset_password(current_user, user_id)
    return render_template("accounts/one_time_password.html", user=user, password=password, action="重置密码")


@policy_bp.route("/policy", methods=["GET", "POST"])
@roles_required(Role.SECADMIN)
def edit_policy():
    """Show and change the password and session policy."""
    form = EmptyForm()
    errors = None
    values = policy.current_policy()
    if request.method == "POST" and form.validate_on_submit():
        try:
            changed = policy.update_policy(request.form, current_user)
        except ValidationFailed as exc:
            errors = exc.errors
            values = {s.key: request.form.get(s.key, "") for s in policy.SETTINGS}
        else:
            return done(f"安全策略已保存（修改 {len(changed)} 项）", "policy.edit_policy")
    return render_template("accounts/policy.html", form=form, settings=policy.SETTINGS, values=values,
                           errors=errors), 422 if errors else 200

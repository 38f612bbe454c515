"""Account forms (Flask-WTF: every form carries a CSRF token)."""
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from registry.enums import Role
from registry.extensions import db
from registry.orgs.models import Department


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码"), Length(max=256)])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=256)])
    confirm = PasswordField("确认新密码", validators=[DataRequired("请再次输入新密码"), Length(max=256)])


class TokenForm(FlaskForm):
    name = StringField("令牌名称", validators=[DataRequired("请填写令牌名称"), Length(max=64, message="不超过 64 个字符")])


def _department_choices():
    return [SelectChoice("", "（无）")] + [SelectChoice(d.code, d.name)
                                         for d in db.session.scalars(sa.select(Department).order_by(Department.id))]


def _role_choices():
    return [SelectChoice(value, label) for value, label in Role.choices()]


class RoleForm(FlaskForm):
    """Role and department of an account, with the confirmation that granting an admin role needs."""

    role = SelectField("角色", choices=_role_choices, validate_choice=False)
    department = SelectField("所属部门", validate_choice=False)
    confirm_admin = BooleanField("确认授予管理角色（系统/安全/审计管理员），此操作将记入审计日志")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = _department_choices()


class UserForm(RoleForm):
    """A new account: the role form plus username and name."""

    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=64, message="不超过 64 个字符")])
    display_name = StringField("姓名", validators=[Optional(), Length(max=64, message="不超过 64 个字符")])


class DeactivateForm(FlaskForm):
    reason = StringField("停用原因", validators=[Optional(), Length(max=200, message="不超过 200 个字符")])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (for buttons such as revoke or reset)."""

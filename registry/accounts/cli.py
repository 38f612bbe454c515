"""`flask registry create-user`: the first account of a fresh install, and any other."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from registry.accounts.services import create_user, user_named
from registry.enums import Role
from registry.errors import ValidationFailed


def register(group: click.Group) -> None:
    """Add the account commands to the `registry` group."""
    group.add_command(create_user_command)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(Role.values()))
@click.option("--department", "department_code", help="部门代码（部门维护员、检查员、部门负责人必填），如 zjj")
@click.option("--name", "display_name", default="", help="姓名")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取初始密码，而不是随机生成")
def create_user_command(username: str, role: str, department_code: str | None, display_name: str,
                        password_stdin: bool) -> None:
    """Create a user; print the generated initial password once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user, initial = create_user(username, display_name, Role(role), department_code, password)
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        raise click.ClickException(exc.message) from exc
    click.echo(f"已创建用户 {user.username}（{user.role.label}）")
    if not password_stdin:
        click.echo(f"初始密码（仅显示这一次，首次登录须修改）：{initial}")


def user_option(username: str | None):
    """Return the account a command's --user/--as-user names (None when not given); unknown names stop the command."""
    if not username:
        return None
    user = user_named(username)
    if user is None:
        raise click.ClickException(f"用户「{username}」不存在")
    return user

"""The `flask registry ...` command group."""
from __future__ import annotations

import sys
import time

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from registry.extensions import db

registry_cli = AppGroup("registry", help="设备更新台账管理命令")


@registry_cli.command("seed-reference")
def seed_reference() -> None:
    """Create the standard departments if they are missing."""
    from registry.orgs.reference import ensure_reference_data
    added = ensure_reference_data()
    click.echo(f"已补充 {added} 个主管部门")
    from registry.rules.versions import seed_packs
    click.echo(f"已加载 {seed_packs()} 条规则（规则包）")
    from registry.planning.reference import ensure_planning_reference
    targets, costs = ensure_planning_reference()
    click.echo(f"已补充 {targets} 项计划目标、{costs} 项更新费用估算")


@registry_cli.command("seed-demo")
@click.option("--count", default=5000, show_default=True, type=click.IntRange(1, 5_000_000),
              help="演示设备数量")
@click.option("--if-empty", is_flag=True, help="库中已有设备时静默跳过")
def seed_demo_command(count: int, if_empty: bool) -> None:
    """Build the deterministic Xinzheng demo inventory."""
    from registry.assets.demo import DemoAlreadySeeded, seed_demo
    started = time.perf_counter()
    with click.progressbar(length=count, label="生成演示数据", file=sys.stderr) as bar:
        last = [0]

        def progress(done: int) -> None:
            bar.update(done - last[0])
            last[0] = done
        try:
            totals = seed_demo(count, progress)
        except DemoAlreadySeeded as exc:
            if if_empty:
                click.echo("库中已有设备数据，跳过演示数据生成")
                return
            raise click.ClickException(str(exc)) from exc
    elapsed = time.perf_counter() - started
    for label, n in totals.items():
        click.echo(f"{label}: {n}")
    click.echo(f"共生成 {count} 台设备，用时 {elapsed:.1f} 秒")


@registry_cli.command("create-user")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(["sysadmin", "secadmin", "auditor", "maintainer", "inspector", "taskforce"]))
@click.option("--department", "department_code", help="部门代码（部门维护员、检查员必填），如 zjj")
@click.option("--name", "display_name", default="", help="姓名")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取初始密码，而不是随机生成")
def create_user_command(username: str, role: str, department_code: str | None, display_name: str,
                        password_stdin: bool) -> None:
    """Create a user; print the generated initial password once."""
    from registry.accounts.services import create_user
    from registry.enums import Role
    from registry.errors import ValidationFailed
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


DEMO_USERS = (
    ("demo-sysadmin", "sysadmin", None, "演示系统管理员"),
    ("demo-secadmin", "secadmin", None, "演示安全管理员"),
    ("demo-auditor", "auditor", None, "演示审计管理员"),
    ("demo-zjj", "maintainer", "zjj", "住建局维护员"),
    ("demo-jgsw", "maintainer", "jgsw", "机关事务中心维护员"),
    ("demo-nync", "maintainer", "nync", "农业农村局维护员"),
    ("demo-wjw", "maintainer", "wjw", "卫健委维护员"),
    ("demo-inspector", "inspector", "zjj", "住建局检查员"),
    ("demo-taskforce", "taskforce", None, "工作专班"),
)


@registry_cli.command("seed-demo-users")
def seed_demo_users() -> None:
    """Create one demo account per role with random passwords, written to instance/demo-accounts.txt."""
    import os
    from flask import current_app
    from registry.accounts.models import User
    from registry.accounts.services import create_user
    from registry.enums import Role
    if db.session.scalar(sa.select(User.id).where(User.username.like("demo-%")).limit(1)):
        click.echo("演示账户已存在，见 instance/demo-accounts.txt")
        return
    lines = ["# 演示账户（随机初始密码，首次登录须修改）。仅用于演示，请勿用于生产。"]
    for username, role, dept, name in DEMO_USERS:
        _user, password = create_user(username, name, Role(role), dept)
        lines.append(f"{username}\t{Role(role).label}\t{dept or '-'}\t{password}")
    path = os.path.join(current_app.instance_path, "demo-accounts.txt")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    click.echo("\n".join(lines))
    click.echo(f"已写入 {path}")


@registry_cli.command("db-is-empty")
def db_is_empty() -> None:
    """Exit 0 when the inventory holds no assets (used by `make run`)."""
    from registry.assets.models import Asset
    sys.exit(0 if db.session.scalar(sa.select(Asset.id).limit(1)) is None else 1)


def register_commands(app: Flask) -> None:
    """Attach the `registry` command group to `app`."""
    from registry.audit.cli import audit_cli
    if "audit" not in registry_cli.commands:
        registry_cli.add_command(audit_cli)
    from registry.assets import transfer_cli  # noqa: F401  (adds import/export to the group)
    from registry.jobs.cli import register as register_jobs
    register_jobs(registry_cli)
    from registry.rules.cli import register as register_rules
    if "evaluate" not in registry_cli.commands:
        register_rules(registry_cli)
    from registry.notices.cli import notices_cli
    if "notices" not in registry_cli.commands:
        registry_cli.add_command(notices_cli)
    from registry.planning.cli import plan_cli
    registry_cli.add_command(plan_cli)
    from registry.backup_cli import register as register_backup
    register_backup(registry_cli)
    app.cli.add_command(registry_cli)

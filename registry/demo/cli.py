"""`flask registry seed-demo` and `seed-demo-users`: the demo inventory and one account per role."""
from __future__ import annotations

import os
import sys
import time

import click
from flask.cli import with_appcontext
import sqlalchemy as sa
from flask import current_app

from registry.accounts.models import User
from registry.accounts.services import create_user
from registry.demo.inventory import DemoAlreadySeeded, seed_demo
from registry.enums import Role
from registry.extensions import db


def register(group: click.Group) -> None:
    """Add the demo seeding commands to the `registry` group."""
    group.add_command(seed_demo_command)
    group.add_command(seed_demo_users)


@click.command("seed-demo")
@with_appcontext
@click.option("--count", default=5000, show_default=True, type=click.IntRange(1, 5_000_000),
              help="演示设备数量")
@click.option("--if-empty", is_flag=True, help="库中已有设备时静默跳过")
def seed_demo_command(count: int, if_empty: bool) -> None:
    """Build the deterministic Xinzheng demo inventory."""
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


DEMO_USERS = (
    ("demo-sysadmin", "sysadmin", None, "演示系统管理员"),
    ("demo-secadmin", "secadmin", None, "演示安全管理员"),
    ("demo-auditor", "auditor", None, "演示审计管理员"),
    ("demo-zjj", "maintainer", "zjj", "住建局维护员"),
    ("demo-jgsw", "maintainer", "jgsw", "机关事务中心维护员"),
    ("demo-nync", "maintainer", "nync", "农业农村局维护员"),
    ("demo-wjw", "maintainer", "wjw", "卫健委维护员"),
    ("demo-inspector", "inspector", "zjj", "住建局检查员"),
    ("demo-head-zjj", "dept_head", "zjj", "住建局负责人"),
    ("demo-head-jgsw", "dept_head", "jgsw", "机关事务中心负责人"),
    ("demo-head-nync", "dept_head", "nync", "农业农村局负责人"),
    ("demo-head-wjw", "dept_head", "wjw", "卫健委负责人"),
    ("demo-taskforce", "taskforce", None, "工作专班"),
)


@click.command("seed-demo-users")
@with_appcontext
def seed_demo_users() -> None:
    """Create the missing demo accounts (one per role) with random passwords, added to instance/demo-accounts.txt."""
    existing = set(db.session.scalars(sa.select(User.username).where(User.username.like("demo-%"))))
    missing = [u for u in DEMO_USERS if u[0] not in existing]
    path = os.path.join(current_app.instance_path, "demo-accounts.txt")
    if not missing:
        click.echo("演示账户已存在，见 instance/demo-accounts.txt")
        return
    # An install from before a role existed gets that role's accounts added, the others are left alone.
    lines = [] if existing and os.path.exists(path) else ["# 演示账户（随机初始密码，首次登录须修改）。仅用于演示，请勿用于生产。"]
    for username, role, dept, name in missing:
        _user, password = create_user(username, name, Role(role), dept)
        lines.append(f"{username}\t{Role(role).label}\t{dept or '-'}\t{password}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if existing else os.O_TRUNC), 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    click.echo("\n".join(lines))
    click.echo(f"已写入 {path}")

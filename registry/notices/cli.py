"""`flask registry notices ...`: issue from findings, render PDFs to a folder, mark overdue."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from registry.errors import DomainError
from registry.extensions import db

notices_cli = AppGroup("notices", help="更新通知书")


def _fail(exc: DomainError):
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    for key, messages in errors.items():
        for message in messages:
            click.echo(f"{key}: {message}", err=True)
    raise click.ClickException(exc.message)


def _user(username: str | None):
    if not username:
        return None
    from registry.accounts.models import User
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"用户 {username} 不存在")
    return user


@notices_cli.command("issue")
@click.option("--department", "department_code", help="发文部门代码，如 zjj（以 --user 身份出具时可省略）")
@click.option("--user", "username", help="以该部门维护员的身份出具（记入审计）")
@click.option("--snapshot", "snapshot_id", type=int, help="按强制更新清单快照出具（快照编号见 /snapshots/）")
@click.option("--township", help="只出具该乡镇（街道）的设备")
@click.option("--category", help="只出具该类别，如 construction_machine 或 建筑工程机械")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="使用该日期及以前最近一次评估的结论")
@click.option("--issued-on", "issued_on", type=click.DateTime(["%Y-%m-%d"]), help="发文日期，默认今天")
def issue_command(department_code, username, snapshot_id, township, category, as_of, issued_on) -> None:
    """Issue notices from the mandatory findings of the latest evaluation (or a snapshot)."""
    from registry.notices.sources import issue_from_findings
    from registry.orgs.models import Department
    user = _user(username)
    department = None
    if department_code:
        department = db.session.scalar(sa.select(Department).where(Department.code == department_code))
        if department is None:
            raise click.ClickException(f"部门代码 {department_code} 不存在")
    try:
        notices = issue_from_findings(user, department=department, snapshot_id=snapshot_id, township=township,
                                      category=category, as_of=as_of.date() if as_of else None,
                                      issued_on=issued_on.date() if issued_on else None)
    except DomainError as exc:
        db.session.rollback()
        _fail(exc)
    for n in notices:
        click.echo(f"{n.number}\t{n.township}\t{n.owner_unit.name}\t{len(n.items)} 台")
    click.echo(f"共出具 {len(notices)} 份通知书")


@notices_cli.command("render")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="输出目录")
@click.option("--status", default="issued", show_default=True, help="状态：issued、served、overdue…或 all")
@click.option("--township", help="只输出该乡镇（街道）")
@click.option("--merged/--no-merged", default=True, show_default=True, help="另输出一份按乡镇排序的合并 PDF")
def render_command(out_dir: Path, status: str, township: str | None, merged: bool) -> None:
    """Write each notice's stored PDF to DIR (rendering missing ones) and one merged PDF for printing."""
    import shutil
    from registry.notices.forms import parse_status
    from registry.notices.printing import ensure_pdf, print_batch
    from registry.notices.services import find_notices
    try:
        notices = find_notices(None, status=None if status == "all" else parse_status(status), township=township)
    except DomainError as exc:
        _fail(exc)
    if not notices:
        raise click.ClickException("没有符合条件的通知书")
    out_dir.mkdir(parents=True, exist_ok=True)
    with click.progressbar(notices, label="输出通知书", file=sys.stderr) as bar:
        for n in bar:
            shutil.copyfile(ensure_pdf(n), out_dir / f"{n.township}-{n.number}.pdf")
    if merged:
        with click.progressbar(length=len(notices), label="合并打印文件", file=sys.stderr) as bar:
            data = print_batch(notices, None, progress=lambda _n: bar.update(1))
        (out_dir / "merged.pdf").write_bytes(data)
    click.echo(f"已输出 {len(notices)} 份通知书到 {out_dir}" + ("（含 merged.pdf）" if merged else ""))


@notices_cli.command("mark-overdue")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="判断日期，默认今天")
def mark_overdue_command(as_of) -> None:
    """Mark open notices past their deadline as overdue and list them."""
    from registry.notices.lifecycle import mark_overdue
    notices = mark_overdue(as_of.date() if as_of else None)
    for n in notices:
        click.echo(f"{n.number}\t{n.owner_unit.name}\t期限 {n.deadline}")
    click.echo(f"新增逾期 {len(notices)} 份")



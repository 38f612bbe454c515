"""`flask registry notices ...`: draft from findings, sign drafts, render PDFs to a folder, mark overdue."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from registry.accounts.cli import user_option
from registry.config import DEFAULT_PUBLIC_BASE_URL, ENV_PREFIX, public_base_url_problem
from registry.errors import DomainError
from registry.notices.forms import parse_status
from registry.notices.lifecycle import mark_overdue
from registry.notices.batch import print_batch, render_missing
from registry.notices.printing import ensure_pdf
from registry.notices.services import draft_ids, find_notices, sign_notices
from registry.notices.sources import draft_from_findings
from registry.orgs.cli import department_option

notices_cli = AppGroup("notices", help="更新通知书")


def register(group: AppGroup) -> None:
    """Add the notice commands to the `registry` group."""
    group.add_command(notices_cli)


def _fail(exc: DomainError):
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    for key, messages in errors.items():
        for message in messages:
            click.echo(f"{key}: {message}", err=True)
    raise click.ClickException(exc.message)


def _echo(notices, first_column: str, summary: str) -> None:
    """Print one line per notice (number or label, township, owner unit, asset count), then the summary."""
    for n in notices:
        click.echo(f"{getattr(n, first_column)}	{n.township}	{n.owner_unit.name}	{len(n.items)} 台")
    click.echo(summary)


@notices_cli.command("issue")
@click.option("--department", "department_code", help="发文部门代码，如 zjj（以 --user 身份出具时可省略）")
@click.option("--user", "username", help="以该部门维护员或检查员的身份拟稿（记入审计）")
@click.option("--snapshot", "snapshot_id", type=int, help="按强制更新清单快照出具（快照编号见 /snapshots/）")
@click.option("--township", help="只出具该乡镇（街道）的设备")
@click.option("--category", help="只出具该类别，如 construction_machine 或 建筑工程机械")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="使用该日期及以前最近一次评估的结论")
@click.option("--issued-on", "issued_on", type=click.DateTime(["%Y-%m-%d"]), help="发文日期，默认今天")
def issue_command(department_code, username, snapshot_id, township, category, as_of, issued_on) -> None:
    """Draft notices (拟稿, no number) from the mandatory findings of the latest evaluation (or a snapshot)."""
    user = user_option(username)
    department = department_option(department_code) if department_code else None
    try:
        notices = draft_from_findings(user, department=department, snapshot_id=snapshot_id, township=township,
                                      category=category, as_of=as_of.date() if as_of else None,
                                      issued_on=issued_on.date() if issued_on else None)
    except DomainError as exc:
        _fail(exc)
    _echo(notices, "label", f"共拟稿 {len(notices)} 份通知书，待部门负责人签发（notices sign）")


@notices_cli.command("sign")
@click.option("--user", "username", required=True, help="签发人：本部门的部门负责人（记入审计）")
@click.option("--id", "ids", type=int, multiple=True, help="拟稿编号，可重复；不填则签发该负责人部门的全部拟稿")
@click.option("--issued-on", "issued_on", type=click.DateTime(["%Y-%m-%d"]), help="发文日期，默认今天")
def sign_command(username, ids, issued_on) -> None:
    """Sign drafts as the department head (all or none); numbers are taken now."""
    user = user_option(username)
    try:
        signed = sign_notices(list(ids) or draft_ids(user.department_id), user,
                              issued_on=issued_on.date() if issued_on else None)
    except DomainError as exc:
        _fail(exc)
    _echo(signed, "number", f"共签发 {len(signed)} 份通知书")


@notices_cli.command("render")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="输出目录")
@click.option("--status", default="issued", show_default=True, help="状态：issued、served、overdue…或 all")
@click.option("--township", help="只输出该乡镇（街道）")
@click.option("--merged/--no-merged", default=True, show_default=True, help="另输出一份按乡镇排序的合并 PDF")
def render_command(out_dir: Path, status: str, township: str | None, merged: bool) -> None:
    """Write each notice's stored PDF to DIR (rendering missing ones in a process pool) and one merged PDF for printing."""
    try:
        notices = find_notices(None, status=None if status == "all" else parse_status(status), township=township,
                               signed=True)
    except DomainError as exc:
        _fail(exc)
    if not notices:
        raise click.ClickException("没有符合条件的通知书")
    out_dir.mkdir(parents=True, exist_ok=True)
    with click.progressbar(length=len(notices), label="生成缺少的 PDF", file=sys.stderr) as bar:
        render_missing(notices, progress=lambda _stage, done, _total: bar.update(done - bar.pos))
    for n in notices:
        shutil.copyfile(ensure_pdf(n), out_dir / f"{n.township}-{n.number}.pdf")
    if merged:
        with click.progressbar(length=len(notices), label="合并打印文件", file=sys.stderr) as bar:
            data = print_batch(notices, None, progress=lambda _stage, done, _total: bar.update(done - bar.pos))
        (out_dir / "merged.pdf").write_bytes(data)
    click.echo(f"已输出 {len(notices)} 份通知书到 {out_dir}" + ("（含 merged.pdf）" if merged else ""))


@notices_cli.command("mark-overdue")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="判断日期，默认今天")
def mark_overdue_command(as_of) -> None:
    """Mark open notices past their deadline as overdue and list them."""
    notices = mark_overdue(as_of.date() if as_of else None)
    for n in notices:
        click.echo(f"{n.number}\t{n.owner_unit.name}\t期限 {n.deadline}")
    click.echo(f"新增逾期 {len(notices)} 份")




@notices_cli.command("check-base-url")
@click.option("--production", is_flag=True, help="生产模式：未设置或仍为默认值时拒绝（退出码 2）")
def check_base_url_command(production: bool) -> None:
    """Check REGISTRY_PUBLIC_BASE_URL, the address notice QR codes print; warn (or refuse) while it is the default."""
    raw = os.environ.get(ENV_PREFIX + "PUBLIC_BASE_URL")
    value = raw if production else current_app.config["PUBLIC_BASE_URL"]
    problem = public_base_url_problem(value)
    if problem is None and production and value.strip().rstrip("/") == DEFAULT_PUBLIC_BASE_URL:
        problem = f"REGISTRY_PUBLIC_BASE_URL 仍为默认值 {DEFAULT_PUBLIC_BASE_URL}，手机扫码无法打开核验页"
    if problem:
        click.echo(f"错误：{problem}", err=True)
        sys.exit(2)
    if value.strip().rstrip("/") == DEFAULT_PUBLIC_BASE_URL:
        click.echo("警告：REGISTRY_PUBLIC_BASE_URL 为默认值 " + DEFAULT_PUBLIC_BASE_URL
                   + "，通知书二维码中的核验地址只能在本机打开，手机扫码无法核验。"
                   "正式出具通知书前请设置为对外可访问的地址，如 REGISTRY_PUBLIC_BASE_URL=https://sbgx.xinzheng.gov.cn",
                   err=True)
        return
    click.echo(f"通知书核验地址：{value.rstrip('/')}/verify/…")

"""`flask registry import FILE` and `flask registry export ... --out F`."""
from __future__ import annotations

import os
import sys
import time

import click
import sqlalchemy as sa
from flask import current_app

from registry.cli import registry_cli
from registry.enums import Category
from registry.errors import DomainError
from registry.extensions import db

CATEGORY_CHOICE = click.Choice([c.value for c in Category])


def _user(username: str | None):
    if not username:
        return None
    from registry.accounts.models import User
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"用户「{username}」不存在")
    return user


@registry_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--category", type=CATEGORY_CHOICE, help="设备类别（默认按工作表名称或列名识别）")
@click.option("--as-user", "username", help="以该维护员身份导入（检查其部门权限，并记入历史）")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
def import_command(path: str, category: str | None, username: str | None, dry_run: bool) -> None:
    """Import an .xlsx or .csv 台账: validate every row, then write all rows or none."""
    from registry.assets.importer import run_import
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise click.ClickException(f"文件超过 {current_app.config['MAX_CONTENT_LENGTH'] // 1048576} MB 的大小上限")
    started = time.perf_counter()
    bars: dict = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = click.progressbar(length=max(total, 1), label=stage, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)
    try:
        result = run_import(data, os.path.basename(path), _user(username), Category(category) if category else None,
                            max_rows=current_app.config["IMPORT_MAX_ROWS"], dry_run=dry_run, progress=progress)
    except DomainError as exc:
        details = exc.errors.items() if isinstance(exc.errors, dict) else enumerate(exc.errors or [], 1)
        for key, value in details:
            click.echo(f"  {key}: {value}", err=True)
        raise click.ClickException(exc.message) from exc
    finally:
        for bar in bars.values():
            if not bar.finished:
                bar.__exit__(None, None, None)
    for p in result.warnings[:200]:
        click.echo(f"提示 第{p.row}行 [{p.column}] {p.message}", err=True)
    if not result.ok:
        for p in result.errors:
            click.echo(f"第{p.row}行 [{p.column}] {p.message}", err=True)
        raise click.ClickException(f"校验未通过：{len(result.errors)} 处错误，未写入任何数据")
    verb = "校验通过（未写入）" if dry_run else "导入完成"
    click.echo(f"{verb}：{result.category.label} {result.rows} 行，新建 {result.created}，更新 {result.updated}"
               f"（{result.changed_fields} 项修改），未变 {result.unchanged}，新建单位 {len(result.units_created)}，"
               f"用时 {time.perf_counter() - started:.1f} 秒")


@registry_cli.command("export")
@click.option("--category", type=CATEGORY_CHOICE, required=True, help="设备类别")
@click.option("--department", help="主管部门代码")
@click.option("--owner-unit", help="产权单位 id 或全称")
@click.option("--user-unit", help="使用单位 id 或全称")
@click.option("--township", help="乡镇/街道")
@click.option("--status", help="使用状态（值或中文）")
@click.option("--grade", help="状况等级（值或中文）")
@click.option("--age-min", help="使用年限下限（年）")
@click.option("--age-max", help="使用年限上限（年）")
@click.option("--year", help="投入使用年份")
@click.option("--q", help="关键词：编码或名称")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="输出 .xlsx 文件")
def export_command(out: str, **args) -> None:
    """Export a filtered 台账 as .xlsx (all departments: the CLI is the operator)."""
    from registry.assets.exporter import export_assets
    from registry.assets.filters import parse_filters
    started = time.perf_counter()
    try:
        filters = parse_filters({k: v for k, v in args.items() if v is not None})
        count = export_assets(filters, out, None, via="cli")
    except DomainError as exc:
        for key, value in (exc.errors or {}).items():
            click.echo(f"  {key}: {value}", err=True)
        raise click.ClickException(exc.message) from exc
    click.echo(f"已导出 {count} 条到 {out}，用时 {time.perf_counter() - started:.1f} 秒")

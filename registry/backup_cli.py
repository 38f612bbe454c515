"""`flask registry backup` and `flask registry restore`."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from registry.backup import BackupError, backup, restore

KEY_TABLES = (("assets", "设备"), ("findings", "规则结论"), ("notices", "更新告知书"),
              ("audit_records", "审计记录"), ("users", "用户"))


def _fail(what: str, exc: Exception | str) -> None:
    """Print a Chinese error (no traceback) and exit 1."""
    click.echo(f"{what}：{exc}", err=True)
    sys.exit(1)


def register(group: click.Group) -> None:
    """Add the backup and restore commands to the `registry` group."""
    group.add_command(backup_command)
    group.add_command(restore_command)


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="备份文件路径（.tar.gz）")
@with_appcontext
def backup_command(out: str) -> None:
    """Back up the database and instance files (notice PDFs, seals) into one .tar.gz bundle."""
    try:
        manifest = backup(out)
    except BackupError as exc:
        _fail("备份失败", exc)
    counts = manifest["counts"]
    click.echo(f"已备份到 {out}（{manifest['dialect']}，{len(counts)} 张表，共 {sum(counts.values())} 行，"
               f"{len(manifest['files'])} 个文件）")
    click.echo(f"设备 {counts.get('assets', 0)} 台，内容哈希 {manifest['hashes'].get('assets', '-')}")


@click.command("restore")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="目标数据库已有数据时仍然覆盖")
@with_appcontext
def restore_command(bundle: str, force: bool) -> None:
    """Restore a backup bundle into the configured (empty) database; verify counts and hashes."""
    try:
        manifest, summary, problems = restore(bundle, force=force)
    except BackupError as exc:
        _fail("恢复失败", exc)
    click.echo(f"已从 {bundle} 恢复（备份时间 {manifest['created_at']}）")
    for table, label in KEY_TABLES:
        click.echo(f"{label}（{table}）：{summary.counts.get(table, 0)} 行")
    click.echo(f"共 {len(summary.counts)} 张表 {sum(summary.counts.values())} 行；"
               f"文件 {len(manifest['files'])} 个")
    click.echo(f"设备内容哈希：{summary.hashes.get('assets', '-')}")
    if problems:
        for line in problems:
            click.echo(line, err=True)
        _fail("恢复结果与备份清单不一致", f"{len(problems)} 处（见上）")
    click.echo("行数、内容哈希和文件均与备份清单一致")
    click.echo("提示：请运行 flask registry audit verify 校验审计日志哈希链")

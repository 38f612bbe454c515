"""`flask registry audit verify|prune`."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

audit_cli = AppGroup("audit", help="审计日志：校验哈希链、按保留期清理")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the hash chain; list every edited, deleted or re-ordered record; exit 1 on any problem."""
    from registry.audit.integrity import verify
    report = verify()
    for problem in report.problems:
        click.echo(f"[{problem.kind}] #{problem.record_id}: {problem.message}")
    click.echo(f"已校验 {report.checked} 条记录；链尾 #{report.head_id} {report.head_hash or '-'}")
    if report.ok:
        click.echo("审计日志完整：未发现修改、删除或调换顺序的记录")
        return
    click.echo(f"发现 {len(report.problems)} 处问题", err=True)
    sys.exit(1)


@audit_cli.command("prune")
@click.option("--days", type=int, default=None, help="保留天数（默认取 REGISTRY_AUDIT_RETENTION_DAYS，最少 180）")
def prune_command(days: int | None) -> None:
    """Delete records older than the retention period, leaving a chained anchor record."""
    from registry.audit.integrity import MIN_RETENTION_DAYS, prune
    days = days if days is not None else int(current_app.config["AUDIT_RETENTION_DAYS"])
    if days < MIN_RETENTION_DAYS:
        raise click.ClickException(f"保留期 {days} 天过短：审计日志至少保留 {MIN_RETENTION_DAYS} 天")
    deleted = prune(days)
    click.echo(f"已清理 {deleted} 条超过 {days} 天的审计记录" if deleted else f"没有超过 {days} 天的审计记录")

"""`flask registry audit verify|prune`."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from registry.audit.integrity import MIN_RETENTION_DAYS, prune, verify

audit_cli = AppGroup("audit", help="审计日志：校验哈希链、按保留期清理")


def register(group: AppGroup) -> None:
    """Add the audit commands to the `registry` group."""
    group.add_command(audit_cli)


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the hash chain; list every edited, deleted or re-ordered record; exit 1 on any problem."""
    report = verify()
    for problem in report.problems:
        click.echo(f"[{problem.kind}] #{problem.record_id}: {problem.message}")
    click.echo(f"已校验 {report.checked} 条记录；链尾 #{report.head_id} {report.head_hash or '-'}")
    if report.unsigned:
        click.echo(f"其中 {report.unsigned} 条是启用审计密钥之前的旧记录（至 #{current_app.config['AUDIT_UNSIGNED_THROUGH_ID']}），"
                   "只有普通 SHA-256；它们由其后第一条签名记录锚定")
    edited = sum(p.kind == "edited" for p in report.problems)
    if report.checked and edited >= min(report.checked, 10):
        click.echo("提示：若几乎每条记录都显示被修改，多半是审计密钥不对（REGISTRY_AUDIT_KEY，或 instance/audit_key "
                   "丢失后重新生成）：请换回写入这些记录时的密钥再校验", err=True)
    if report.ok:
        click.echo("审计日志完整：未发现修改、删除或调换顺序的记录")
        return
    click.echo(f"发现 {len(report.problems)} 处问题", err=True)
    sys.exit(1)


@audit_cli.command("prune")
@click.option("--days", type=int, default=None, help="保留天数（默认取 REGISTRY_AUDIT_RETENTION_DAYS，最少 180）")
def prune_command(days: int | None) -> None:
    """Delete records older than the retention period, leaving a chained anchor record."""
    days = days if days is not None else int(current_app.config["AUDIT_RETENTION_DAYS"])
    if days < MIN_RETENTION_DAYS:
        raise click.ClickException(f"保留期 {days} 天过短：审计日志至少保留 {MIN_RETENTION_DAYS} 天")
    deleted = prune(days)
    click.echo(f"已清理 {deleted} 条超过 {days} 天的审计记录" if deleted else f"没有超过 {days} 天的审计记录")

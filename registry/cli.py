"""The `flask registry ...` command group: it only collects the commands each domain registers."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from registry import backup_cli
from registry.accounts import cli as accounts_cli
from registry.audit import cli as audit_cli
from registry.demo import cli as demo_cli
from registry.jobs import cli as jobs_cli
from registry.notices import cli as notices_cli
from registry.orgs.reference import ensure_reference_data
from registry.planning import cli as planning_cli
from registry.planning.reference import ensure_planning_reference
from registry.rules import cli as rules_cli
from registry.rules.versions import seed_packs
from registry.tasks import cli as tasks_cli
from registry.transfer import cli as transfer_cli

DOMAIN_COMMANDS = (accounts_cli.register, audit_cli.register, demo_cli.register, jobs_cli.register,
                   rules_cli.register, notices_cli.register, planning_cli.register, transfer_cli.register,
                   tasks_cli.register, backup_cli.register)


@click.command("seed-reference")
@with_appcontext
def seed_reference() -> None:
    """Load every domain's reference data: departments, rule packs, plan targets and costs (idempotent)."""
    click.echo(f"已补充 {ensure_reference_data()} 个主管部门")
    click.echo(f"已加载 {seed_packs()} 条规则（规则包）")
    targets, costs = ensure_planning_reference()
    click.echo(f"已补充 {targets} 项计划目标、{costs} 项更新费用估算")


def register_commands(app: Flask) -> None:
    """Attach a fresh `registry` command group, filled by every domain, to `app`."""
    group = AppGroup("registry", help="设备更新台账管理命令")
    group.add_command(seed_reference)
    for register in DOMAIN_COMMANDS:
        register(group)
    app.cli.add_command(group)

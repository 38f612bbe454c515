"""CLI: `flask registry rules seed|list` and `flask registry evaluate`."""
from __future__ import annotations

import json
import sys
from datetime import date

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from registry.enums import Category
from registry.extensions import db
from registry.rules.models import Rule
from registry.rules.services import evaluate_inventory, findings_of
from registry.rules.versions import seed_packs

rules_cli = AppGroup("rules", help="规则引擎：规则包与规则版本")


@rules_cli.command("seed")
@click.option("--pack", "packs", multiple=True, type=click.Choice(["plan", "national"]),
              help="只加载指定规则包（默认两者都加载；国家标准包默认停用）")
def seed_command(packs: tuple[str, ...]) -> None:
    """Load the shipped rule packs (idempotent: existing codes are left alone)."""
    added = seed_packs(packs or ("plan", "national"))
    click.echo(f"已加载 {added} 条规则")


@rules_cli.command("list")
def list_command() -> None:
    """Print the current version of every rule."""
    for rule in db.session.scalars(sa.select(Rule).where(Rule.is_current.is_(True)).order_by(Rule.pack.desc(), Rule.code)):
        state = "启用" if rule.enabled else "停用"
        click.echo(f"{rule.code}\tv{rule.version}\t{state}\t{rule.category.label}\t{rule.title}\t{rule.citation}")


def _rows(evaluation):
    for finding, code, name, _cat, _dept in db.session.execute(findings_of(evaluation.id)):
        yield {"asset_code": code, "asset_name": name, "rule_code": finding.rule_code,
               "rule_version": finding.rule_version, "outcome": finding.outcome.value,
               "outcome_label": finding.outcome.label, "result": finding.result,
               "explanation": finding.explanation,
               "deadline": finding.deadline.isoformat() if finding.deadline else None,
               "overdue": finding.overdue, "as_of": finding.as_of.isoformat()}


def evaluate_command_impl(as_of: date, category: str | None, fmt: str, out: str | None) -> None:
    """Run a whole-inventory evaluation and write its findings."""
    evaluation = evaluate_inventory(as_of, Category(category) if category else None)
    rows = _rows(evaluation)
    if fmt == "xlsx":
        from registry.rules.exports import write_xlsx
        if not out:
            raise click.UsageError("xlsx 格式须用 --out 指定输出文件")
        write_xlsx(rows, out)
    else:
        stream = open(out, "w", encoding="utf-8") if out else sys.stdout
        try:
            if fmt == "json":
                stream.write("[\n")
                for i, row in enumerate(rows):
                    stream.write((",\n" if i else "") + json.dumps(row, ensure_ascii=False))
                stream.write("\n]\n")
            else:
                for row in rows:
                    mark = "逾期" if row["overdue"] else ""
                    stream.write(f"{row['asset_code']}\t{row['rule_code']} v{row['rule_version']}\t"
                                 f"{row['outcome_label']}\t{row['deadline'] or ''}\t{mark}\t{row['explanation']}\n")
        finally:
            if out:
                stream.close()
    click.echo(f"评估日期 {as_of}：{evaluation.asset_count} 台设备，{evaluation.finding_count} 条结果"
               f"（评估编号 {evaluation.id}）", err=True)


def register(registry_cli) -> None:
    """Attach the rules commands to the `registry` group."""
    registry_cli.add_command(rules_cli)

    @registry_cli.command("evaluate")
    @click.option("--as-of", "as_of", required=True, type=click.DateTime(["%Y-%m-%d"]), help="评估日期 YYYY-MM-DD")
    @click.option("--category", type=click.Choice(Category.values()), help="只评估一个设备类别")
    @click.option("--format", "fmt", type=click.Choice(["table", "json", "xlsx"]), default="table", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, writable=True), help="输出文件（xlsx 必填）")
    def evaluate_command(as_of, category, fmt, out):
        """Evaluate every enabled rule over the inventory as of a date and save the findings."""
        evaluate_command_impl(as_of.date(), category, fmt, out)

"""`flask registry plan ...`: build a plan from the command line."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from registry.errors import DomainError
from registry.planning.services import create_plan

plan_cli = AppGroup("plan", help="年度分批更新计划")


def register(group: AppGroup) -> None:
    """Add the plan commands to the `registry` group."""
    group.add_command(plan_cli)


def _pairs(values: tuple[str, ...], what: str) -> dict:
    out: dict = {}
    for item in values:
        key, sep, number = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{what}格式应为 键=数值（当前：{item}）")
        if what == "配额":
            cat, sep2, year = key.partition(":")
            if not sep2:
                raise click.BadParameter(f"配额格式应为 类别:年度=数量，如 official_car:2025=10（当前：{item}）")
            out.setdefault(cat, {})[year] = number
        else:
            out[key] = number
    return out


@plan_cli.command("build")
@click.option("--from", "year_from", required=True, help="起始年度，如 2025")
@click.option("--to", "year_to", required=True, help="截止年度，如 2027")
@click.option("--department", help="部门代码（不填为全市），如 jgsw")
@click.option("--quota", multiple=True, help="年度配额，类别:年度=数量，如 official_car:2025=10（可重复）")
@click.option("--budget", multiple=True, help="年度预算（元），年度=金额，如 2025=5000000（可重复）")
@click.option("--name", help="计划名称")
def build_command(year_from, year_to, department, quota, budget, name) -> None:
    """Build a draft plan from the latest evaluation and print its summary."""
    started = time.perf_counter()
    try:
        plan = create_plan(year_from=year_from, year_to=year_to, department_code=department,
                           quotas=_pairs(quota, "配额"), budgets=_pairs(budget, "预算"), name=name)
    except DomainError as exc:
        for field, messages in (exc.errors or {}).items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        raise click.ClickException(exc.message) from exc
    s = plan.summary
    click.echo(f"已编制计划 {plan.id}「{plan.name}」（草稿），依据 {plan.evaluation_as_of} 评估结果")
    for year, cats in s["by_year"].items():
        click.echo(f"  {year}年：{sum(cats.values())} 项，估算 {s['cost_by_year'].get(year, 0):,} 元")
    click.echo(f"  未能列入：{s['unplaced']} 项（其中强制类 {s['unplaced_mandatory']} 项）")
    for row in s["shortfalls"]:
        if row["shortfall"]:
            click.echo(f"  目标缺口：{row['title']} 缺 {row['shortfall']} 项")
    click.echo(f"用时 {time.perf_counter() - started:.1f} 秒")

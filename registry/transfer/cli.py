"""`flask registry import FILE` and `flask registry export ... --out F`."""
from __future__ import annotations

import json
import os
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.accounts.cli import user_option
from registry.assets.filters import parse_filters
from registry.enums import Category
from registry.errors import DomainError
from registry.orgs.cli import department_option
from registry.orgs.reference import department_for_category
from registry.transfer import ledger, profiles
from registry.transfer import mapping as mp
from registry.transfer.exports import export_assets
from registry.transfer.importer import run_import
from registry.transfer.mapping import lookup_field
from registry.transfer.upload import LayoutMismatch

CATEGORY_CHOICE = click.Choice([c.value for c in Category])


def register(group: click.Group) -> None:
    """Add the import and export commands to the `registry` group."""
    group.add_command(import_command)
    group.add_command(export_command)
    group.add_command(profiles_cli)


@click.command("import")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--category", type=CATEGORY_CHOICE, help="设备类别（默认按工作表名称或列名识别）")
@click.option("--as-user", "username", help="以该维护员身份导入（检查其部门权限，并记入历史）")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
@click.option("--sheet", help="要导入的工作表名称（文件有多个数据工作表时）")
@click.option("--preview", is_flag=True, help="显示找到的表头、建议的列和值映射、跳过的行，不写入")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False), help="映射方案 JSON 文件")
@click.option("--set", "sets", multiple=True, metavar="字段=值", help="必填字段没有对应列时，为所有行填同一个值")
@click.option("--copy", "copies", multiple=True, metavar="字段=源列名", help="用另一列的值填该字段")
@click.option("--accept-suggestions", is_flag=True, help="按建议的映射导入；仍有未确定的列或值时拒绝")
@click.option("--keep-hidden", is_flag=True, help="隐藏的行和列也导入")
@click.option("--partial-dates", type=click.Choice(["first", "mid", "refuse"]),
              help="只有年份或年月的日期：first 按首日，mid 按年中/月中，refuse 拒绝")
@click.option("--save-profile", help="校验通过后把映射保存为本部门的映射方案（名称）")
@click.option("--department", help="映射方案所属部门代码（默认为 --as-user 的部门，或该类别的主管部门）")
def import_command(path: str, category: str | None, username: str | None, dry_run: bool, sheet: str | None,
                   preview: bool, mapping_path: str | None, sets: tuple, copies: tuple, accept_suggestions: bool,
                   keep_hidden: bool, partial_dates: str | None, save_profile: str | None,
                   department: str | None) -> None:
    """Import an .xlsx/.xls/.ods/.csv 台账: map its columns, validate every row, then write all rows or none."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise click.ClickException(f"文件超过 {current_app.config['MAX_CONTENT_LENGTH'] // 1048576} MB 的大小上限")
    started = time.perf_counter()
    user = user_option(username)
    cat = Category(category) if category else None
    ledger_options = any([sheet, preview, mapping_path, sets, copies, accept_suggestions, keep_hidden,
                          partial_dates, save_profile])
    try:
        result = None
        if not ledger_options:
            try:
                result = run_import(data, os.path.basename(path), user, cat,
                                    max_rows=current_app.config["IMPORT_MAX_ROWS"], dry_run=dry_run,
                                    progress=_progress_bars())
            except LayoutMismatch:
                result = None  # not the registry's template: read it as a ledger below
        if result is None:
            result = _ledger_import(data, os.path.basename(path), user, cat, dry_run=dry_run, sheet=sheet,
                                    preview=preview, mapping_path=mapping_path, sets=sets, copies=copies,
                                    accept=accept_suggestions, keep_hidden=keep_hidden,
                                    partial_dates=partial_dates, save_profile=save_profile,
                                    department=department)
            if result is None:
                return
    except DomainError as exc:
        details = exc.errors.items() if isinstance(exc.errors, dict) else enumerate(exc.errors or [], 1)
        for key, value in details:
            click.echo(f"  {key}: {value}", err=True)
        raise click.ClickException(exc.message) from exc
    for p in result.warnings[:200]:
        click.echo(f"提示 第{p.row}行 [{p.column}] {p.message}", err=True)
    if not result.ok:
        for p in result.errors:
            click.echo(f"{p.where} {p.message}" if p.sheet else f"第{p.row}行 [{p.column}] {p.message}", err=True)
        raise click.ClickException(f"校验未通过：{len(result.errors)} 处错误，未写入任何数据")
    verb = "校验通过（未写入）" if dry_run else "导入完成"
    parts = [f"{result.category.label} {result.rows} 行，新建 {result.created}，更新 {result.updated}"
             f"（{result.changed_fields} 项修改），未变 {result.unchanged}，新建单位 {len(result.units_created)}"
             ] if result.category else []
    parts += [f"{r.name} {len(r.rows)} 行，新登记 {r.created}，已有且相同 {r.unchanged}" for r in result.records]
    click.echo(f"{verb}：{'；'.join(parts)}，用时 {time.perf_counter() - started:.1f} 秒")


def _progress_bars():
    bars: dict = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = click.progressbar(length=max(total, 1), label=stage, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)
    return progress


def _pairs(items: tuple, category: Category, option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        name = lookup_field(category, key.strip())
        if not sep or name is None:
            raise click.ClickException(f"{option} {item}：应写成 字段=值，字段为{category.label}的字段名或中文列名")
        out[name] = value.strip()
    return out


def _department_id(user, department: str | None, category: Category) -> int | None:
    if department:
        return department_option(department).id
    if user is not None and user.department_id:
        return user.department_id
    return department_for_category(category).id


def _ledger_import(data, filename, user, category, *, dry_run, sheet, preview, mapping_path, sets, copies, accept,
                   keep_hidden, partial_dates, save_profile, department):
    analysis = ledger.analyse(data, filename, category=category, sheet=sheet, keep_hidden=keep_hidden)
    dept_id = _department_id(user, department, analysis.category)
    analysis = ledger.analyse(data, filename, category=analysis.category, sheet=analysis.sheet.name,
                              keep_hidden=keep_hidden, department_id=dept_id)
    mapping = analysis.mapping
    if mapping_path:
        try:
            with open(mapping_path, encoding="utf-8") as fh:
                given = json.load(fh)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"映射方案文件无法读取：{exc}") from None
        profiles.check_profile_department(given, user)
        if given.get("department") and department and given["department"] != department:
            raise click.ClickException(f"映射方案属于其他部门（{given['department']}），不能用于 {department}")
        mapping = ledger.merge_profile(mapping, given)
    mapping["set"].update(_pairs(sets, analysis.category, "--set"))
    mapping["copy"].update(_pairs(copies, analysis.category, "--copy"))
    if partial_dates:
        mapping["partial_dates"] = partial_dates
    if preview:
        _print_preview(analysis, mapping)
        result = ledger.run_ledger_import(analysis, mapping, user, dry_run=True,
                                          max_rows=current_app.config["IMPORT_MAX_ROWS"]) \
            if not mp.check_mapping(analysis.table, analysis.category, mapping) else None
        if result is not None:
            _print_rows(result)
        click.echo("预览完成，未写入任何数据")
        return None
    if not (accept or mapping_path or analysis.profile):
        problems = mp.check_mapping(analysis.table, analysis.category, mapping)
        raise click.ClickException("该文件不是本系统模板，列映射需要确认：先用 --preview 查看建议，"
                                   "再用 --accept-suggestions、--mapping 方案.json 或 --set/--copy 导入"
                                   + ("；尚未确定：" + "；".join(problems) if problems else ""))
    result = ledger.run_ledger_import(analysis, mapping, user, dry_run=dry_run,
                                      max_rows=current_app.config["IMPORT_MAX_ROWS"], progress=_progress_bars())
    if save_profile and result.ok:
        profiles.save_profile(analysis, mapping, save_profile, user, dept_id)
        click.echo(f"已保存映射方案「{save_profile}」")
    for row, why in result.skipped:
        click.echo(f"跳过 第{row}行：{why}", err=True)
    return result


def _print_preview(analysis, mapping) -> None:
    t, cat = analysis.table, analysis.category
    click.echo(f"工作表：{analysis.sheet.name or '（CSV）'}；表头在第 {'、'.join(str(r + 1) for r in t.header_rows)} 行；"
               f"类别：{cat.label}" + (f"；已套用映射方案「{analysis.profile.name}」" if analysis.profile else ""))
    conf = mapping.get("_confidence", {})
    click.echo("列映射：")
    for c in t.columns:
        target = mapping["columns"].get(c.title, mp.EXTRA)
        note = "（隐藏列）" if c.hidden else ""
        click.echo(f"  {c.letter} 列「{c.title}」→ {mp.describe_target(cat, target)}"
                   f"  置信度 {conf.get(c.title, 1.0):.2f}{note}")
    for name, value in mapping.get("set", {}).items():
        click.echo(f"  {mp.describe_target(cat, name)} ← 所有行填「{value}」")
    for name, source in mapping.get("copy", {}).items():
        click.echo(f"  {mp.describe_target(cat, name)} ← 复制列「{source}」")
    specs = mp.specs_by_name(cat)
    for name in mp.GENERATED:
        if name not in mapping["columns"].values() and name not in mapping.get("set", {}) \
                and name not in mapping.get("copy", {}):
            click.echo(f"  {specs[name].label} ← {mp.GENERATED[name]}")
    stats = mp.value_stats(t, cat, mapping)
    if stats:
        click.echo("值映射：")
    for name, counts in stats.items():
        for raw, n in counts.most_common():
            chosen = mapping.get("values", {}).get(name, {}).get(raw)
            label, confidence = mp.suggest_value(specs[name], raw)
            if chosen:
                label = chosen
                confidence = mapping.get("_value_confidence", {}).get(name, {}).get(raw, 1.0)
            click.echo(f"  {specs[name].label}「{raw}」×{n} → {label or '（未确定）'}  置信度 {confidence:.2f}")
    click.echo(f"日期只有年份或年月时：{mp.PARTIAL_DATE_POLICIES[mapping.get('partial_dates', 'first')]}")
    click.echo(f"数据行 {len(t.data_rows)}，跳过 {len(t.skipped)} 行：" +
               "；".join(f"第{r + 1}行 {why}" for r, why in t.skipped[:50]))
    if t.filled:
        click.echo("合并单元格已向下填充：" + "、".join(t.filled[:20]))
    for problem in mp.check_mapping(t, cat, mapping):
        click.echo(f"未确定：{problem}")


def _print_rows(result) -> None:
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    for status, _ in result.row_status.values():
        counts[status] += 1
    click.echo(f"将新建 {counts['new']}，修改 {counts['changed']}，未变 {counts['unchanged']}，"
               f"有错 {len({p.row for p in result.errors})} 行，跳过 {len(result.skipped)} 行")
    for row, (status, fields) in sorted(result.row_status.items())[:20]:
        if status == "changed":
            click.echo(f"  第{row}行 修改：{'、'.join(fields)}")
    click.echo("  " + " | ".join(result.preview_header))
    for row, values in result.preview:
        click.echo(f"  第{row}行 " + " | ".join(values))
    for p in result.errors[:200]:
        click.echo(f"错误 第{p.row}行 [{p.column}] {p.message}")


# The asset-list filters `export` takes (registry.assets.filters documents each), with their --help text.
EXPORT_FILTERS = {
    "department": "主管部门代码", "owner-unit": "产权单位 id 或全称", "user-unit": "使用单位 id 或全称",
    "unit": "产权或使用单位名称（包含匹配）", "township": "乡镇/街道", "status": "使用状态（值或中文）",
    "grade": "状况等级（值或中文）", "age-min": "使用年限下限（年）", "age-max": "使用年限上限（年）", "year": "投入使用年份",
    "q": "关键词：编码开头（ASCII）或名称中的文字", "sort": "行的顺序：id、code、commissioned_on，前加 - 为降序（默认 id）",
}


def _filter_options(command):
    """Add one text option per entry of EXPORT_FILTERS, in that order on --help."""
    for name, text in reversed(EXPORT_FILTERS.items()):
        command = click.option(f"--{name}", help=text)(command)
    return command


@click.command("export")
@with_appcontext
@click.option("--category", type=CATEGORY_CHOICE, required=True, help="设备类别")
@_filter_options
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="输出 .xlsx 文件")
def export_command(out: str, **args) -> None:
    """Export a filtered 台账 as .xlsx (all departments: the CLI is the operator)."""
    started = time.perf_counter()
    try:
        filters = parse_filters({k: v for k, v in args.items() if v is not None})
        count = export_assets(filters, out, None, via="cli")
    except DomainError as exc:
        for key, value in (exc.errors or {}).items():  # each message names its parameter in Chinese
            click.echo(f"  {key}: {'；'.join(value) if isinstance(value, list) else value}", err=True)
        raise click.ClickException(exc.message) from exc
    click.echo(f"已导出 {count} 条到 {out}，用时 {time.perf_counter() - started:.1f} 秒")


profiles_cli = click.Group("profiles", help="导入映射方案：列出、导出为 JSON、从 JSON 导入")


@profiles_cli.command("list")
@with_appcontext
@click.option("--department", required=True, help="部门代码，如 zjj")
def profiles_list(department: str) -> None:
    """List a department's mapping profiles (id, category, name, columns)."""
    for p in profiles.department_profiles(department_option(department).id):
        click.echo(f"{p.id:6}  {p.category.label:8}  {p.name}（{len(p.mapping.get('header', []))} 列）")


@profiles_cli.command("export")
@with_appcontext
@click.argument("profile_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--department", required=True, help="方案所属部门代码")
@click.option("-o", "--out", type=click.Path(dir_okay=False, writable=True), help="写入文件（默认输出到屏幕）")
def profiles_export(profile_id: int, department: str, out: str | None) -> None:
    """Write one of the department's profiles as JSON (the same file the web page downloads)."""
    profile = profiles.get_profile(profile_id, department_option(department).id)
    if profile is None:
        raise click.ClickException(f"{department} 没有编号为 {profile_id} 的映射方案")
    text = json.dumps(profiles.export_profile(profile), ensure_ascii=False, indent=2)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        click.echo(f"已导出映射方案「{profile.name}」到 {out}")
    else:
        click.echo(text)


@profiles_cli.command("import")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--department", required=True, help="保存到哪个部门（代码）；其他部门的方案会被拒绝")
@click.option("--replace", "replace_id", type=click.IntRange(1, 2**31 - 1), help="替换该编号方案的映射（保留名称）")
@click.option("--as-user", "username", help="记入审计日志的用户名")
def profiles_import(path: str, department: str, replace_id: int | None, username: str | None) -> None:
    """Save a profile JSON for the department (validated as on the web page; same name replaces)."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"映射方案文件不是有效的 JSON（UTF-8）：{str(exc)[:200]}") from None
    try:
        profile = profiles.import_profile(data, department, user_option(username), replace_id=replace_id)
    except DomainError as exc:
        details = exc.errors.items() if isinstance(exc.errors, dict) else enumerate(exc.errors or [], 1)
        for key, value in details:
            click.echo(f"  {key}: {value}", err=True)
        raise click.ClickException(exc.message) from exc
    click.echo(f"已保存映射方案「{profile.name}」（编号 {profile.id}，{profile.category.label}）")

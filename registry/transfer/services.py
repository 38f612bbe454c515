"""Imports as the pages run them: one function per step, the same in the request and in the worker."""
from __future__ import annotations

import json

from flask import current_app

from registry.enums import Category
from registry.transfer import excel, ledger, mapping as mp, profiles, stored
from registry.transfer.importer import Progress, run_import
from registry.transfer.outcome import preview_outcome, rejected_outcome, result_outcome
from registry.transfer.upload import ImportRejected, LayoutMismatch


def _max_rows() -> int:
    return current_app.config["IMPORT_MAX_ROWS"]


def refused(exc: ImportRejected, filename: str, user) -> dict:
    """Audit a file refused as a whole and summarise it for the result page."""
    ledger.record_rejection(filename, {"reason": exc.message}, user)
    return rejected_outcome(exc, filename)


def _finished(result, filename: str, user) -> dict:
    """Audit a refused import, keep its marked-up copy, and summarise it."""
    report = None
    if not result.ok:
        ledger.record_rejection(filename, {"errors": len(result.errors), "rows": result.rows}, user)
        report = stored.save(excel.error_report(result), filename, getattr(user, "id", None))
    return result_outcome(result, filename, report=report)


def import_template(data: bytes, filename: str, user, category: Category | None,
                    progress: Progress | None = None) -> dict:
    """Import a file in the registry's template at once; raise LayoutMismatch for any other ledger."""
    try:
        result = run_import(data, filename, user, category, max_rows=_max_rows(), progress=progress)
    except ImportRejected as exc:
        if isinstance(exc, LayoutMismatch):
            raise
        return refused(exc, filename, user)
    return _finished(result, filename, user)


def parse_category(raw: str | None) -> Category | None:
    """Return the category a form names (empty: none), or refuse an unknown one."""
    if not raw:
        return None
    try:
        return Category(raw)
    except ValueError:
        raise ImportRejected("所选设备类别无效") from None


def analyse_upload(token: str, user, form: dict, progress: Progress | None = None):
    """Read one's own stored upload with the sheet, category and hidden-row choices of `form`."""
    data, meta = stored.load(token, getattr(user, "id", None))
    category = parse_category(form.get("category")) or parse_category(meta.get("category"))
    if progress:
        progress("读取文件", 0, 1)
    analysis = ledger.analyse(data, meta["filename"], category=category, sheet=form.get("sheet") or None,
                              keep_hidden=form.get("keep_hidden") == "1", department_id=user.department_id)
    if progress:
        progress("读取文件", 1, 1)
    return analysis, meta


def mapping_from_form(analysis, form: dict) -> dict:
    """Read the mapping page back: one target per column, one label per value, set values and policy."""
    if form.get("mapping_json"):
        try:
            return json.loads(form["mapping_json"])
        except ValueError:
            raise ImportRejected("映射数据有误，请重新上传") from None
    mapping = json.loads(json.dumps(analysis.mapping))
    for i, col in enumerate(analysis.table.columns):
        target = form.get(f"col-{i}")
        if target:
            mapping["columns"][col.title] = target
    values = mapping.setdefault("values", {})
    for key in form:
        if key.startswith("val-"):
            _, idx = key.split("-", 1)
            name, raw = form.get(f"valname-{idx}", ""), form.get(f"valraw-{idx}", "")
            if name and form[key]:
                values.setdefault(name, {})[raw] = form[key]
            elif name:
                values.setdefault(name, {})[raw] = None  # left 未确定 on purpose
    mapping["set"] = {k[4:]: v.strip() for k, v in form.items() if k.startswith("set-") and v.strip()}
    mapping["copy"] = {k[5:]: v for k, v in form.items() if k.startswith("copy-") and v}
    mapping["partial_dates"] = form.get("partial_dates", "first")
    return mapping


def preview_ledger(token: str, user, form: dict, progress: Progress | None = None) -> dict:
    """Check the whole ledger under the mapping of `form`, write nothing, and summarise what would be stored.

    A mapping the page must show again (a problem with it) comes back as {"page": "mapping"}."""
    filename = "?"
    try:
        analysis, meta = analyse_upload(token, user, form, progress)
        filename = analysis.filename
        mapping = mapping_from_form(analysis, form)
        if mp.check_mapping(analysis.table, analysis.category, mapping):
            return {"page": "mapping", "mapping": mapping, "filename": filename}
        result = ledger.run_ledger_import(analysis, mapping, user, dry_run=True, max_rows=_max_rows(),
                                          progress=progress)
    except ImportRejected as exc:
        return refused(exc, filename, user)
    report = stored.save(excel.error_report(result), filename, user.id) if result.errors else None
    return preview_outcome(analysis, result, mapping, token=token, report=report,
                           profile_name=form.get("profile_name", ""))


def confirm_ledger(token: str, user, form: dict, progress: Progress | None = None) -> dict:
    """Write the previewed ledger in one transaction (or nothing); save the mapping as a profile if named."""
    filename = "?"
    try:
        analysis, meta = analyse_upload(token, user, form, progress)
        filename = analysis.filename
        mapping = mapping_from_form(analysis, form)
        result = ledger.run_ledger_import(analysis, mapping, user, max_rows=_max_rows(), progress=progress)
        name = (form.get("profile_name") or "").strip()[:80]
        if result.ok and name:
            profiles.save_profile(analysis, mapping, name, user, user.department_id)
    except ImportRejected as exc:
        return refused(exc, filename, user)
    return _finished(result, filename, user)

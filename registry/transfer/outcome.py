"""What an import page shows, as plain data: the same for an import checked in the request and one the
worker ran (stored with its task), so both render from one template."""
from __future__ import annotations

import json

SHOWN_PROBLEMS = 500
STATUS_LABELS = {"new": "新建", "changed": "修改", "unchanged": "未变"}


def _problems(items, shown: int) -> list[dict]:
    return [{"row": p.row, "column": p.column, "message": p.message, "sheet": getattr(p, "sheet", None)}
            for p in items[:shown]]


def result_outcome(result, filename: str, *, report: str | None = None, shown: int = SHOWN_PROBLEMS) -> dict:
    """Summarise a finished import (written, or refused by its rows) for the result page."""
    return {
        "page": "result", "filename": filename, "ok": result.ok, "report": report, "shown": shown,
        "category_label": result.category.label if result.category else "", "rows": result.rows,
        "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
        "changed_fields": result.changed_fields, "truncated": result.truncated,
        "units_created": result.units_created[:20], "units_created_count": len(result.units_created),
        "errors": _problems(result.errors, shown), "error_count": len(result.errors),
        "warnings": _problems(result.warnings, shown), "warning_count": len(result.warnings),
        "records": [{"name": r.name, "rows": len(r.rows), "created": r.created, "unchanged": r.unchanged}
                    for r in result.records],
    }


def preview_outcome(analysis, result, mapping: dict, *, token: str, profile_name: str = "",
                    report: str | None = None, shown: int = SHOWN_PROBLEMS) -> dict:
    """Summarise a checked (not written) ledger for the preview page, with what confirming needs."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    for status, _ in result.row_status.values():
        counts[status] += 1
    rows = []
    for row, values in result.preview:
        status, fields = result.row_status.get(row, ("", []))
        rows.append({"row": row, "status": STATUS_LABELS.get(status, "有错"), "fields": list(fields), "values": values})
    clean = {k: v for k, v in mapping.items() if not k.startswith("_")}
    return {
        "page": "preview", "filename": analysis.filename, "token": token, "report": report, "shown": shown,
        "category": analysis.category.value, "category_label": analysis.category.label,
        "sheet": analysis.sheet.name or "", "keep_hidden": analysis.keep_hidden, "counts": counts,
        "error_count": len(result.errors), "error_rows": len({p.row for p in result.errors}),
        "errors": _problems(result.errors, shown), "warnings": _problems(result.warnings, shown),
        "skipped_count": len(result.skipped), "preview_header": result.preview_header, "rows": rows,
        "mapping_json": json.dumps(clean, ensure_ascii=False), "profile_name": profile_name,
    }


def rejected_outcome(exc, filename: str) -> dict:
    """Summarise a file refused as a whole (not a spreadsheet, no header, too many rows …)."""
    return {"page": "result", "filename": filename, "rejected": {"message": exc.message, "errors": exc.errors},
            "status": exc.status}

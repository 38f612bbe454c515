"""Imports the worker runs: a large upload is checked and written there, with progress, not in the request."""
from __future__ import annotations

from registry.tasks.services import handler
from registry.transfer import services, stored
from registry.transfer.upload import LayoutMismatch

IMPORT_TASK = "transfer.import"
OUTCOME_PAGE = "transfer.import_outcome"


@handler(IMPORT_TASK)
def run_import_task(task_id: int, payload: dict, progress, user) -> dict:
    """Run one import step (template import, ledger preview or confirm) of a stored upload."""
    step, token, form = payload["step"], payload["token"], payload.get("form") or {}
    if step == "template":
        data, meta = stored.load(token, user.id)
        try:
            outcome = services.import_template(data, meta["filename"], user,
                                               services.parse_category(form.get("category")), progress)
        except LayoutMismatch:
            return {"open": "transfer.import_mapping", "args": {"token": token}}
    elif step == "preview":
        outcome = services.preview_ledger(token, user, form, progress)
    else:
        outcome = services.confirm_ledger(token, user, form, progress)
    return {"outcome": outcome, "open": OUTCOME_PAGE, "args": {"task_id": task_id}}

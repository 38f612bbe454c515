"""Rule work the worker runs: the impact preview of a rule change over a large inventory, with progress."""
from __future__ import annotations

from datetime import date

from registry.assets.scoping import asset_scope
from registry.rules.forms import changes_from_form
from registry.rules.impact import preview
from registry.tasks.services import handler

IMPACT_TASK = "rules.impact"
RESULT_PAGE = "rules.impact_result"
# The edit form's fields a preview task keeps, so its result page shows the form as it was submitted.
FORM_FIELDS = ("title", "citation", "params", "outcome", "deadline_type", "deadline_date", "deadline_days",
               "deadline_late_days", "effective_from", "effective_to", "enabled", "verified", "notes", "as_of")


def impact_payload(code: str, form, as_of: date) -> dict:
    """Return the task payload of a preview: the rule, the submitted form (its known fields) and the date."""
    return {"code": code, "as_of": as_of.isoformat(),
            "form": {name: form.get(name) for name in FORM_FIELDS if form.get(name) is not None}}


@handler(IMPACT_TASK)
def run_impact_task(task_id: int, payload: dict, progress, user) -> dict:
    """Preview a rule change over the requester's scope as of the payload's date; nothing is saved."""
    changes = changes_from_form(payload["form"])
    impact = preview(payload["code"], changes, date.fromisoformat(payload["as_of"]), asset_scope(user), progress)
    page = {"code": payload["code"], "task_id": task_id, "_anchor": "impact"}  # opens at the preview, below the form
    return {"impact": impact.to_json(), "open": RESULT_PAGE, "args": page}

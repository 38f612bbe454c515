"""The page a person watches while their background task runs: a progress bar it polls, then the result."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, url_for
from flask_login import current_user

from registry.accounts.access import roles_required
from registry.enums import TaskStatus
from registry.tasks import services

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def _state(task) -> dict:
    """Return what the page shows of a task (also its JSON for the poll)."""
    stalled = services.stalled(task)
    return {"id": task.id, "status": task.status.value, "status_label": "已中断" if stalled else task.status.label,
            "finished": task.status in (TaskStatus.DONE, TaskStatus.FAILED) or stalled, "stalled": stalled,
            "stage": task.stage, "done": task.done, "total": task.total, "percent": task.percent,
            "error": task.error, "redirect": _opens(task.result) if task.status is TaskStatus.DONE else None}


def _opens(result: dict | None) -> str | None:
    """Return the page a finished task's result opens: {"open": endpoint, "args": {...}} from its handler."""
    if not result or not result.get("open"):
        return None
    return url_for(result["open"], **(result.get("args") or {}))


@bp.route("/<int:task_id>")
@roles_required()
def show(task_id: int):
    """Show one of the user's tasks: its progress while it runs, its outcome (or a link to it) when done."""
    task = services.task_for(current_user, task_id)
    return render_template("tasks/show.html", task=task, state=_state(task))


@bp.route("/<int:task_id>.json")
@roles_required()
def state(task_id: int):
    """Return the task's progress for the page's poll."""
    return jsonify(_state(services.task_for(current_user, task_id)))

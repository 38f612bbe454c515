"""Command-line helpers for the reference organisations (the commands themselves live in their domains)."""
from __future__ import annotations

import click

from registry.orgs.models import Department
from registry.orgs.services import department_by_code


def department_option(code: str) -> Department:
    """Return the department a command's --department names; an unknown code stops the command."""
    department = department_by_code(code)
    if department is None:
        raise click.ClickException(f"部门代码「{code}」不存在")
    return department

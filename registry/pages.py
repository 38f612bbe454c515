"""What the HTML views share: the answer to a change that went through."""
from __future__ import annotations

from flask import flash, redirect, url_for


def done(message: str, endpoint: str, **values):
    """Show `message` as a success on the next page and redirect there (post, redirect, get)."""
    flash(message, "success")
    return redirect(url_for(endpoint, **values))

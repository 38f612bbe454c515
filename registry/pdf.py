"""HTML -> PDF: the one module that imports WeasyPrint.

Minimal stand-in written by the jobs branch with the same `render_pdf(template, context,
stylesheet)` signature as the notices branch's module (which ships font subsets and more);
when both are merged, keep the notices version. Stylesheets live in static/pdf/; fonts are the
system Noto CJK faces (Debian fonts-noto-cjk). One FontConfiguration and the parsed stylesheets
are reused across renders, WeasyPrint's costliest setup steps.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import render_template

STYLE_DIR = Path(__file__).resolve().parent / "static" / "pdf"
_lock = threading.Lock()
_state: dict[str, Any] = {}


def font_config():
    """Return the process-wide FontConfiguration (shared by CSS() and write_pdf())."""
    from weasyprint.text.fonts import FontConfiguration
    with _lock:
        if "font_config" not in _state:
            _state["font_config"] = FontConfiguration()
        return _state["font_config"]


def parsed_stylesheet(name: str):
    """Return the parsed stylesheet static/pdf/<name>, cached per file version."""
    import weasyprint
    path = STYLE_DIR / name
    key = ("css", name, path.stat().st_mtime_ns)
    fc = font_config()
    with _lock:
        if key not in _state:
            _state[key] = weasyprint.CSS(string=path.read_text(encoding="utf-8"),
                                         base_url=str(STYLE_DIR) + "/", font_config=fc)
        return _state[key]


def render_pdf(template_name: str, context: dict[str, Any], stylesheet: str = "notice.css") -> bytes:
    """Render one Jinja template to PDF bytes."""
    import weasyprint
    html = render_template(template_name, **context)
    document = weasyprint.HTML(string=html, base_url=str(STYLE_DIR) + "/").render(
        stylesheets=[parsed_stylesheet(stylesheet)], font_config=font_config())
    return document.write_pdf(pdf_identifier=False)

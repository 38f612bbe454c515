"""HTML -> PDF with WeasyPrint (minimal stand-in; branch `notices` ships the full shared module).

Same call as the shared module: `render_pdf(template_name, context, stylesheet)`, the stylesheet
read from static/pdf/. Fonts are the system Noto CJK fonts (fonts-noto-cjk) found by fontconfig.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import render_template

STYLE_DIR = Path(__file__).resolve().parent / "static" / "pdf"


def render_pdf(template_name: str, context: dict[str, Any], stylesheet: str = "plan.css") -> bytes:
    """Render one template to PDF bytes (deterministic: no file identifier)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    fonts = FontConfiguration()
    html = render_template(template_name, **context)
    css = weasyprint.CSS(filename=str(STYLE_DIR / stylesheet), font_config=fonts)
    document = weasyprint.HTML(string=html, base_url=str(STYLE_DIR) + "/").render(stylesheets=[css],
                                                                                  font_config=fonts)
    return document.write_pdf(pdf_identifier=False)

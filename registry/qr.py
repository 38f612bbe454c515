"""QR codes the registry prints (notice verification links, asset labels): one maker, one public address."""
from __future__ import annotations

import segno
from flask import current_app


def public_url(path: str) -> str:
    """Return `path` (starting with "/") under REGISTRY_PUBLIC_BASE_URL, the address a phone can reach."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def qr_data_uri(text: str) -> str:
    """Return the QR code of `text` as a PNG data URI (deterministic; an SVG path costs ~100 ms to lay out)."""
    return segno.make(text, error="m", micro=False).png_data_uri(scale=4, border=0)

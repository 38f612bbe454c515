"""Helpers for the Excel tests: build uploads like a user would, and fingerprint the business tables."""
from __future__ import annotations

import hashlib
import openpyxl
import sqlalchemy as sa

from registry.assets.models import DETAIL_MODELS, Asset, AssetChange
from registry.extensions import db
from registry.orgs.models import Unit

BUSINESS_TABLES = [Asset.__table__, Unit.__table__, AssetChange.__table__] + [m.__table__ for m in DETAIL_MODELS.values()]


def snapshot() -> dict[str, tuple[int, str]]:
    """Return (row count, content hash) of every business table; equal snapshots mean nothing changed."""
    out = {}
    for table in BUSINESS_TABLES:
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
        out[table.name] = (len(rows), digest)
    db.session.rollback()
    return out


def xlsx(headers: list[str], rows: list[list], title: str = "电梯") -> bytes:
    """Return an .xlsx with `headers` in row 1 and `rows` below, on a sheet named `title`."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """Encode a multipart body in memory (werkzeug's test client spools big bodies to unclosed temp files)."""
    boundary = "----registry-test-boundary-7f3a"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client, data: bytes, filename: str = "台账.xlsx", category: str = ""):
    """POST `data` to the import page as a file upload."""
    body, content_type = multipart({"category": category}, filename, data)
    return client.post("/assets/import", data=body, content_type=content_type)

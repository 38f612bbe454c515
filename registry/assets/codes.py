"""The registry's own asset-code scheme: XZ-<category prefix>-<7-digit sequence>."""
from __future__ import annotations

import sqlalchemy as sa

from registry.assets.models import Asset
from registry.enums import Category
from registry.extensions import db

CODE_PREFIX = {
    Category.ELEVATOR: "DT", Category.CONSTRUCTION_MACHINE: "JX", Category.PIPE: "GD",
    Category.OFFICIAL_CAR: "GC", Category.FARM_MACHINE: "NJ", Category.MEDICAL_DEVICE: "YL",
}
SEQUENCE_DIGITS = 7


def code_for(category: Category, sequence: int) -> str:
    """Return the code of `sequence` in `category`, e.g. XZ-DT-0000123."""
    return f"XZ-{CODE_PREFIX[category]}-{sequence:0{SEQUENCE_DIGITS}d}"


def next_codes(category: Category, count: int) -> list[str]:
    """Return `count` unused codes after the highest one of the scheme already stored."""
    prefix = f"XZ-{CODE_PREFIX[category]}-"
    top = db.session.scalar(sa.select(sa.func.max(Asset.code)).where(
        Asset.code.like(prefix + "%"), sa.func.length(Asset.code) == len(prefix) + SEQUENCE_DIGITS))
    start = int(top[len(prefix):]) + 1 if top and top[len(prefix):].isdigit() else 1
    return [code_for(category, start + i) for i in range(count)]

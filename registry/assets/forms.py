"""Web form helpers: CSRF via Flask-WTF; the fields themselves come from the field table."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm

from registry.assets.fields import FieldSpec, fields_for
from registry.assets.history import spec_value
from registry.enums import Category


class CsrfForm(FlaskForm):
    """A form with only the CSRF token: the asset fields are rendered from `fields.py`."""


def form_value(spec: FieldSpec, value) -> str:
    """Return a stored value as the text its form input holds."""
    if value is None:
        return ""
    if spec.kind == "enum":
        return value.value
    if spec.kind == "bool":
        return "是" if value else "否"
    if spec.kind == "unit":
        return value.name
    if spec.kind == "date":
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def asset_form_values(asset) -> dict[str, str]:
    """Return the edit form's initial values for `asset`."""
    return {s.name: form_value(s, spec_value(asset, s)) for s in fields_for(asset.category)}


def field_groups(category: Category) -> list[tuple[str, list[FieldSpec]]]:
    """Return the form's sections: common attributes, then the category's own."""
    specs = fields_for(category)
    return [("基本信息", [s for s in specs if s.table == "asset"]),
            (f"{category.label}属性", [s for s in specs if s.table != "asset"])]

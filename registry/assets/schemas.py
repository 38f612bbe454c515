"""Marshmallow schemas for assets, built from the field table in `fields.py` (never a second field list).

Input schemas parse through `fields.parse_value`, so the API, the web forms and the importer
accept the same values and give the same Chinese messages, each naming the field.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields as mf

from registry.api_base import ObjectDumpSchema, UtcDateTime, flatten_errors
from registry.assets.assessments import is_grade_stale
from registry.assets.fields import CATEGORY_FIELDS, COMMON_FIELDS, FieldError, FieldSpec, fields_for, parse_value
from registry.assets.filters import FILTER_HELP, FILTER_LABELS
from registry.enums import Category
from registry.errors import ValidationFailed
from registry.orgs.reference import TOWNSHIPS

_OPENAPI_TYPES = {
    "str": {"type": "string"}, "text": {"type": "string"}, "unit": {"type": "string"},
    "department": {"type": "string"}, "int": {"type": "integer"}, "decimal": {"type": "number"},
    "date": {"type": "string", "format": "date"}, "bool": {"type": "boolean"}, "enum": {"type": "string"},
}

# Text fields whose values come from a fixed list the services check (documented as an enum).
_CLOSED_LISTS = {"township": list(TOWNSHIPS)}


def spec_message(spec: FieldSpec, message: str) -> str:
    """Return a message that names the field by its Chinese label."""
    return f"{spec.label}：{message}"


class SpecField(mf.Field):
    """One attribute of the field table: parsed by `parse_value`, dumped as JSON-friendly value."""

    def __init__(self, spec: FieldSpec, *, required: bool | None = None, **kwargs):
        self.spec = spec
        required = spec.required if required is None else required
        meta = dict(_OPENAPI_TYPES[spec.kind])
        meta["description"] = spec.label + (f"。{spec.help}" if spec.help else "")
        if spec.enum is not None:
            meta["enum"] = spec.enum.values()
            meta["description"] += "。可选：" + "、".join(f"{v}（{lbl}）" for v, lbl in spec.enum.choices()) + "；也接受中文名称"
        if spec.name in _CLOSED_LISTS:
            meta["enum"] = _CLOSED_LISTS[spec.name]
        if spec.max_length:
            meta["maxLength"] = spec.max_length
        if spec.minimum is not None:
            meta["minimum"] = spec.minimum
        if spec.maximum is not None:
            meta["maximum"] = spec.maximum
        super().__init__(required=required, allow_none=not spec.required, metadata=meta,
                         error_messages={"required": spec_message(spec, "不能为空"),
                                         "null": spec_message(spec, "不能为空")}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            parsed, _warning = parse_value(self.spec, value)
        except FieldError as exc:
            raise ma.ValidationError(spec_message(self.spec, exc.message)) from None
        return parsed

    def _serialize(self, value, attr, obj, **kwargs):
        return json_value(value)


# Values JSON writes as they are; checked first because they are most of an asset's values.
_JSON_AS_IS = frozenset({str, int, float, bool, type(None)})


def json_value(value):
    """Return `value` as JSON: enums by stored value, dates ISO, decimals as numbers."""
    if type(value) in _JSON_AS_IS:
        return value
    if hasattr(value, "label") and hasattr(value, "value"):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _spec_fields(specs, *, partial: bool) -> dict[str, mf.Field]:
    return {s.name: SpecField(s, required=False if partial else None) for s in specs}


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def _schema(name: str, specs, *, partial: bool, extra: dict | None = None) -> type[ma.Schema]:
    attrs = _spec_fields(specs, partial=partial)
    attrs.update(extra or {})
    return type(name, (_Strict,), attrs)


# Detail (category) input schemas, full and partial, keyed by category.
_CAMEL = {c: "".join(p.title() for p in c.value.split("_")) for c in Category}
DETAIL_IN = {c: _schema(f"{_CAMEL[c]}DetailIn", CATEGORY_FIELDS[c], partial=False) for c in Category}
DETAIL_PATCH = {c: _schema(f"{_CAMEL[c]}DetailPatch", CATEGORY_FIELDS[c], partial=True) for c in Category}
_DETAIL_DOC = "类别专属属性。" + "；".join(
    f"{c.value}（{c.label}）：" + "、".join(f"{s.name}={s.label}" for s in CATEGORY_FIELDS[c]) for c in Category)


class _DetailMixin:
    """Validate `detail` against the category's own schema (category is known after load)."""

    @staticmethod
    def load_detail(category: Category, raw, *, partial: bool) -> dict:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ma.ValidationError({"detail": ["类别属性：应为对象"]})
        schema = (DETAIL_PATCH if partial else DETAIL_IN)[category]()
        try:
            return schema.load(raw)
        except ma.ValidationError as exc:
            raise ma.ValidationError({"detail": _unknown_in_chinese(exc.messages)}) from None


def _unknown_in_chinese(messages: dict) -> dict:
    """Replace marshmallow's English 'Unknown field.' with a Chinese message."""
    out = {}
    for key, msgs in messages.items():
        if isinstance(msgs, list):
            out[key] = ["未知字段：" + key if m == "Unknown field." else m for m in msgs]
        else:
            out[key] = msgs
    return out


class _AssetCreateBase(_Strict, _DetailMixin):
    category = mf.Enum(Category, by_value=True, required=True,
                       error_messages={"required": "类别：不能为空", "unknown": "类别：不是有效选项"},
                       metadata={"description": "类别：" + "、".join(f"{c.value}（{c.label}）" for c in Category)})
    detail = mf.Dict(load_default=dict, metadata={"description": _DETAIL_DOC})

    def load(self, data, **kwargs):
        """Load common fields and the category's detail together, reporting both sets of errors."""
        errors, result, detail = {}, None, {}
        try:
            result = super().load(data, **kwargs)
        except ma.ValidationError as exc:
            errors.update(exc.messages)
        raw_category = data.get("category") if isinstance(data, dict) else None
        if raw_category in Category.values():
            try:
                detail = self.load_detail(Category(raw_category), data.get("detail"), partial=False)
            except ma.ValidationError as exc:
                errors.update(exc.messages)
        if errors:
            raise ma.ValidationError(errors)
        result["detail"] = detail
        return result

    def handle_error(self, error, data, **kwargs):
        error.messages = _unknown_in_chinese(error.messages) if isinstance(error.messages, dict) else error.messages


class _AssetPatchBase(_Strict):
    version = mf.Integer(metadata={"description": "读取时的版本号（也可用 If-Match 头提交）"},
                         error_messages={"invalid": "版本号：应为整数"})
    detail = mf.Dict(load_default=dict, metadata={"description": _DETAIL_DOC})

    def handle_error(self, error, data, **kwargs):
        error.messages = _unknown_in_chinese(error.messages) if isinstance(error.messages, dict) else error.messages


AssetCreateSchema = type("AssetCreate", (_AssetCreateBase,), _spec_fields(COMMON_FIELDS, partial=False))
AssetPatchSchema = type("AssetPatch", (_AssetPatchBase,), _spec_fields(COMMON_FIELDS, partial=True))


class AssetDeleteSchema(_Strict):
    """Soft deletion: a reason is required."""

    reason = mf.String(required=True, validate=ma.validate.Length(min=2, max=200),
                       error_messages={"required": "删除原因：不能为空"},
                       metadata={"description": "删除原因（2–200 字）"})


class _AssetOutBase(ObjectDumpSchema):
    """An asset as the API returns it: common attributes, `detail`, version and staleness."""

    id = mf.Integer()
    category = mf.Function(lambda a: a.category.value)
    category_label = mf.Function(lambda a: a.category.label)
    department = mf.Function(lambda a: a.department.code)
    owner_unit_id = mf.Integer()
    user_unit_id = mf.Integer(allow_none=True)
    version = mf.Integer(metadata={"description": "乐观并发版本号：修改时原样提交"})
    condition_stale = mf.Function(lambda a: _stale(a), metadata={"description": "状况等级是否已过期"})
    deleted_at = UtcDateTime(allow_none=True)
    deletion_reason = mf.String(allow_none=True)
    updated_at = UtcDateTime()
    detail = mf.Method("_detail", metadata={"description": _DETAIL_DOC})

    def _detail(self, asset):
        row, names = asset.detail, _DETAIL_NAMES[asset.category]
        if row is None:
            return dict.fromkeys(names)
        return {name: json_value(getattr(row, name, None)) for name in names}


_DETAIL_NAMES = {c: tuple(s.name for s in CATEGORY_FIELDS[c]) for c in Category}


def _stale(asset) -> bool:
    return is_grade_stale(asset)


def _unit_name(attr):
    return lambda a: getattr(getattr(a, attr), "name", None)


AssetOutSchema = type("AssetOut", (_AssetOutBase,), {
    s.name: (mf.Function(_unit_name(s.name), metadata={"description": s.label}) if s.kind == "unit"
             else SpecField(s, required=False))
    for s in COMMON_FIELDS
})


def filter_arg_fields(exclude: tuple[str, ...] = ()) -> dict[str, mf.Field]:
    """Return documentation-only fields for the list filters (parse_filters is what validates them)."""
    return {name: mf.String(metadata={"description": f"{label}：{FILTER_HELP[name]}"})
            for name, label in FILTER_LABELS.items() if name not in exclude}


class AssetListArgs(ma.Schema.from_dict(filter_arg_fields(), name="AssetFilterArgs")):
    """Query parameters of the asset list: the filters of registry.assets.filters, plus a cursor."""

    class Meta:
        unknown = ma.EXCLUDE

    cursor = mf.String(metadata={"description": "上一页响应中的 next_cursor"})
    limit = mf.String(metadata={"description": "每页条数，1–200，默认 50"})


class AssetPageSchema(ma.Schema):
    """One page of assets with the cursor to the next one."""

    items = mf.List(mf.Nested(AssetOutSchema))
    next_cursor = mf.String(allow_none=True)
    prev_cursor = mf.String(allow_none=True)


def load_patch(category: Category, data) -> dict:
    """Load a partial change for an asset of `category` (common fields and detail); raise ValidationFailed."""
    errors, result, detail = {}, {}, {}
    if not isinstance(data, dict):
        raise ValidationFailed("请求体应为 JSON 对象", {"_schema": ["请求体应为 JSON 对象"]})
    try:
        result = AssetPatchSchema().load(data)
    except ma.ValidationError as exc:
        errors.update(exc.messages)
    try:
        detail = _DetailMixin.load_detail(category, data.get("detail"), partial=True)
    except ma.ValidationError as exc:
        errors.update(exc.messages)
    if errors:
        raise ValidationFailed("数据校验未通过，请按提示修改", flatten_errors(errors))
    result["detail"] = detail
    return result


def form_to_input(category: Category, form, *, partial: bool) -> dict:
    """Turn submitted form fields (all strings) into the create/patch input shape for `category`."""
    data: dict = {"detail": {}}
    for spec in fields_for(category):
        if spec.name not in form:
            continue
        value = form.get(spec.name, "")
        (data if spec.table == "asset" else data["detail"])[spec.name] = value
    if not partial:
        data["category"] = category.value
    return data

"""Marshmallow schemas for condition assessments (documentation and output)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as mf

from registry.api_base import UtcDateTime
from registry.enums import ConditionGrade

_GRADES = "、".join(f"{v}（{lbl}）" for v, lbl in ConditionGrade.choices())


class AssessmentInSchema(ma.Schema):
    """An assessment as posted; values are parsed by `assessments.parse_assessment`."""

    class Meta:
        unknown = ma.RAISE

    assessed_on = mf.Raw(required=True, metadata={"type": "string", "format": "date", "description": "评定日期"})
    assessor = mf.Raw(required=True, metadata={"type": "string", "description": "评定人"})
    grade = mf.Raw(required=True, metadata={"type": "string", "enum": ConditionGrade.values(),
                                            "description": f"状况等级：{_GRADES}"})
    findings = mf.Raw(metadata={"type": "string", "description": "检查发现"})

    def handle_error(self, error, data, **kwargs):
        msgs = error.messages if isinstance(error.messages, dict) else {}
        names = {"assessed_on": "评定日期", "assessor": "评定人", "grade": "状况等级"}
        for key, value in list(msgs.items()):
            if value == ["Unknown field."]:
                msgs[key] = [f"未知字段：{key}"]
            elif value == ["Missing data for required field."]:
                msgs[key] = [f"{names.get(key, key)}：不能为空"]


class AssessmentOutSchema(ma.Schema):
    """An assessment as the API returns it."""

    id = mf.Integer()
    asset_id = mf.Integer()
    assessed_on = mf.Date()
    assessor = mf.String()
    grade = mf.Function(lambda a: a.grade.value)
    grade_label = mf.Function(lambda a: a.grade.label)
    findings = mf.String()
    has_photo = mf.Function(lambda a: bool(a.photo_path))
    created_at = UtcDateTime()

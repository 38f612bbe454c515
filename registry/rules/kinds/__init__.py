"""Rule kinds: each validates its parameters and builds a three-valued condition.

Importing this package registers every kind in `KINDS`; `get_kind` fails loudly on an unknown one.
"""
from registry.rules.kinds.base import KINDS, ParamErrors, UnknownKind, build_condition, get_kind, validate_params
from registry.rules.kinds import age, compose, flags  # noqa: F401  (register the kinds)

__all__ = ["KINDS", "ParamErrors", "UnknownKind", "build_condition", "get_kind", "validate_params"]

"""The database side of an import: look up existing assets and units, check, then bulk-write.

All writes happen in the caller's single transaction with Core executemany statements (no
per-row ORM objects), and are committed only when no row has a problem.
"""
from __future__ import annotations

import contextlib
import json
import operator
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from registry.accounts.scoping import editable_categories
from registry.assets import search
from registry.assets.fields import FieldSpec, display_value, fields_for
from registry.assets.models import DETAIL_MODELS, Asset, AssetChange
from registry.audit import services as audit
from registry.bulk import bound_rows, bulk_insert, refresh_statistics
from registry.db_types import utcnow
from registry.enums import Category, LifecycleStatus, UnitKind
from registry.errors import Conflict, PermissionDenied
from registry.extensions import db
from registry.orgs.models import Unit
from registry.orgs.reference import department_for_category

CHUNK = 1000
UNIT_COLUMNS = {"owner_unit": "owner_unit_id", "user_unit": "user_unit_id"}
NEW_DEFAULTS = {"status": LifecycleStatus.IN_USE, "is_large_equipment": False}


def check_permission(user, category: Category) -> None:
    """Allow the import only to a maintainer whose department is responsible for `category` (None: CLI)."""
    if user is None:
        return
    if category.value not in editable_categories(user):
        raise PermissionDenied(f"您无权导入「{category.label}」：只有负责该类别的主管部门维护员可以导入")


def _column(spec: FieldSpec, category: Category) -> sa.Column:
    if spec.table == "asset":
        return Asset.__table__.c[UNIT_COLUMNS.get(spec.name, spec.name)]
    return DETAIL_MODELS[category].__table__.c[spec.name]


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# Asset columns an import never compares or writes back; their values are not read (a timestamp costs a
# regular expression per value on SQLite). `deleted` tells a removed asset instead of `deleted_at`.
_NOT_LOADED = frozenset({"created_at", "updated_at", "deleted_at", "deletion_reason", "extra"})


def _load_existing(category: Category, codes: list[str]) -> dict[str, dict]:
    """Return the stored asset and detail values of the assets with `codes`, by code (extra attributes decoded)."""
    assets, detail = Asset.__table__, DETAIL_MODELS[category].__table__
    cols = [c for c in assets.c if c.name not in _NOT_LOADED] + [c for c in detail.c if c.name != "asset_id"]
    # The extra attributes as their JSON text: most assets have none, stored as 'null', not worth decoding.
    cols += [assets.c.deleted_at.is_not(None).label("deleted"), sa.cast(assets.c.extra, sa.Text).label("extra")]
    keys = [c.key for c in cols]
    out = {}
    for chunk in _chunks(codes):
        stmt = sa.select(*cols).select_from(assets.outerjoin(detail, detail.c.asset_id == assets.c.id)) \
            .where(assets.c.code.in_(chunk))
        for row in db.session.execute(stmt).all():  # fetchall: one driver call per chunk
            old = dict(zip(keys, row))
            extra = old["extra"]
            old["extra"] = None if extra is None or extra == "null" else json.loads(extra)
            out[old["code"]] = old
    return out


def _load_units(names: set[str]) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(names)):
        for uid, name, township in db.session.execute(
                sa.select(Unit.id, Unit.name, Unit.township).where(Unit.name.in_(chunk))):
            out[name].append((uid, township))
    return out


def _unit_names(ids: set[int]) -> dict[int, str]:
    out = {}
    for chunk in _chunks(sorted(ids)):
        out.update(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(chunk))).all())
    return out


def decimal_steps(columns, category: Category) -> dict[str, Decimal]:
    """Return the step each decimal field of the file is stored with (its column scale)."""
    return {s.name: Decimal(1).scaleb(-_column(s, category).type.scale)
            for s in columns if s is not None and s.kind == "decimal"}


class _Plan:
    """Rows to insert and update, built while checking; written only if nothing failed."""

    def __init__(self):
        self.new_units: dict[tuple[str, str], int | None] = {}
        self.creates: list = []  # ParsedRow
        self.updates: list[tuple[dict, dict, dict, list]] = []  # existing, asset cols, detail cols, changes
        self.unchanged = 0


def _resolve_unit(name, township, units, plan, result, row_no, col):
    """Return a unit id, or the (name, township) key of a unit to create; None on error."""
    matches = units.get(name, [])
    same = [uid for uid, t in matches if t == township]
    if same:
        return same[0]
    if len(matches) == 1:
        return matches[0][0]
    if len(matches) > 1:
        result.add_error(row_no, col, f"单位「{name}」在多个乡镇重名，且都不在本行的乡镇/街道，无法确定是哪一个")
        return None
    plan.new_units.setdefault((name, township), None)
    return (name, township)


def _check_rows(result, parsed, existing, units, category, plan, specs):
    pos = result.positions
    code_at, township_at = pos["code"], pos.get("township")
    owner_at, holder_at = pos.get("owner_unit"), pos.get("user_unit")
    code_col = result.column_of("code")
    labels = {s.name: s.label for s in fields_for(category)}
    date_checks = [(later, labels[later]) for later in ("commissioned_on", "registered_on")]
    same = _same_as_stored(specs, pos)
    extras = result.extras
    for prow in parsed:
        values, row_no = prow.values, prow.row
        old = existing.get(values[code_at])
        if old is not None:
            if old["category"] is not category:
                result.add_error(row_no, code_col, f"设备编码「{values[code_at]}」已被{old['category'].label}设备使用")
                continue
            if old["deleted"]:
                result.add_error(row_no, code_col, f"设备编码「{values[code_at]}」的设备已删除，不能通过导入恢复")
                continue
        township = (values[township_at] if township_at is not None else None) or (old or {}).get("township")
        if owner_at is not None and values[owner_at]:
            prow.owner = _resolve_unit(values[owner_at], township, units, plan, result, row_no,
                                       result.column_of("owner_unit"))
        if holder_at is not None and values[holder_at]:
            prow.holder = _resolve_unit(values[holder_at], township, units, plan, result, row_no,
                                        result.column_of("user_unit"))

        def value(name):
            return values[pos[name]] if name in pos else (old or {}).get(name)
        made = value("manufactured_on")
        if made:
            for later, label in date_checks:
                other = value(later)
                if other and made > other:
                    result.add_error(row_no, result.column_of("manufactured_on"), f"出厂日期不能晚于{label}")
        if old is None:
            plan.creates.append(prow)
            result.row_status[row_no] = ("new", [])
        else:
            row_extras = extras.get(row_no)
            if not row_extras and same(old, prow):
                plan.unchanged += 1  # the common case of a re-import, told by two tuple comparisons
                result.row_status[row_no] = ("unchanged", [])
                continue
            _diff(old, prow, specs, pos, plan, row_extras)
            last = plan.updates[-1] if plan.updates and plan.updates[-1][0] is old else None
            result.row_status[row_no] = (("changed", [c[0].label if c[0] else "附加属性「" + c[3] + "」" for c in last[3]])
                                         if last else ("unchanged", []))


def _same_as_stored(specs, pos):
    """Return a test telling whether a parsed row equals its stored asset in every column of the file.

    It agrees with `_diff` finding no change: equal values, an empty cell of a not-null column keeping the
    stored value, and a unit to be created always being a change.
    """
    plain = [s.name for s in specs if s.name not in UNIT_COLUMNS and s.name not in NEW_DEFAULTS]
    kept = [(pos[s.name], s.name) for s in specs if s.name in NEW_DEFAULTS]
    units = [(s.name == "owner_unit", UNIT_COLUMNS[s.name]) for s in specs if s.name in UNIT_COLUMNS]
    new_of = operator.itemgetter(*[pos[n] for n in plain]) if plain else (lambda values: ())
    old_of = operator.itemgetter(*plain) if plain else (lambda old: ())

    def same(old, prow) -> bool:
        if new_of(prow.values) != old_of(old):
            return False
        for at, name in kept:
            value = prow.values[at]
            if value is not None and value != old[name]:
                return False
        for is_owner, key in units:
            value = prow.owner if is_owner else prow.holder
            if isinstance(value, tuple) or value != old[key]:
                return False
        return True
    return same


def _diff(old, prow, specs, pos, plan, extras=None):
    asset_set, detail_set, changes = {}, {}, []
    if extras:
        before = old.get("extra") or {}
        merged = {**before, **extras}
        if merged != before:
            asset_set["extra"] = merged
            for key, value in extras.items():
                if before.get(key) != value:
                    changes.append((None, before.get(key), value, key))
    for spec in specs:
        if spec.name in UNIT_COLUMNS:
            new = prow.owner if spec.name == "owner_unit" else prow.holder
        else:
            new = prow.values[pos[spec.name]]
        if new is None and spec.name in NEW_DEFAULTS:
            continue  # an empty cell in a not-null column keeps the stored value
        key = UNIT_COLUMNS.get(spec.name, spec.name)
        before = old.get(key)
        if new == before and not isinstance(new, tuple):
            continue
        (asset_set if spec.table == "asset" else detail_set)[key] = new
        changes.append((spec, before, new, None))
    if changes:
        plan.updates.append((old, asset_set, detail_set, changes))
    else:
        plan.unchanged += 1


def _check_unique_details(result, parsed, existing_ids, category):
    """Refuse values of unique detail columns (registration code, plate) already used elsewhere."""
    detail = DETAIL_MODELS[category].__table__
    pos = result.positions
    for col in [c for c in detail.c if c.unique and c.name in pos]:
        at, owners = pos[col.name], {}
        for prow in parsed:
            value = prow.values[at]
            if value is None:
                continue
            if value in owners:
                result.add_error(prow.row, result.column_of(col.name), f"「{value}」与第 {owners[value][0]} 行重复")
            else:
                owners[value] = (prow.row, existing_ids.get(prow.values[pos["code"]]))
        for chunk in _chunks(list(owners)):
            for value, asset_id in db.session.execute(sa.select(col, detail.c.asset_id).where(col.in_(chunk))):
                row_no, own_id = owners[value]
                if asset_id != own_id:
                    result.add_error(row_no, result.column_of(col.name), f"「{value}」已被其他设备使用")


def plan_and_write(result, parsed, user, *, dry_run=False, progress=None, then=None) -> None:
    """Check `parsed` against the database and, when nothing failed, write it in one transaction.

    `then` (the record sheets' writer) runs after the assets are written, in the same transaction, and
    adds its problems to `result`; a dry run with `then` writes and rolls back, so its checks see the file's assets.
    """
    category = result.category
    specs = [s for s in result.columns if s is not None]
    code_at = result.positions["code"]
    unit_at = [result.positions[n] for n in UNIT_COLUMNS if n in result.positions]
    units = _load_units({p.values[k] for p in parsed for k in unit_at if p.values[k]})
    plan = _Plan()
    existing_ids: dict[str, int] = {}
    # Existing rows are loaded and compared a chunk at a time: only the changed ones stay in memory.
    for chunk in _chunks(parsed, 5000):
        existing = _load_existing(category, [p.values[code_at] for p in chunk if p.values[code_at]])
        existing_ids.update((code, old["id"]) for code, old in existing.items())
        _check_rows(result, chunk, existing, units, category, plan, specs)
    _check_unique_details(result, parsed, existing_ids, category)
    if result.errors or (dry_run and then is None):
        db.session.rollback()
        result.units_created = [f"{n}（{t}）" for n, t in plan.new_units]
        result.created, result.updated, result.unchanged = len(plan.creates), len(plan.updates), plan.unchanged
        return

    def work():
        _write(result, plan, category, user, specs, progress)
        if then is not None:
            then()
    finish(result, work, dry_run=dry_run)
    if not dry_run and not result.errors:
        refresh_statistics([Asset.__table__, DETAIL_MODELS[category].__table__], result.created + result.updated)


def finish(result, work, *, dry_run=False) -> None:
    """Run `work` (the writes) in the caller's transaction; commit unless it found problems or this is a dry run."""
    try:
        work()
        if result.errors or dry_run:
            db.session.rollback()
            return
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another user created the same code, unit, plate or certificate between our checks and our write.
        db.session.rollback()
        raise Conflict("导入期间有其他用户写入了相同的设备编码、单位、号牌或证明编号，本次导入未写入任何数据，请重新导入") from None
    except Exception:
        db.session.rollback()
        raise


def _plain(value):
    return value.value if hasattr(value, "label") else value


def _ids_by(table, key_cols, keys: list[tuple]) -> dict[tuple, int]:
    """Read back the ids of freshly inserted rows by their natural key (cheaper than RETURNING per row)."""
    out = {}
    first = key_cols[0]
    for chunk in _chunks(sorted({k[0] for k in keys})):
        stmt = sa.select(table.c.id, *key_cols).where(first.in_(chunk))
        for row in db.session.execute(stmt):
            out[tuple(row[1:])] = row[0]
    return out


def _write(result, plan, category, user, specs, progress) -> None:
    now, user_id = utcnow(), getattr(user, "id", None)
    units = Unit.__table__
    keys = list(plan.new_units)
    if keys:
        db.session.execute(sa.insert(units), [{"name": n, "township": t, "kind": UnitKind.OTHER.value}
                                              for n, t in keys])
        found = _ids_by(units, [units.c.name, units.c.township], keys)
        plan.new_units = {k: found[k] for k in keys}
        result.units_created = [f"{n}（{t}）" for n, t in keys]

    def unit_id(value):
        return plan.new_units[value] if isinstance(value, tuple) else value

    changes: list[tuple] = []
    if plan.creates:
        conn = db.session.connection()
        deferred = contextlib.nullcontext()
        if conn.dialect.name == "sqlite":
            # The FTS5 insert triggers cost three times the inserts themselves; new rowids all come after
            # the current largest, so the new rows are indexed once at the end (PostgreSQL keeps its GIN
            # indexes: dropping them would lock the assets table against readers for the whole import).
            first = (conn.execute(sa.select(sa.func.max(Asset.__table__.c.id))).scalar() or 0) + 1
            deferred = search.index_deferred(conn, first)
        with deferred:
            changes.extend(_write_creates(result, plan, category, specs, now, user_id, unit_id, progress))
    if plan.updates:
        changes.extend(_write_updates(plan, category, now, user_id, unit_id))
    _write_changes(changes)
    result.created, result.updated, result.unchanged = len(plan.creates), len(plan.updates), plan.unchanged
    result.changed_fields = len(changes) - len(plan.creates)
    audit.record("asset.import", object_type="asset", user=user, details={
        "file": result.filename, "category": category.value, "rows": result.rows, "created": result.created,
        "updated": result.updated, "unchanged": result.unchanged, "changed_fields": result.changed_fields,
        "units_created": len(result.units_created), "warnings": len(result.warnings)})


CHANGE_COLUMNS = ("asset_id", "changed_at", "user_id", "action", "field", "before", "after")


def _write_changes(changes: list[tuple]) -> None:
    """Insert history rows (tuples in CHANGE_COLUMNS order) straight through the driver, 10,000 at a time."""
    table = AssetChange.__table__
    dialect = db.session.get_bind().dialect
    for chunk in _chunks(changes, 10_000):
        bulk_insert(table, CHANGE_COLUMNS, bound_rows(dialect, table, CHANGE_COLUMNS, chunk), bound=True)


def _tuple_getter(indexes: list[int]):
    """Return a function taking a row's values to the tuple of those at `indexes`."""
    if not indexes:
        return lambda values: ()
    if len(indexes) == 1:
        at = indexes[0]
        return lambda values: (values[at],)
    return operator.itemgetter(*indexes)


def _converter(fallback, is_enum: bool):
    """Return the per-value conversion of a column: an empty cell to `fallback`, an enum to its stored value."""
    fallback = _plain(fallback)
    if is_enum:
        return lambda value: fallback if value is None else _plain(value)
    return lambda value: fallback if value is None else value


def _write_creates(result, plan, category, specs, now, user_id, unit_id, progress) -> list[tuple]:
    """Insert new assets and their details in chunks of tuples handed to the driver (no per-value ORM/Core work)."""
    assets, detail = Asset.__table__, DETAIL_MODELS[category].__table__
    dialect = db.session.get_bind().dialect
    pos = result.positions
    department_id = department_for_category(category).id
    asset_fields = [(s.name, pos[s.name]) for s in specs if s.table == "asset" and s.name not in UNIT_COLUMNS]
    detail_fields = [(s.name, pos[s.name]) for s in specs if s.table != "asset"]
    fixed = {"category": category.value, "department_id": department_id, "created_at": now, "updated_at": now,
             "version": 1, "status": NEW_DEFAULTS["status"].value}
    detail_defaults = {k: v for k, v in NEW_DEFAULTS.items() if k in detail.c}
    # Column order of the tuples: the file's fields, then the fixed values (a file field of the same name wins
    # when it has a value, an empty cell falls back to the fixed value, as before).
    asset_names = [n for n, _ in asset_fields]
    fixed_names = [n for n in fixed if n not in asset_names]
    asset_cols = asset_names + fixed_names + ["extra", "owner_unit_id", "user_unit_id"]
    fixed_tail = tuple(fixed[n] for n in fixed_names)
    detail_names = [n for n, _ in detail_fields]
    detail_cols = ["asset_id"] + detail_names + [n for n in detail_defaults if n not in detail_names]
    detail_tail = tuple(_plain(detail_defaults[n]) for n in detail_cols[1 + len(detail_names):])
    kinds = {s.name: s.kind for s in specs}
    # Per column, not per value: enums to their stored value, an empty cell to the column's default.
    asset_convert = {name: _converter(fallback, kinds[name] == "enum") for name, fallback
                     in ((n, fixed.get(n)) for n in asset_names) if fallback is not None or kinds[name] == "enum"}
    detail_convert = {name: _converter(fallback, kinds[name] == "enum") for name, fallback
                      in ((n, detail_defaults.get(n)) for n in detail_names)
                      if fallback is not None or kinds[name] == "enum"}
    asset_pick = _tuple_getter([at for _, at in asset_fields])
    detail_pick = _tuple_getter([at for _, at in detail_fields])
    code_at = asset_names.index("code")
    extras = result.extras
    changes = []
    total = len(plan.creates)
    for n, chunk in enumerate(_chunks(plan.creates, 5000)):
        if progress:
            progress("写入", n * 5000, total)
        rows = [asset_pick(p.values) + fixed_tail + (extras.get(p.row), unit_id(p.owner), unit_id(p.holder))
                for p in chunk]
        codes = [(r[code_at],) for r in rows]
        bulk_insert(assets, asset_cols, bound_rows(dialect, assets, asset_cols, rows, asset_convert), bound=True)
        ids = _ids_by(assets, [assets.c.code], codes)
        details = [(ids[code],) + detail_pick(p.values) + detail_tail for p, code in zip(chunk, codes)]
        bulk_insert(detail, detail_cols, bound_rows(dialect, detail, detail_cols, details, detail_convert),
                    bound=True)
        changes.extend((ids[c], now, user_id, "import", "record", None, "导入新建") for c in codes)
    if progress:
        progress("写入", total, total)
    return changes


def _write_updates(plan, category, now, user_id, unit_id) -> list[tuple]:
    assets, detail = Asset.__table__, DETAIL_MODELS[category].__table__
    asset_groups: dict[tuple, list] = defaultdict(list)
    detail_groups: dict[tuple, list] = defaultdict(list)
    unit_columns = tuple(UNIT_COLUMNS.values())
    unit_ids = {old[c] for old, *_ in plan.updates for c in unit_columns if old.get(c)}
    unit_ids |= {v for _, asset_set, _, _ in plan.updates for c in unit_columns
                 if isinstance(v := asset_set.get(c), int)}
    names = _unit_names(unit_ids)
    changes = []
    for old, asset_set, detail_set, changed in plan.updates:
        asset_set = {k: (unit_id(v) if k in UNIT_COLUMNS.values() else v) for k, v in asset_set.items()}
        asset_groups[tuple(sorted(asset_set))].append(
            {"b_id": old["id"], "b_version": old["version"], **{"v_" + k: _plain(v) for k, v in asset_set.items()}})
        if detail_set:
            detail_groups[tuple(sorted(detail_set))].append(
                {"b_id": old["id"], **{"v_" + k: _plain(v) for k, v in detail_set.items()}})
        for spec, before, after, extra_key in changed:
            if spec is None:  # an extra attribute: kept as text
                changes.append((old["id"], now, user_id, "import", "extra:" + extra_key, before, after))
                continue
            if spec.kind == "unit":
                before, after = names.get(before), after[0] if isinstance(after, tuple) else names.get(after)
            changes.append((old["id"], now, user_id, "import", spec.name, display_value(spec, before),
                            display_value(spec, after)))
    for cols, rows in asset_groups.items():
        stmt = sa.update(assets).where(assets.c.id == sa.bindparam("b_id"),
                                       assets.c.version == sa.bindparam("b_version")) \
            .values(version=assets.c.version + 1, updated_at=now, **{c: sa.bindparam("v_" + c) for c in cols})
        if db.session.execute(stmt, rows).rowcount != len(rows):
            raise Conflict("导入期间有设备被他人修改，本次导入未写入任何数据，请重新导入")
    for cols, rows in detail_groups.items():
        stmt = sa.update(detail).where(detail.c.asset_id == sa.bindparam("b_id")) \
            .values(**{c: sa.bindparam("v_" + c) for c in cols})
        db.session.execute(stmt, rows)
    return changes

"""Filtered, sorted, keyset-paginated asset lists (no COUNT(*) and no OFFSET per page)."""
from __future__ import annotations

import base64
import collections
import dataclasses
import functools
import json
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from registry.assets.filters import SORTS, AssetFilters, FilterPlans, filter_plans
from registry.assets.models import DETAIL_MODELS, Asset, load_options
from registry.assets.scoping import asset_scope
from registry.db_types import MAX_ID
from registry.enums import Category
from registry.errors import ValidationFailed
from registry.extensions import db
from registry.inputs import has_control_chars
from registry.orgs.models import Department, Unit

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A filtered page walks the sort index through at most this many rows of its frame (scope, deletion,
# category), testing each; when fewer than a page of them match, the matches are sparse and the rest
# is collected through the filters' own indexes and sorted. Dense filters fill the page within the
# walk; sparse ones (a year on 医疗设备, a rare status) no longer walk the whole category.
WALK_BUDGET = 2000
# When the first walk found a few matches, it may walk on up to this many budgets to fill the page:
# moderately sparse filters (1–2 %) fill a page sooner so than by reading all their matches.
EXTENDED_WALK = 8
# On PostgreSQL an indexed filter with at most this many ids leads the collection (see _phase_rows).
FEW_CANDIDATES = 2000
# A date range beside merged equality indexes holding more ids than this is tested on each candidate
# row: gathering and hashing its ids (a farm machine aged 3–12: 80,000) costs more than those reads.
WIDE_RANGE = 8 * FEW_CANDIDATES


@dataclass
class Page:
    """One page of results and the cursors around it."""

    items: list
    next_cursor: str | None
    prev_cursor: str | None


def encode_cursor(direction: str, phase: int, value, asset_id: int) -> str:
    """Encode a page position as an opaque URL-safe string."""
    if isinstance(value, date):
        value = value.isoformat()
    raw = json.dumps([direction, phase, value, asset_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[str, int, object, int]:
    """Decode a cursor from `encode_cursor`; raise ValidationFailed if it was tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, phase, value, asset_id = json.loads(raw)
        # A crafted cursor must not reach SQL with a dict, a list, an id beyond the column or a huge text.
        if not (direction in ("n", "p") and phase in (0, 1) and type(asset_id) is int and 0 <= asset_id <= MAX_ID
                and (value is None or (type(value) is int and abs(value) <= MAX_ID)
                     or (type(value) is str and len(value) <= 500 and not has_control_chars(value)))):
            raise ValueError(cursor)
        if value is not None and sort.lstrip("-") == "commissioned_on":
            value = date.fromisoformat(value)
        elif value is not None and sort.lstrip("-") == "id" and type(value) is not int:
            raise ValueError(cursor)
        return direction, phase, value, asset_id
    except Exception:  # noqa: BLE001 - any malformed cursor is the same user error
        raise ValidationFailed("分页参数无效，请从第一页重新浏览", {"cursor": ["分页参数无效"]}) from None


def _position(asset: Asset, col_name: str) -> tuple[int, object]:
    value = getattr(asset, col_name)
    return (1 if value is None else 0), value


def list_assets(f: AssetFilters, user, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                as_of: date | None = None, listed: bool = False, summary: bool = False) -> Page:
    """Return one page of assets matching `f`, walking an index in sort order from `cursor`.

    Building 50 full ORM graphs costs several times the query itself, so the pages read Core rows:
    `summary=True` returns light rows (the list page's columns plus unit names), `listed=True` the
    API's `ListedAsset`s (every column, units, department and category detail). Otherwise ORM objects.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    col, nullable, _label = SORTS[f.sort.lstrip("-")]
    desc = f.sort.startswith("-")
    plans = filter_plans(f, as_of)
    scope = asset_scope(user)
    plans = dataclasses.replace(plans, frame=[scope, *plans.frame], walk=[scope, *plans.walk],
                                collect=[scope, *plans.collect], unarmed=[scope, *plans.unarmed])
    direction, phase, value, last_id = decode_cursor(cursor, f.sort) if cursor else ("n", 0, None, None)
    backwards = direction == "p"
    entities = not (summary or listed)
    select = (_summary_select() if summary else _listed_select() if listed
              else sa.select(Asset).options(*load_options()))
    rows = _walk(select, entities, plans, col, nullable, desc, backwards, phase, value, last_id, limit + 1)
    if summary:
        make = _summary_row()._make
        rows = [make(r) for r in rows]
    elif listed:
        rows = _listed_assets(rows)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    name = col.key
    next_cursor = prev_cursor = None
    if rows:
        if more or backwards:
            next_cursor = encode_cursor("n", *_position(rows[-1], name), rows[-1].id)
        if (more and backwards) or (not backwards and cursor):
            prev_cursor = encode_cursor("p", *_position(rows[0], name), rows[0].id)
    return Page(rows, next_cursor, prev_cursor)


def _unit_name(column, label: str):
    # A scalar subquery, not a join: it is evaluated for the page's rows only, after the sort and
    # the limit, where a join would read both units tables for every candidate of a sparse filter.
    return sa.select(Unit.name).where(Unit.id == column).scalar_subquery().label(label)


@functools.cache
def _summary_select():
    return sa.select(Asset.id, Asset.code, Asset.name, Asset.category, Asset.township, Asset.commissioned_on,
                     Asset.registered_on, Asset.condition_grade, Asset.condition_assessed_on, Asset.status,
                     Asset.deleted_at, _unit_name(Asset.owner_unit_id, "owner_name"),
                     _unit_name(Asset.user_unit_id, "user_name"))


@functools.cache
def _summary_row():
    """Return the named tuple type of a summary row.

    The list template reads about 15 attributes of each of 50 rows; a SQLAlchemy Row resolves an
    attribute name through a failed lookup first (~2 µs), a named tuple in C (~0.05 µs).
    """
    return collections.namedtuple("AssetSummary", [c.key for c in _summary_select().selected_columns])


class ListedAsset(SimpleNamespace):
    """An asset of an API list, read from Core rows: the attributes `AssetOutSchema` reads of an Asset.

    Columns are attributes; `department`, `owner_unit` and `user_unit` carry `code` / `name`, and
    `detail` is the category's detail row as a namespace (None without one).
    """


@functools.cache
def _listed_select():
    """Every asset column the API returns (not `extra`), the units' names and the department's code."""
    columns = [getattr(Asset, c.key) for c in Asset.__table__.columns if c.key != "extra"]
    department = sa.select(Department.code).where(Department.id == Asset.department_id).scalar_subquery()
    return sa.select(*columns, _unit_name(Asset.owner_unit_id, "owner_unit_name"),
                     _unit_name(Asset.user_unit_id, "user_unit_name"), department.label("department_code"))


def _listed_assets(rows) -> list[ListedAsset]:
    """Turn `_listed_select` rows into ListedAssets with their detail rows (one statement per category)."""
    keys = _listed_select().selected_columns.keys()
    assets, departments, by_category = [], {}, collections.defaultdict(list)
    for row in rows:
        values = dict(zip(keys, row))
        owner, user, code = values.pop("owner_unit_name"), values.pop("user_unit_name"), values.pop("department_code")
        if code not in departments:
            departments[code] = SimpleNamespace(code=code)
        asset = ListedAsset(**values, department=departments[code], detail=None,
                            owner_unit=SimpleNamespace(name=owner),
                            user_unit=None if values["user_unit_id"] is None else SimpleNamespace(name=user))
        assets.append(asset)
        by_category[asset.category].append(asset)
    for category, group in by_category.items():
        table = DETAIL_MODELS[category].__table__
        found = db.session.execute(sa.select(table).where(table.c.asset_id.in_([a.id for a in group])))
        detail_keys = list(found.keys())
        at = detail_keys.index("asset_id")
        details = {row[at]: SimpleNamespace(**dict(zip(detail_keys, row))) for row in found}
        for asset in group:
            asset.detail = details.get(asset.id)
    return assets


def age_start(row) -> date | None:
    """Return the date a list row's age counts from (registration for cars), like Asset.age_start."""
    if row.category is Category.OFFICIAL_CAR:
        return row.registered_on or row.commissioned_on
    return row.commissioned_on


def _walk(select, entities: bool, plans: FilterPlans, col, nullable, desc, backwards, phase, value, last_id,
          want) -> list:
    """Fetch up to `want` rows after (or before) a position; NULL sort values come last in both directions."""
    forward_desc = desc != backwards  # walking backwards reverses the order
    cmp = (lambda a, b: a < b) if forward_desc else (lambda a, b: a > b)
    rows: list = []
    # Phase order is non-null values (0) then nulls (1) going forward; the reverse going backwards.
    phases = (0, 1) if not backwards else (1, 0)
    if last_id is not None:
        phases = phases[phases.index(phase):]
    for ph in phases:
        if ph == 1 and not nullable:
            continue
        # The walk's order; a unique sort column needs no id after it (and the index on
        # (category, code) could not serve a comparison of (code, id)).
        keys = (Asset.id,) if ph == 1 else (col,) if col is Asset.id or col is Asset.code else (col, Asset.id)

        def position(sort_key, id_key, ph=ph) -> list:
            """The phase's and the cursor's conditions, on the given forms of the sort column and the id."""
            if ph == 1:
                conds = [sort_key.is_(None)]
                if last_id is not None and ph == phase:
                    conds.append(cmp(id_key, last_id))
                return conds
            conds = [sort_key.is_not(None)] if nullable else []
            if last_id is not None and ph == phase:
                conds.append(cmp(sort_key, value) if col is Asset.id
                             else cmp(sa.tuple_(sort_key, id_key), sa.tuple_(value, last_id)))
            return conds
        rows.extend(_phase_rows(select, entities, plans, col, keys, forward_desc, position, want - len(rows)))
        if len(rows) >= want:
            break
    return rows


def _unindexed(expr):
    # coalesce(x, x) is x, and no index is built on it: an order or a range on it cannot steer the plan.
    return sa.func.coalesce(expr, expr)


def _phase_rows(select, entities: bool, plans: FilterPlans, col, keys: tuple, descending: bool, position,
                want: int) -> list:
    """Fetch up to `want` rows of one phase in `keys` order: walk the sort index a bounded way, then collect."""
    order = [k.desc() if descending else k.asc() for k in keys]

    def fetch(conds, limit: int) -> list:
        result = db.session.execute(select.where(*conds).order_by(*order).limit(limit))
        return list(result.scalars() if entities else result.all())

    def before(exprs, edge_row, inverted: bool = False):
        """`exprs` come before the edge in the walk's order (inverted: at or after it), as an index range."""
        key, edge = (exprs[0], edge_row[0]) if len(keys) == 1 else (sa.tuple_(*exprs), sa.tuple_(*edge_row))
        if inverted:
            return key <= edge if descending else key >= edge
        return key > edge if descending else key < edge

    walk_position = position(col, Asset.id)
    if not plans.filtered or not (plans.equal or plans.dates):
        # Nothing to test, or no index of the filters' own to collect by (a common keyword, a work
        # list's test): the walk of the sort index it is.
        return fetch([*plans.walk, *walk_position], want)
    rows: list = []
    segment: list = []  # at or after the previous window's edge
    budget, bound = WALK_BUDGET, None
    for _window in range(2):
        # Where the walk would pass `budget` rows of the frame (an index-only read of the sort index).
        bound = db.session.execute(sa.select(*keys).where(*plans.frame, *walk_position, *segment).order_by(*order)
                                   .offset(budget).limit(1)).first()
        if bound is None:  # the frame ends within the budget: the walk is short whatever the filters
            return rows + fetch([*plans.walk, *walk_position, *segment], want - len(rows))
        found = fetch([*plans.walk, *walk_position, *segment, before(keys, bound)], want - len(rows))
        rows += found
        if len(rows) >= want:
            return rows
        segment = [before(keys, bound, inverted=True)]
        if not found:
            break
        # Some matched: walk on as far as their density says a page needs, with a margin, if that is not far.
        budget = min(WALK_BUDGET * EXTENDED_WALK, -(-3 * (want - len(rows)) * budget // (2 * len(found))))
        if budget >= WALK_BUDGET * EXTENDED_WALK:
            break
    ids = _collect_ids(plans, col, keys, descending, position, lambda exprs: before(exprs, bound, inverted=True),
                       want - len(rows))
    if ids:
        rows += fetch([Asset.id.in_(ids)], len(ids))
    return rows


def _collect_ids(plans: FilterPlans, col, keys: tuple, descending: bool, position, beyond, limit: int) -> list[int]:
    """Return the ids of the next `limit` matches beyond the walk's edge, in `keys` order, found by the filters' indexes.

    `position(sort_key, id_key)` and `beyond(exprs)` give the cursor's and the edge's conditions on
    the forms of the keys the plan uses. Which plan depends on what the indexes can answer alone:
    - a date range holding at most FEW_CANDIDATES ids (or none): those ids, each row read;
    - in id order with filters of `plans.equal` and no date range: those filters' (category, column,
      id) indexes are read in id order and merged, and a row is read only for a candidate they all
      hold, until the page is full (a date range, not in id order, would test row after row);
    - otherwise the order, the cursor and the edge are put on unindexed forms of the keys, so that
      no sort index can drive the plan: SQLite (one index per table) intersects the filters' indexes
      first; PostgreSQL ANDs their bitmaps itself, led by a filter with few ids when there is one.
    """
    def ordered(exprs):
        return [e.desc() if descending else e.asc() for e in exprs]

    hidden = [_unindexed(k) for k in keys]
    sort_key, id_key = _unindexed(col), _unindexed(Asset.id)
    source, tests = sa.select(Asset.id), plans.collect
    arms = plans.arms()
    if plans.dates and arms:
        # A date range is not in id order and the planners misjudge it (most 医疗设备 are young, and
        # both estimate over all categories): when it holds few ids, they lead and are read one by one.
        dates, columns = arms[-1]
        few = _few_ids(dates, columns)
        if few is not None:
            if not few:
                return []
            return list(db.session.scalars(source.where(Asset.id.in_(few), *tests, *position(sort_key, id_key),
                                                         beyond(hidden)).order_by(*ordered(hidden)).limit(limit)))
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    if keys == (Asset.id,) and plans.equal and plans.category is not None:
        drivers = [aliased(Asset, name=f"arm_{n}") for n in range(len(plans.equal))]
        lead = drivers[0]
        stmt = sa.select(lead.id)
        for other in drivers[1:]:
            stmt = stmt.join(other, other.id == lead.id)
        stmt = stmt.join(Asset, Asset.id == lead.id)
        for n, (driver, (column, value)) in enumerate(zip(drivers, plans.equal)):
            stmt = stmt.where(driver.category == plans.category, getattr(driver, column.key) == value)
            if sqlite and n:
                # SQLite would read each candidate's row by id (a table page per candidate); the arm's own
                # small index answers the same question 3x faster at 1M.
                index = _index_on(tuple(c.key for c in arms[n][1]))
                stmt = stmt.with_hint(driver, f"INDEXED BY {index}", "sqlite")
        if plans.dates:  # not in id order: a narrow range's ids are gathered once and looked up
            dates, columns = arms[-1]
            if _holds_more(dates, columns, WIDE_RANGE):
                stmt = stmt.where(*plans.dates)
            else:
                stmt = stmt.where(lead.id.in_(sa.select(Asset.id).where(dates)))
        stmt = stmt.where(*plans.unarmed, *position(lead.id if col is Asset.id else col, lead.id),
                          beyond([lead.id]))
        return list(db.session.scalars(stmt.order_by(*ordered([lead.id])).limit(limit)))
    if len(arms) >= 2 and sqlite:
        # Each arm reads its index alone, and only their common ids reach the rows.
        candidates = sa.intersect(*(sa.select(Asset.id).where(arm) for arm, _columns in arms)).subquery("candidates")
        source, tests = source.join(candidates, candidates.c.id == Asset.id), plans.unarmed
    elif len(arms) >= 2:
        # PostgreSQL ANDs the indexes' bitmaps itself; an arm with few ids leads where there is one.
        for arm, columns in arms:
            few = _few_ids(arm, columns)
            if few is not None:
                if not few:
                    return []
                tests = [Asset.id.in_(few), *tests]
                break
    return list(db.session.scalars(source.where(*tests, *position(sort_key, id_key), beyond(hidden))
                                   .order_by(*ordered(hidden)).limit(limit)))


@functools.cache
def _index_on(columns: tuple[str, ...]) -> str:
    """The name of the index of assets on exactly `columns`, in that order (an arm's index, `FilterPlans.arms`)."""
    for index in Asset.__table__.indexes:
        if tuple(c.name for c in index.columns) == columns:
            return index.name
    raise LookupError(f"no index on assets {columns}")


def _holds_more(arm, columns, count: int) -> bool:
    """Whether `arm` holds more than `count` ids (an index-only read of its index, stopped there)."""
    return db.session.execute(sa.select(Asset.id).where(arm).order_by(*columns).offset(count).limit(1)).first() \
        is not None


def _few_ids(arm, columns) -> list[int] | None:
    """Return the ids `arm` holds if at most FEW_CANDIDATES, else None (an index-only read of its index).

    Read in the index's order, so that no scan "until the limit is reached" looks cheaper to the planner.
    """
    ids = list(db.session.scalars(sa.select(Asset.id).where(arm).order_by(*columns).limit(FEW_CANDIDATES + 1)))
    return ids if len(ids) <= FEW_CANDIDATES else None


def count_assets(f: AssetFilters, user, as_of: date | None = None) -> int:
    """Count matching assets (only on request: a full count is what the list avoids)."""
    # The collecting form: a count reads every match, so the filters' own indexes should find them.
    conds = [asset_scope(user), *filter_plans(f, as_of).collect]
    return db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(*conds))

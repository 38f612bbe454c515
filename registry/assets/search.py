"""Keyword search over the words around an asset, answered from trigram indexes.

A keyword matches an asset when it is part of the asset's name, its address, its owner or user
unit's name, or its elevator's 小区 (`like_condition`: the definition, also the benchmarks'
baseline). The indexes only find candidates fast; every candidate is re-checked with that
definition, so both paths return the same rows.

The indexed text is *spread*: each character sits between two separator letters, so a keyword
of n characters becomes 2n+1 characters and even a one- or two-character Chinese keyword (梯, 电梯)
is made of whole trigrams. Each category spreads with its own letter (`SEPARATORS`), so a
category's page reads only that category's postings: a word that is common elsewhere (电梯 on the
medical-device page) costs nothing.

- SQLite: contentless FTS5 tables with the trigram tokenizer (`asset_search` over name and
  address, `elevator_search` over the 小区, `unit_search` over unit names), kept in step by
  triggers on `assets`, `elevator_details` and `units`, in the writer's transaction, whatever
  writes (ORM, Core, bulk).
- PostgreSQL: pg_trgm GIN indexes on the expression `registry_search_text(...)`, maintained
  by PostgreSQL itself like any index.

Unit names have their own index (`unit_search`, `ix_units_search`); the units that match lead to
their assets of the page's category through the (unit, category) indexes. Nothing is copied onto
`assets`, so renaming a unit or editing a 小区 updates the search at once, in the same
transaction (migration 0019 creates the structures).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from registry.assets.models import Asset, ElevatorDetail
from registry.enums import Category
from registry.extensions import db
from registry.orgs.models import Unit

# Letters (pg_trgm keeps letters in one word) without case (folding leaves them alone) that no
# ledger uses: Yi syllables U+A000 (no category: the elevators' 小区) to U+A006, one per category.
SEPARATORS = {None: "\ua000", "elevator": "\ua001", "construction_machine": "\ua002", "pipe": "\ua003",
              "official_car": "\ua004", "farm_machine": "\ua005", "medical_device": "\ua006"}
SEP = SEPARATORS[None]
# pg_trgm splits words at every character that is neither letter nor digit, so a keyword made of
# punctuation (「（」, 「-」, a space) had no trigram and its GIN scan read the whole index. On
# PostgreSQL the indexed text and the keyword therefore first turn each of these marks into a
# letter of its own (U+A010 onwards, more Yi syllables); SQLite's FTS5 trigrams keep punctuation as is.
PUNCTUATION = (" \t\u3000!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
               "（）【】《》〈〉「」『』“”‘’、，。：；！？·—…～－／＃＋＝％＆＊＿｛｝［］〔〕")
PUNCTUATION_LETTERS = "".join(chr(0xA010 + i) for i in range(len(PUNCTUATION)))
_AS_LETTERS = str.maketrans(PUNCTUATION, PUNCTUATION_LETTERS)
# Candidates taken from an index. More than this: the keyword is common, and walking the list's
# sort index while testing each row finds a page sooner than collecting every match.
PROBE = 2000
# Before any index is asked, the keyword is tested on the first SAMPLE rows of the page's frame; with
# DENSE matches there (0.8 %) the list's walk fills a page within its windows (queries.WALK_BUDGET).
SAMPLE = 2000
DENSE = 16
# Units a probe names by id; more are matched inside the statement (the units scanned once).
PROBE_UNITS = 200
# Owner or user units looked up by id; more than this and membership is tested row by row.
FEW_UNITS = 20
# The SQLite triggers call the Python twin of PostgreSQL's SQL function under the same name.
SQL_FUNCTION = "registry_search_text"
_FTS_ASSETS = sa.table("asset_search", sa.column("rowid"))
_FTS_ELEVATORS = sa.table("elevator_search", sa.column("rowid"))
_FTS_UNITS = sa.table("unit_search", sa.column("rowid"))
# Objects migration 0019 creates outside the models (the drift check leaves them alone).
SEARCH_TABLES = ("asset_search", "elevator_search", "unit_search")
SEARCH_INDEXES = ("ix_assets_search", "ix_elevator_details_search", "ix_units_search")


def search_text(category: str | None, text: str | None, more: str | None = None, lettered: bool = False) -> str:
    """Return the indexed form of `text` and `more`: each character between two letters of `category`.

    `lettered`: PostgreSQL's form, punctuation turned into letters first (SQLite's triggers call the plain one).
    """
    sep = SEPARATORS.get(category, SEP)
    joined = f"{text or ''}\n{more or ''}"
    # `joined` is never empty (the line break), so this is sep + each character followed by sep.
    return sep + sep.join(joined.translate(_AS_LETTERS) if lettered else joined) + sep


def _needle(q: str, category: Category | None, lettered: bool = False) -> str:
    """Return `q` spread like the indexed text: part of it whenever `q` is part of the text.

    `lettered`: punctuation turned into letters first, as PostgreSQL's `registry_search_text` does.
    """
    sep = SEPARATORS[category.value if category else None]
    return sep + "".join(ch + sep for ch in (q.translate(_AS_LETTERS) if lettered else q))


def register_sqlite_function(dbapi_conn) -> None:
    """Give a SQLite connection the function the search triggers call."""
    dbapi_conn.create_function(SQL_FUNCTION, 3, search_text, deterministic=True)


# FTS5's default in-memory size of pending index terms, and the one a bulk load uses.
FTS5_HASHSIZE = 1024 * 1024
BULK_HASHSIZE = 64 * 1024 * 1024
# What a bulk load builds at its end instead of row by row: the asset, 小区 and unit indexes, with the
# same text as migration 0019's triggers (SQLite) and index expressions (PostgreSQL).
_BACKFILL = {
    "asset_search": "SELECT id, registry_search_text(category, name, address) FROM assets WHERE id >= :first",
    "elevator_search": "SELECT asset_id, registry_search_text(NULL, residential_community, NULL) "
                       "FROM elevator_details WHERE asset_id >= :first",
    "unit_search": "SELECT id, registry_search_text(NULL, name, NULL) FROM units WHERE id >= :first_unit",
}
_PG_INDEXES = {"asset_search": "ix_assets_search", "elevator_search": "ix_elevator_details_search",
               "unit_search": "ix_units_search"}


@contextmanager
def index_deferred(conn, first_id: int, first_unit_id: int | None = None) -> Iterator[None]:
    """Index assets (and 小区) with ids from `first_id`, and units from `first_unit_id`, once after the block.

    For bulk loads into an inventory whose assets all come after the existing ones (seed-demo):
    SQLite's insert triggers are lifted and the FTS5 rows written with one INSERT … SELECT; on
    PostgreSQL the GIN indexes are dropped and built again. All in the caller's transaction, so a
    failure rolls the structures back with the rows. Units are left alone without `first_unit_id`.
    """
    tables = [t for t in _BACKFILL if t != "unit_search" or first_unit_id is not None]
    firsts = {"first": first_id, "first_unit": first_unit_id}
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if not raw.in_transaction:  # pysqlite would run the DDL below outside any transaction, committed at once
            raw.execute("BEGIN")
        names = [f"{table}_insert" for table in tables]
        saved = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
                                     f"({', '.join(repr(n) for n in names)})")).all()
        for name, _sql in saved:
            conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
        yield
        for _name, sql in saved:
            conn.execute(sa.text(sql))
        for table in tables:
            # FTS5 writes its pending terms out as a segment whenever they pass `hashsize` (1 MiB), and
            # merges those segments as it goes; 64 MiB makes a 1M-row build 40 % faster. Set back after.
            conn.execute(sa.text(f"INSERT INTO {table}({table}, rank) VALUES ('hashsize', {BULK_HASHSIZE})"))
            conn.execute(sa.text(f"INSERT INTO {table}(rowid, body) {_BACKFILL[table]}"), firsts)
            conn.execute(sa.text(f"INSERT INTO {table}({table}, rank) VALUES ('hashsize', {FTS5_HASHSIZE})"))
        return
    names = [_PG_INDEXES[table] for table in tables]
    saved = conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
                                 f"({', '.join(repr(n) for n in names)})")).all()
    for name, _sql in saved:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    yield
    for _name, sql in saved:
        conn.execute(sa.text(sql))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter: leave out the search tables and indexes, which no model declares."""
    if type_ == "table":
        return not any(name == t or name.startswith(t + "_") for t in SEARCH_TABLES)
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


def _units_named(text: str):
    return sa.select(Unit.id).where(Unit.name.contains(text, autoescape=True))


def unit_condition(text: str):
    """Owner or user unit whose name contains `text`; the plan depends on how many units match.

    Few units: look their assets up through the unit indexes and sort that small set. Many units
    (a word like 合作社): their assets are common, so walk the sort index and test membership.
    """
    matching = _units_named(text)
    ids = list(db.session.scalars(matching.limit(FEW_UNITS + 1)))
    if not ids:
        return sa.false()
    if len(ids) <= FEW_UNITS:
        return sa.or_(Asset.owner_unit_id.in_(ids), Asset.user_unit_id.in_(ids))
    units = matching.scalar_subquery()
    return sa.or_(sa.func.coalesce(Asset.owner_unit_id, 0).in_(units),
                  sa.func.coalesce(Asset.user_unit_id, 0).in_(units))


def _own_words(q: str):
    return sa.or_(Asset.name.contains(q, autoescape=True), Asset.address.contains(q, autoescape=True))


def _community(q: str):
    return ElevatorDetail.residential_community.contains(q, autoescape=True)


def _community_of_row(q: str):
    """The row's own 小区 contains `q`: an elevator's detail looked up by its key, row by row.

    A scalar subquery keyed by the row: EXISTS would let PostgreSQL hash a scan of every 小区 first.
    """
    community = (sa.select(ElevatorDetail.residential_community).where(ElevatorDetail.asset_id == Asset.id)
                 .correlate_except(ElevatorDetail))
    return sa.and_(Asset.category == Category.ELEVATOR,
                   community.scalar_subquery().contains(q, autoescape=True))


def like_condition(q: str):
    """The plain definition: `q` is part of the name, address, owner/user unit name or 小区 (a scan)."""
    units = _units_named(q)
    return sa.or_(_own_words(q), Asset.owner_unit_id.in_(units), Asset.user_unit_id.in_(units),
                  Asset.id.in_(sa.select(ElevatorDetail.asset_id).where(_community(q))))


def _like_pattern(needle: str) -> str:
    # PostgreSQL's LIKE escapes with a backslash by default; an ESCAPE clause would hide the
    # pattern from pg_trgm behind like_escape().
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


def _probe_own_words(q: str, within: list, category: Category | None, limit: int) -> list[int]:
    """Ids of assets meeting `within` whose name or address contains `q` (at most `limit`), through the index."""
    categories = [category] if category else list(Category)
    stmt = sa.select(Asset.id)
    if db.session.get_bind().dialect.name == "sqlite":
        phrase = " OR ".join(_fts_phrase(_needle(q, c)) for c in categories)
        stmt = stmt.join(_FTS_ASSETS, _FTS_ASSETS.c.rowid == Asset.id).where(
            sa.text("asset_search MATCH :phrase").bindparams(phrase=phrase))
    else:
        indexed = sa.func.registry_search_text(Asset.category, Asset.name, Asset.address)
        stmt = stmt.where(sa.or_(*(indexed.like(_like_pattern(_needle(q, c, lettered=True))) for c in categories)))
    return list(db.session.scalars(stmt.where(_own_words(q), *within).limit(limit)))


def _indexed_text(stmt, fts, key, column, q: str):
    """Narrow `stmt` to rows whose `column` may contain `q`, through the FTS5 table `fts` (rowid = `key`) or pg_trgm."""
    if db.session.get_bind().dialect.name == "sqlite":
        return stmt.join(fts, fts.c.rowid == key).where(
            sa.text(f"{fts.name} MATCH :phrase").bindparams(phrase=_fts_phrase(_needle(q, None))))
    # The same expression as the index: no category, the text, no second text.
    indexed = sa.func.registry_search_text(sa.null(), column, sa.literal_column("''"))
    return stmt.where(indexed.like(_like_pattern(_needle(q, None, lettered=True))))


def _probe_community(q: str, within: list, limit: int) -> list[int]:
    """Ids of elevators meeting `within` whose 小区 contains `q` (at most `limit`), through the index."""
    stmt = sa.select(Asset.id).join(ElevatorDetail, ElevatorDetail.asset_id == Asset.id)
    stmt = _indexed_text(stmt, _FTS_ELEVATORS, ElevatorDetail.asset_id, ElevatorDetail.residential_community, q)
    return list(db.session.scalars(stmt.where(_community(q), *within).limit(limit)))


def _probe_units(q: str, within: list, limit: int) -> list[int]:
    """Ids of assets meeting `within` whose owner or user unit's name contains `q` (at most `limit` per role)."""
    named = _indexed_text(_units_named(q), _FTS_UNITS, Unit.id, Unit.name, q).limit(PROBE_UNITS + 1)
    units = list(db.session.scalars(named))
    if len(units) > PROBE_UNITS:  # a word like 有限公司: one scan of the units inside the statement
        matching = _units_named(q)
        if db.session.get_bind().dialect.name == "postgresql":
            # = ANY(ARRAY(...)) runs the units scan once and then seeks the (unit, category) index;
            # IN (...) would hash-join a scan of the whole category.
            units = sa.func.array(matching.scalar_subquery())
            tests = [sa.any_(units) == Asset.owner_unit_id, sa.any_(units) == Asset.user_unit_id]
        else:
            tests = [Asset.owner_unit_id.in_(matching), Asset.user_unit_id.in_(matching)]
    else:
        tests = [Asset.owner_unit_id.in_(units), Asset.user_unit_id.in_(units)] if units else []
    found: set[int] = set()
    for test in tests:  # each role through its (unit, category) index
        found.update(db.session.scalars(sa.select(Asset.id).where(test, *within).limit(limit)))
    return sorted(found)


def _sample_matches(q: str, within: list, category: Category | None, tests: list) -> int:
    """Count the first SAMPLE rows of the page's frame (`category`, id order) meeting `within` and any of `tests`.

    A bounded read (a range of the id or (category, id) index, each row tested), whatever the
    keyword's frequency: what the list's walk of its sort index would find over that many rows.
    """
    frame = [Asset.category == category] if category else []
    edge = db.session.scalar(sa.select(Asset.id).where(*frame).order_by(Asset.id).offset(SAMPLE - 1).limit(1))
    window = [] if edge is None else [Asset.id <= edge]
    hits = sa.select(Asset.id).where(*frame, *within, *window, sa.or_(*tests)).limit(DENSE)
    return db.session.scalar(sa.select(sa.func.count()).select_from(hits.subquery()))


def text_condition(q: str, within=(), category: Category | None = None, probe: int | None = None):
    """Return the SQL condition "`q` matches" (same rows as `like_condition`), planned from the indexes.

    First a bounded sample: the first SAMPLE rows of the page's frame meeting the list's other
    conditions `within` (and `category`, which they contain) are tested row by row. When at least
    DENSE of them match, the keyword is common (电梯, 路): the list's walk of its sort index fills a
    page within a few windows, so every source is a row test and no index is asked (a GIN bitmap
    cannot stop at a limit: a common trigram costs its whole posting list, and each candidate a
    recheck). Otherwise each source (name/address, units, 小区) is asked its index for at most
    `probe` + 1 matches among the rows `within` lets through: a source with fewer contributes its
    exact ids, one with more its row test. No match anywhere is `false`: nothing is scanned.
    """
    limit = (probe or PROBE) + 1
    within = list(within)
    units = unit_condition(q)
    community = _community_of_row(q)
    sources = [_own_words(q), units]
    if category in (None, Category.ELEVATOR):
        sources.append(community)
    if probe is None and _sample_matches(q, within, category, sources) >= DENSE:
        return sa.or_(*sources)
    ids: set[int] = set()
    row_tests = []
    own = _probe_own_words(q, within, category, limit)
    dense = len(own) >= limit
    if dense:
        row_tests.append(sources[0])
    else:
        ids.update(own)
    # Where the words alone fill pages, the walk is short: test the units row by row there too.
    by_unit = [] if dense else _probe_units(q, within, limit)
    if dense or len(by_unit) >= limit:
        row_tests.append(units)
    else:
        ids.update(by_unit)
    if category in (None, Category.ELEVATOR):
        found = _probe_community(q, within, limit)
        if len(found) >= limit:
            row_tests.append(community)
        else:
            ids.update(found)
    if ids:
        row_tests.append(Asset.id.in_(sorted(ids)))
    return sa.or_(*row_tests) if row_tests else sa.false()

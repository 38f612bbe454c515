"""asset_search: trigram indexes for the keyword search (FTS5 on SQLite, pg_trgm on PostgreSQL)

Revision ID: 0019_asset_search
Revises: 0017_outcome_baselines
Create Date: 2026-12-02 08:00:00

The indexed text is `registry.assets.search.search_text`: each character between two letters
of its category (U+A001–U+A006; U+A000 for the 小区 and unit names), so one- and two-character keywords are whole
trigrams too and a category reads only its own postings. SQLite: contentless FTS5
tables kept in step by triggers that call the Python twin `registry_search_text` (registered on
every connection of the app's engine). PostgreSQL: GIN indexes on the SQL function of the same
name. pg_trgm is a trusted extension: the owner of the database may create it.

A later SQLite migration that rebuilds `assets` or `elevator_details` (batch mode) drops their
triggers with the table and must create them again (tests/test_asset_search.py checks they exist).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0019_asset_search"
down_revision = "0017_outcome_baselines"
branch_labels = None
depends_on = None

# registry.assets.search.SEPARATORS: U+A000 without a category, then one letter per category.
CATEGORIES = ("elevator", "construction_machine", "pipe", "official_car", "farm_machine", "medical_device")
_SEPARATOR = "CASE category " + " ".join(f"WHEN '{c}' THEN '{chr(0xA001 + i)}'" for i, c in enumerate(CATEGORIES)) \
    + " ELSE '\ua000' END"

PG_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # One SQL expression of built-in functions only: inlined into the index scans' recheck, and
    # pg_restore (empty search_path) can rebuild the indexes.
    f"""CREATE FUNCTION registry_search_text(category text, a text, b text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT {_SEPARATOR} || array_to_string(string_to_array(coalesce(a, '') || E'\\n' || coalesce(b, ''), NULL),
                                                   {_SEPARATOR}) || {_SEPARATOR} $$""",
    "CREATE INDEX ix_assets_search ON assets USING gin (registry_search_text(category, name, address) gin_trgm_ops)",
    "CREATE INDEX ix_elevator_details_search ON elevator_details "
    "USING gin (registry_search_text(NULL, residential_community, '') gin_trgm_ops)",
    "CREATE INDEX ix_units_search ON units USING gin (registry_search_text(NULL, name, '') gin_trgm_ops)",
]
# The extension stays: dropping it is the database owner's decision.
PG_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_units_search",
    "DROP INDEX IF EXISTS ix_elevator_details_search",
    "DROP INDEX IF EXISTS ix_assets_search",
    "DROP FUNCTION IF EXISTS registry_search_text(text, text, text)",
]


def _sqlite_statements(table: str, source: str, key: str, columns: str, values: dict[str, str]) -> list[str]:
    """FTS5 table `table` of `values` (FTS column -> expression of a `source` row, rowid = `key`), its triggers, its backfill."""
    names = ", ".join(values)
    new, old, rows = (", ".join(v.format(row=r) for v in values.values()) for r in ("new", "old", source))
    remove = f"INSERT INTO {table}({table}, rowid, {names}) VALUES ('delete', old.{key}, {old});"
    add = f"INSERT INTO {table}(rowid, {names}) VALUES (new.{key}, {new});"
    return [
        f"CREATE VIRTUAL TABLE {table} USING fts5({names}, content='', columnsize=0, tokenize='trigram')",
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON {source} BEGIN {add} END",
        f"CREATE TRIGGER {table}_update AFTER UPDATE OF {columns} ON {source} BEGIN {remove} {add} END",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN {remove} END",
        f"INSERT INTO {table}(rowid, {names}) SELECT {key}, {rows} FROM {source}",
    ]


SQLITE_UPGRADE = (
    _sqlite_statements("asset_search", "assets", "id", "name, address, category", {
        "body": "registry_search_text({row}.category, {row}.name, {row}.address)"})
    + _sqlite_statements("elevator_search", "elevator_details", "asset_id", "residential_community", {
        "body": "registry_search_text(NULL, {row}.residential_community, NULL)"})
    + _sqlite_statements("unit_search", "units", "id", "name", {"body": "registry_search_text(NULL, {row}.name, NULL)"})
)
SQLITE_DOWNGRADE = [
    f"DROP TRIGGER IF EXISTS {table}_{event}"
    for table in ("asset_search", "elevator_search", "unit_search") for event in ("insert", "update", "delete")
] + ["DROP TABLE IF EXISTS asset_search", "DROP TABLE IF EXISTS elevator_search", "DROP TABLE IF EXISTS unit_search"]


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in PG_UPGRADE if postgresql else SQLITE_UPGRADE:
        op.execute(statement)
    # Unit -> assets of one category (keyword found in unit names); the unit column leads, so the
    # single-column indexes they replace had nothing left to do. Plain index DDL: no table rebuild.
    for role in ("owner", "user"):
        op.create_index(f"ix_assets_{role}_unit_category", "assets", [f"{role}_unit_id", "category"])
        op.drop_index(f"ix_assets_{role}_unit_id", table_name="assets")


def downgrade():
    for role in ("owner", "user"):
        op.create_index(f"ix_assets_{role}_unit_id", "assets", [f"{role}_unit_id"])
        op.drop_index(f"ix_assets_{role}_unit_category", table_name="assets")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in PG_DOWNGRADE if postgresql else SQLITE_DOWNGRADE:
        op.execute(statement)

"""search punctuation: PostgreSQL's indexed keyword text turns punctuation and spaces into letters

Revision ID: 0020_search_punctuation
Revises: 0019_asset_search
Create Date: 2026-12-02 13:40:00

pg_trgm splits words at every character that is neither letter nor digit, so a keyword made of
punctuation (「（」 cut from 「（东区）」, a space) had no trigram and its GIN scan read the whole index
(0.9–3.5 s at 1M assets). `registry_search_text` now first maps each mark of
`registry.assets.search.PUNCTUATION` to its own letter (U+A010 onwards), and the three indexes are
rebuilt. SQLite's FTS5 trigrams keep punctuation and are unchanged (its contentless tables must see
the same text on delete as on insert, so its function must not change).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0020_search_punctuation"
down_revision = "0019_asset_search"
branch_labels = None
depends_on = None

# Frozen copies of registry.assets.search (tests/test_asset_search.py checks they agree).
CATEGORIES = ("elevator", "construction_machine", "pipe", "official_car", "farm_machine", "medical_device")
PUNCTUATION = (" \t\u3000!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
               "（）【】《》〈〉「」『』“”‘’、，。：；！？·—…～－／＃＋＝％＆＊＿｛｝［］〔〕")
PUNCTUATION_LETTERS = "".join(chr(0xA010 + i) for i in range(len(PUNCTUATION)))
_SEPARATOR = "CASE category " + " ".join(f"WHEN '{c}' THEN '{chr(0xA001 + i)}'" for i, c in enumerate(CATEGORIES)) \
    + " ELSE '\ua000' END"
INDEXES = ("ix_assets_search", "ix_elevator_details_search", "ix_units_search")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _function(joined: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION registry_search_text(category text, a text, b text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT {_SEPARATOR} || array_to_string(string_to_array({joined}, NULL), {_SEPARATOR}) || {_SEPARATOR} $$"""


_JOINED = "coalesce(a, '') || E'\\n' || coalesce(b, '')"
LETTERED = _function(f"translate({_JOINED}, {_literal(PUNCTUATION)}, {_literal(PUNCTUATION_LETTERS)})")
PLAIN = _function(_JOINED)  # migration 0019's function


def _replace(function: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(function)
    for index in INDEXES:  # their stored text came from the old function
        op.execute(f"REINDEX INDEX {index}")


def upgrade():
    _replace(LETTERED)


def downgrade():
    _replace(PLAIN)

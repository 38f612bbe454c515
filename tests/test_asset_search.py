"""Keyword search: the trigram indexes return exactly the rows of the plain LIKE definition, in step with writes."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.assets import search
from registry.assets.filters import keyword_condition, parse_filters
from registry.assets.models import Asset, ElevatorDetail
from registry.assets.services import apply_changes
from registry.bulk import bulk_insert
from registry.demo.inventory import seed_demo
from registry.enums import Category
from registry.extensions import db
from registry.orgs.models import Unit
from tests import factories

# Hand-written keywords: 1, 2, 3+ characters, Chinese and non-ASCII Latin, no match, LIKE's special
# characters, the spreading letter itself, and case (SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
FIXED = ["电梯", "梯", "医院", "合作社", "小区", "号", "路", "不存在的词", "火箭", "鑫", "%", "_", "\\", "50%", "a_b",
         "\\电", "%电", "电_", search.SEP, "ꀀ电", "CT机", "ct机", "Ｘ光", "号楼", "（", "电梯%", "\"", "'", "锦绣花园",
         "测试单位", "特殊单位", "新郑市", "镇", "街道", *search.SEPARATORS.values(), "\ua006电"]


def _ids(condition) -> list[int]:
    return list(db.session.scalars(sa.select(Asset.id).where(condition).order_by(Asset.id)))


def _sample_keywords() -> list[str]:
    """Substrings of 1 to 4 characters taken from every searched field of the seeded rows."""
    words: set[str] = set()
    rows = db.session.execute(
        sa.select(Asset.name, Asset.address, Unit.name, ElevatorDetail.residential_community)
        .join(Unit, Unit.id == Asset.owner_unit_id)
        .outerjoin(ElevatorDetail, ElevatorDetail.asset_id == Asset.id).order_by(Asset.id)).all()
    for n, row in enumerate(rows[::17]):
        for text in row:
            if not text:
                continue
            for size in (1, 2, 3, 4):
                start = (n * 3) % max(1, len(text) - size + 1)
                word = text[start:start + size].strip()
                if word and not word.isascii():
                    words.add(word)
    return sorted(words)


@pytest.fixture
def inventory(app):
    """The deterministic demo inventory plus rows whose words exercise the edge cases."""
    with app.app_context():
        seed_demo(600)
        special = factories.make_unit("特殊单位%_\\有限公司")
        for name, address in [("CT机", "新郑市人民路1号"), ("Ｘ光机 50%", "a_b路\\电2号"), ("电梯%", None),
                              ("梯", "（东区）"), (f"含{search.SEP}字", "引号\"'路"), ("电", "梯")]:
            factories.make_asset(Category.MEDICAL_DEVICE, name=name, address=address, owner=special)
        factories.make_asset(Category.ELEVATOR, name="乘客电梯", detail={"residential_community": "锦绣花园%小区", "registration_code": "S-REG-1"})
        yield app


def test_search_returns_the_like_rows_for_every_keyword(inventory):
    with inventory.app_context():
        keywords = FIXED + _sample_keywords()
        assert len(keywords) > 100
        matched = 0
        for q in keywords:
            expected = _ids(search.like_condition(q))
            assert _ids(search.text_condition(q)) == expected, q
            # A tiny probe sends every source down the row-by-row path: still the same rows.
            assert _ids(search.text_condition(q, probe=3)) == expected, q
            if not q.isascii():  # ASCII keywords are code prefixes (an index range), not searched text
                assert _ids(keyword_condition(q)) == expected, q
            matched += bool(expected)
        assert matched > 80  # the keywords above are mostly real words of the inventory
        assert _ids(search.text_condition("不存在的词")) == []
        assert len(_ids(search.text_condition("电梯"))) > 100  # common: the walk path, many rows


def test_special_characters_are_literal(inventory):
    with inventory.app_context():
        names = lambda q: sorted(db.session.scalars(sa.select(Asset.name).where(search.text_condition(q))))  # noqa: E731
        assert names("50%") == ["Ｘ光机 50%"]
        assert names("a_b") == ["Ｘ光机 50%"]
        assert names("\\电") == ["Ｘ光机 50%"]
        assert names("梯%") == ["电梯%"]
        assert names(search.SEP) == [f"含{search.SEP}字"]
        assert len(names("特殊单位%_\\")) == 6  # through the owner unit's name
        assert names("花园%") == ["乘客电梯"]  # through the elevator's 小区


def test_list_filter_and_parser_use_the_index(inventory):
    with inventory.app_context():
        from registry.assets.queries import list_assets
        user = factories.make_user(role="taskforce", department=None)
        filters = parse_filters({"q": "医院", "category": "medical_device"})
        page = list_assets(filters, user, limit=200)
        expected = _ids(sa.and_(search.like_condition("医院"), Asset.category == Category.MEDICAL_DEVICE,
                                Asset.deleted_at.is_(None)))
        assert [a.id for a in page.items] == expected[:200] and expected


def test_edits_are_searchable_in_the_same_transaction(inventory):
    with inventory.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.category == Category.ELEVATOR).limit(1))
        user = factories.make_user(role="maintainer", department="zjj")
        apply_changes(asset, {"name": "观光电梯甲乙", "address": "丙丁大道8号"}, user)
        db.session.flush()
        assert _ids(search.text_condition("甲乙")) == [asset.id]
        assert _ids(search.text_condition("丙丁")) == [asset.id]
        asset.elevator.residential_community = "戊己家园"
        unit = db.session.get(Unit, asset.owner_unit_id)
        unit.name = "庚辛物业"
        db.session.flush()
        owned = _ids(sa.or_(Asset.owner_unit_id == unit.id, Asset.user_unit_id == unit.id))
        assert _ids(search.text_condition("戊己")) == [asset.id]
        assert _ids(search.text_condition("庚辛")) == owned
        assert _ids(search.text_condition("庚辛")) == _ids(search.like_condition("庚辛"))
        db.session.rollback()
        assert _ids(search.text_condition("甲乙")) == []
        assert _ids(search.text_condition("戊己")) == []
        assert _ids(search.text_condition("庚辛")) == []


def test_core_and_bulk_writes_are_in_step(inventory):
    """Imports write with Core executemany and bulk_insert (COPY on PostgreSQL), not the ORM."""
    with inventory.app_context():
        unit = factories.make_unit("壬癸公司")
        template = db.session.execute(sa.select(Asset.__table__).limit(1)).mappings().one()
        base = {k: v for k, v in template.items() if k not in ("id", "code", "name", "address", "owner_unit_id",
                                                                "user_unit_id", "extra")}
        db.session.execute(sa.insert(Asset.__table__), [
            {**base, "code": "S-CORE-1", "name": "子丑起重机", "address": None, "owner_unit_id": unit.id,
             "user_unit_id": None}])
        top = db.session.scalar(sa.select(sa.func.max(Asset.id)))
        columns = ["id", "code", "name", "address", "owner_unit_id", *base]
        bulk_insert(Asset.__table__, columns, [(top + 1, "S-BULK-1", "寅卯挖掘机", "辰巳路", unit.id, *base.values())])
        db.session.flush()
        core = db.session.scalar(sa.select(Asset.id).where(Asset.code == "S-CORE-1"))
        assert _ids(search.text_condition("子丑")) == [core]
        assert _ids(search.text_condition("辰巳")) == [top + 1]
        assert _ids(search.text_condition("壬癸")) == [core, top + 1]
        db.session.execute(sa.update(Asset.__table__).where(Asset.id == core).values(name="午未起重机"))
        assert _ids(search.text_condition("子丑")) == []
        assert _ids(search.text_condition("午未")) == [core]
        db.session.rollback()
        assert _ids(search.text_condition("壬癸")) == []


def _assert_structures_present() -> None:
    if db.engine.dialect.name == "sqlite":
        names = set(db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        wanted = {f"{t}_{e}" for t in search.SEARCH_TABLES for e in ("insert", "update", "delete")}
        assert wanted <= names
    else:
        names = set(db.session.scalars(sa.text("SELECT indexname FROM pg_indexes")))
        assert set(search.SEARCH_INDEXES) <= names


def test_search_structures_exist_after_the_migrations(app):
    """A later batch migration that rebuilds `assets` on SQLite would drop the triggers: this notices."""
    with app.app_context():
        _assert_structures_present()


def test_sql_function_agrees_with_python(app):
    with app.app_context():
        on_pg = db.session.get_bind().dialect.name == "postgresql"
        texts = [("乘客电梯", "新郑市人民路1号"), ("", None), (None, None), ("a\nb", "%_\\"), (search.SEP, "Ｘ光"),
                 ("梯（东区）", "引号\"'路 A-1、2号"), (search.PUNCTUATION, search.PUNCTUATION_LETTERS)]
        # Each mark alone and inside words: PostgreSQL translates only a text in which it finds a mark.
        texts += [(f"甲{mark}乙", None) for mark in search.PUNCTUATION] + [(None, mark) for mark in search.PUNCTUATION]
        for category in [None, *(c.value for c in Category)]:
            for a, b in texts:
                got = db.session.scalar(sa.select(sa.func.registry_search_text(category, a, b)))
                assert got == search.search_text(category, a, b, lettered=on_pg), (category, a, b)
        assert len(set(search.SEPARATORS.values())) == len(Category) + 1  # one letter per category


def test_the_sql_function_is_inlined_on_postgresql(app):
    """An IMMUTABLE SQL function with a STABLE call inside runs through the function executor (6x slower a row)."""
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite calls the Python twin; runs in the PostgreSQL pass of make test")
        plan = "\n".join(db.session.scalars(sa.text(
            "EXPLAIN VERBOSE SELECT registry_search_text(category, name, address) FROM assets")))
        assert "regexp_replace" in plan and "registry_search_text" not in plan


def test_punctuation_keywords_have_trigrams_on_postgresql(app):
    """pg_trgm drops punctuation; a keyword of it had no trigram and its GIN scan read the whole index."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[1] / "migrations" / "versions" / "0020_search_punctuation.py"
    spec = importlib.util.spec_from_file_location("migration_0020", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert (migration.PUNCTUATION, migration.PUNCTUATION_LETTERS) == (search.PUNCTUATION, search.PUNCTUATION_LETTERS)
    assert len(set(search.PUNCTUATION)) == len(search.PUNCTUATION)  # one letter per mark: no two marks collide
    assert not set(search.PUNCTUATION_LETTERS) & set(search.SEPARATORS.values())
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite's FTS5 trigrams keep punctuation, so there is nothing to map; "
                        "runs in the PostgreSQL pass of make test")
        for q in ["（", "-", " ", "、", "（东区）", "_", "%", "号-"]:
            needle = search._needle(q, None, lettered=True)
            trigrams = db.session.scalar(sa.select(sa.func.show_trgm(needle)))
            assert any(" " not in t for t in trigrams), (q, trigrams)  # a whole trigram, not only word padding


@pytest.mark.parametrize("probe", [search.PROBE, 3])
def test_category_pages_return_the_like_rows(inventory, monkeypatch, probe):
    """The list's other conditions (category, status, not deleted) take part in the plan, not in the result."""
    from registry.assets.filters import AssetFilters, filter_conditions
    from registry.enums import LifecycleStatus
    monkeypatch.setattr(search, "PROBE", probe)
    monkeypatch.setattr(search, "PROBE_UNITS", min(probe, search.PROBE_UNITS))
    with inventory.app_context():
        keywords = [q for q in FIXED + _sample_keywords()[::3] if not q.isascii()]
        for category in [None, *Category]:
            for status in (None, LifecycleStatus.IDLE):
                for q in keywords:
                    wanted = [search.like_condition(q), Asset.deleted_at.is_(None)]
                    wanted += [Asset.category == category] if category else []
                    wanted += [Asset.status == status] if status else []
                    got = filter_conditions(AssetFilters(q=q, category=category, status=status))
                    assert _ids(sa.and_(*got)) == _ids(sa.and_(*wanted)), (q, category, status)


def test_a_deferred_bulk_load_indexes_what_the_triggers_would(inventory):
    """seed-demo at scale builds the index once at the end (SQLite: one INSERT … SELECT; PostgreSQL: CREATE INDEX)."""
    with inventory.app_context():
        unit = factories.make_unit("壬癸公司")
        conn = db.session.connection()
        template = db.session.execute(sa.select(Asset.__table__).limit(1)).mappings().one()
        base = {k: v for k, v in template.items() if k not in ("id", "code", "name", "address", "owner_unit_id",
                                                                "user_unit_id", "extra", "category")}
        first = db.session.scalar(sa.select(sa.func.max(Asset.id))) + 1
        columns = ["id", "code", "category", "name", "address", "owner_unit_id", *base]
        with search.index_deferred(conn, first):
            bulk_insert(Asset.__table__, columns, [
                (first, "S-BULK-1", Category.PIPE.value, "寅卯管道", "辰巳路", unit.id, *base.values()),
                (first + 1, "S-BULK-2", Category.ELEVATOR.value, "寅卯电梯", None, unit.id, *base.values())])
            bulk_insert(ElevatorDetail.__table__, ["asset_id", "elevator_type", "residential_community"],
                        [(first + 1, "traction", "午未花园")])
        for q in ("寅卯", "辰巳", "午未", "壬癸", "电梯", "管道", "梯"):
            assert _ids(search.text_condition(q)) == _ids(search.like_condition(q)), q
        assert _ids(search.text_condition("寅卯")) == [first, first + 1]
        assert _ids(search.text_condition("午未")) == [first + 1]
        # The structures are back: a later write is indexed row by row again.
        db.session.execute(sa.update(Asset.__table__).where(Asset.id == first).values(name="申酉管道"))
        assert _ids(search.text_condition("申酉")) == [first]
        _assert_structures_present()
        db.session.rollback()  # the whole load, structures included, goes with a rollback
        _assert_structures_present()
        assert _ids(search.text_condition("寅卯")) == []

"""registry.bulk: the column-at-a-time SQLite conversion stores exactly what the per-value one did."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from registry.bulk import _sqlite_rows, _sqlite_value
from registry.enums import Category, LifecycleStatus

BEIJING = timezone(timedelta(hours=8))


def test_column_conversion_agrees_with_converting_each_value():
    moment = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
    rows = [
        (1, "XZ-1", Category.ELEVATOR, date(2015, 6, 1), moment, Decimal("1.0"), True, None, 2.5),
        (2, "XZ-2", Category.ELEVATOR, datetime(2015, 6, 1), moment.astimezone(BEIJING), Decimal("1.00"), 1, "x", 3),
        (3, None, LifecycleStatus.IN_USE, date(2015, 6, 1), datetime(2026, 12, 1, 12, 0), Decimal("1"), False, 0, None),
        (4, "XZ-4", None, None, None, None, None, None, float("inf")),
    ]
    expected = [tuple(_sqlite_value(v) for v in row) for row in rows]
    assert _sqlite_rows(rows) == expected
    assert _sqlite_rows(iter(rows)) == expected  # a generator of rows, as the seed hands over
    assert _sqlite_rows([]) == []
    converted = _sqlite_rows(rows)
    # The equal pairs keep their own stored forms: a date is not its midnight datetime, 1.0 is not 1.00.
    assert converted[0][3] == "2015-06-01" and converted[1][3] != converted[0][3]
    assert [r[5] for r in converted] == ["1.0", "1.00", "1", None]
    assert converted[0][4] == converted[1][4] == "2026-12-01 04:00:00.000000"


def _foreign_keys(table: str) -> list[str]:
    import sqlalchemy as sa
    from registry.extensions import db
    if db.engine.dialect.name == "postgresql":
        return sorted(db.session.scalars(sa.text(
            f"SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = '{table}'::regclass")))
    return sorted(str(fk) for fk in sa.inspect(db.engine).get_foreign_keys(table))


def test_foreign_keys_checked_after_a_load_come_back_and_refuse_a_dangling_reference(ctx):
    import pytest
    import sqlalchemy as sa
    from registry.assets.models import Asset
    from registry.bulk import bulk_insert, foreign_keys_checked_after
    from registry.extensions import db
    from tests import factories
    before = _foreign_keys("assets")
    assert before
    asset = factories.make_asset(Category.ELEVATOR)
    db.session.commit()
    columns = ["id", "code", "category", "name", "owner_unit_id", "department_id", "township", "status", "version",
               "created_at", "updated_at"]
    row = (asset.id + 100, "XZ-DT-9999999", Category.ELEVATOR, "乘客电梯", 987654, asset.department_id,
           asset.township, LifecycleStatus.IN_USE, 1, datetime.now(timezone.utc), datetime.now(timezone.utc))
    with pytest.raises(sa.exc.IntegrityError):  # unit 987654 does not exist: refused, here or at the end
        with foreign_keys_checked_after(db.session.connection(), [Asset.__table__]):
            bulk_insert(Asset.__table__, columns, [row])
        db.session.flush()
    db.session.rollback()
    assert _foreign_keys("assets") == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 1

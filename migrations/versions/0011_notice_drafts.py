"""notice drafts and signing: drafts without number, 部门负责人 role, discarded/superseded statuses

Revision ID: 0011_notice_drafts
Revises: 0010_notice_findings
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_notice_drafts"
down_revision = "0010_notice_findings"
branch_labels = None
depends_on = None

OLD_STATUSES = ("issued", "served", "acknowledged", "overdue", "completed", "voided")
NEW_STATUSES = ("draft", *OLD_STATUSES, "discarded", "superseded")
OLD_ROLES = ("sysadmin", "secadmin", "auditor", "maintainer", "inspector", "taskforce")
NEW_ROLES = ("sysadmin", "secadmin", "auditor", "maintainer", "inspector", "dept_head", "taskforce")


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _swap_enum(batch_op, column: str, name: str, old, new, nullable: bool) -> None:
    # A non-native Enum is a VARCHAR plus a named CHECK; changing the type re-creates the CHECK.
    batch_op.alter_column(column, existing_type=_enum(old, name), type_=_enum(new, name),
                          existing_nullable=nullable)


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        _swap_enum(batch_op, "role", "role", OLD_ROLES, NEW_ROLES, False)
    with op.batch_alter_table("notice_events") as batch_op:
        _swap_enum(batch_op, "from_status", "from_status", OLD_STATUSES, NEW_STATUSES, True)
        _swap_enum(batch_op, "to_status", "to_status", OLD_STATUSES, NEW_STATUSES, True)
    with op.batch_alter_table("notices") as batch_op:
        _swap_enum(batch_op, "status", "noticestatus", OLD_STATUSES, NEW_STATUSES, False)
        for column, type_ in (("year", sa.Integer()), ("serial", sa.Integer()), ("number", sa.String(40)),
                              ("token", sa.String(64)), ("issued_at", sa.DateTime(timezone=True))):
            batch_op.alter_column(column, existing_type=type_, nullable=True)
        batch_op.add_column(sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("drafted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_notices_drafted_by_id_users"), "users", ["drafted_by_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_notices_superseded_by_id_notices"), "notices",
                                    ["superseded_by_id"], ["id"])
    # Notices issued before drafts existed were drafted and signed by the same person at the same time.
    op.execute("UPDATE notices SET drafted_at = issued_at, drafted_by_id = issued_by_id")
    with op.batch_alter_table("notices") as batch_op:
        batch_op.alter_column("drafted_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    op.execute("DELETE FROM notice_items WHERE notice_id IN (SELECT id FROM notices WHERE number IS NULL)")
    op.execute("DELETE FROM notice_events WHERE notice_id IN (SELECT id FROM notices WHERE number IS NULL)")
    op.execute("DELETE FROM notices WHERE number IS NULL")
    op.execute("DELETE FROM notice_events WHERE from_status IN ('draft', 'discarded', 'superseded') "
               "OR to_status IN ('draft', 'discarded', 'superseded')")
    with op.batch_alter_table("notices") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notices_superseded_by_id_notices"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_notices_drafted_by_id_users"), type_="foreignkey")
        batch_op.drop_column("superseded_by_id")
        batch_op.drop_column("drafted_by_id")
        batch_op.drop_column("drafted_at")
        for column, type_ in (("year", sa.Integer()), ("serial", sa.Integer()), ("number", sa.String(40)),
                              ("token", sa.String(64)), ("issued_at", sa.DateTime(timezone=True))):
            batch_op.alter_column(column, existing_type=type_, nullable=False)
        _swap_enum(batch_op, "status", "noticestatus", NEW_STATUSES, OLD_STATUSES, False)
    with op.batch_alter_table("notice_events") as batch_op:
        _swap_enum(batch_op, "from_status", "from_status", NEW_STATUSES, OLD_STATUSES, True)
        _swap_enum(batch_op, "to_status", "to_status", NEW_STATUSES, OLD_STATUSES, True)
    # No older role may stand in for a head's: their accounts are kept, disabled.
    op.execute("UPDATE users SET role = 'inspector', active = false WHERE role = 'dept_head'")
    with op.batch_alter_table("users") as batch_op:
        _swap_enum(batch_op, "role", "role", NEW_ROLES, OLD_ROLES, False)

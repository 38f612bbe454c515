"""Departments (主管部门) and units (产权/使用单位)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db_types import enum_type
from registry.enums import Category, UnitKind
from registry.extensions import db


class Department(db.Model):
    """A responsible department (bureau) that maintains asset records."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(128))
    # Issuing-code prefix of its document numbers, e.g. 新建更 in 新建更〔2025〕7号.
    doc_prefix: Mapped[str] = mapped_column(sa.String(16), default="")
    contact: Mapped[str] = mapped_column(sa.String(128), default="")
    categories: Mapped[list["DepartmentCategory"]] = relationship(
        back_populates="department", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def category_values(self) -> set[str]:
        """Return the categories this department is responsible for."""
        return {c.category.value for c in self.categories}


class DepartmentCategory(db.Model):
    """A category a department is responsible for."""

    __tablename__ = "department_categories"

    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), primary_key=True)
    category: Mapped[Category] = mapped_column(enum_type(Category), primary_key=True)
    department: Mapped[Department] = relationship(back_populates="categories")


class Unit(db.Model):
    """An owner or user unit: a company, community, school, hospital, office."""

    __tablename__ = "units"
    __table_args__ = (sa.UniqueConstraint("name", "township", name="uq_units_name_township"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), index=True)
    kind: Mapped[UnitKind] = mapped_column(enum_type(UnitKind))
    township: Mapped[str] = mapped_column(sa.String(32), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    contact: Mapped[str] = mapped_column(sa.String(64), default="")
    phone: Mapped[str] = mapped_column(sa.String(32), default="")

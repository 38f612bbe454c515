"""Reference data every installation starts with: departments and townships."""
from __future__ import annotations

import sqlalchemy as sa

from registry.enums import Category
from registry.extensions import db
from registry.orgs.models import Department, DepartmentCategory

TOWNSHIPS = (
    "新建路街道", "新华路街道", "新烟街道", "和庄镇", "薛店镇", "孟庄镇", "郭店镇",
    "龙湖镇", "梨河镇", "辛店镇", "观音寺镇", "城关乡", "八千乡", "龙王乡",
)

# code, short name, full name, document-number prefix, contact, categories
DEPARTMENTS = (
    ("zjj", "住建局", "新郑市住房和城乡建设局", "新建更", "设备更新科 0371-62691234",
     (Category.ELEVATOR, Category.CONSTRUCTION_MACHINE, Category.PIPE)),
    ("jgsw", "机关事务中心", "新郑市机关事务服务中心", "新机更", "车辆管理科 0371-62695678",
     (Category.OFFICIAL_CAR,)),
    ("nync", "农业农村局", "新郑市农业农村局", "新农更", "农机推广站 0371-62697788", (Category.FARM_MACHINE,)),
    ("wjw", "卫健委", "新郑市卫生健康委员会", "新卫更", "医政医管科 0371-62693366", (Category.MEDICAL_DEVICE,)),
    ("scjg", "市场监管局", "新郑市市场监督管理局", "新市监更", "特种设备安全监察科 0371-62692200", ()),
)


def ensure_reference_data() -> int:
    """Create the standard departments that are missing; return how many were added."""
    existing = set(db.session.scalars(sa.select(Department.code)))
    added = 0
    for code, name, full_name, prefix, contact, categories in DEPARTMENTS:
        if code in existing:
            continue
        dept = Department(code=code, name=name, full_name=full_name, doc_prefix=prefix, contact=contact)
        dept.categories = [DepartmentCategory(category=c) for c in categories]
        db.session.add(dept)
        added += 1
    db.session.commit()
    return added


def department_for_category(category: Category) -> Department:
    """Return the department responsible for `category`."""
    return db.session.scalar(
        sa.select(Department).join(DepartmentCategory).where(DepartmentCategory.category == category)
    )

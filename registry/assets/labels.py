"""QR asset labels: an A4 sheet of stickers for chosen or filtered assets, each QR opening the asset's page.

Python decides everything a label shows (code, name, unit, the URL in the QR) and how labels fall on
pages; templates/pdf/labels.html only formats that, through the one PDF module (`registry.pdf`).
The QR holds REGISTRY_PUBLIC_BASE_URL + the asset page path; a phone that scans it opens the login
page first when needed, and the login's `next` brings it back to the asset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from registry.assets.filters import AssetFilters, filter_conditions
from registry.assets.models import Asset
from registry.assets.scoping import asset_scope
from registry.audit import services as audit
from registry.db_types import as_id
from registry.errors import NotFound, ValidationFailed
from registry.extensions import db
from registry.pdf import render_pdf
from registry.qr import public_url, qr_data_uri

MAX_LABELS = 2000  # one PDF: about 84 sheets of 3 × 8, rendered in well under a minute
ASSET_PATH = "/assets/{id}"  # the asset page (assets.detail); a test holds the two together


@dataclass(frozen=True)
class LabelLayout:
    """A label stock: how many labels across and down an A4 sheet (the sizes live in labels.css)."""

    key: str
    label: str
    cols: int
    rows: int

    @property
    def per_page(self) -> int:
        """Return how many labels one sheet holds."""
        return self.cols * self.rows


LAYOUTS = {
    "3x8": LabelLayout("3x8", "3 × 8（每张 70 × 37 mm，每页 24 张）", 3, 8),
    "2x5": LabelLayout("2x5", "2 × 5（每张 99.1 × 57 mm，每页 10 张）", 2, 5),
}
DEFAULT_LAYOUT = "3x8"


@dataclass(frozen=True)
class Label:
    """What one sticker shows."""

    code: str
    name: str
    unit: str
    url: str
    qr: str

    @property
    def code_size(self) -> str:
        """Return the size class that keeps the code on one line: "", "long" or "longer"."""
        return "" if len(self.code) <= 16 else "long" if len(self.code) <= 24 else "longer"


@dataclass
class LabelSheet:
    """The labels laid out: pages of rows of cells (None where a sheet's last row runs short)."""

    layout: LabelLayout
    pages: list[list[list[Label | None]]] = field(default_factory=list)
    count: int = 0


def parse_layout(raw: str | None) -> LabelLayout:
    """Return the layout named `raw` (3x8 by default); raise ValidationFailed naming the field otherwise."""
    key = (raw or DEFAULT_LAYOUT).strip().lower().replace("×", "x").replace(" ", "")
    if key not in LAYOUTS:
        raise ValidationFailed("标签规格无效", {"标签规格": [
            f"「{str(raw)[:20]}」不是可选的标签规格，可选：{'、'.join(LAYOUTS)}"]})
    return LAYOUTS[key]


def parse_ids(raw: list[str]) -> list[int]:
    """Return the distinct asset ids of a form's checkboxes; raise ValidationFailed when none or not ids."""
    ids = []
    for value in raw:
        number = as_id(str(value).strip())
        if number is None:
            raise ValidationFailed("所选设备无效", {"所选设备": ["设备编号无效，请刷新列表后重新勾选"]})
        ids.append(number)
    ids = sorted(set(ids))
    if not ids:
        raise ValidationFailed("请先勾选要打印标签的设备", {"所选设备": ["未勾选设备"]})
    if len(ids) > MAX_LABELS:
        raise ValidationFailed(f"一次最多打印 {MAX_LABELS} 张标签", {"所选设备": [f"已选 {len(ids)} 台"]})
    return ids


def _query(conds: list):
    return (sa.select(Asset).where(*conds)
            .options(joinedload(Asset.owner_unit), joinedload(Asset.user_unit)).order_by(Asset.code))


def select_assets(user, *, ids: list[int] | None = None, filters: AssetFilters | None = None) -> list[Asset]:
    """Return the assets to label, within `user`'s scope: exactly `ids`, or every asset matching `filters`."""
    if ids is not None:
        found = list(db.session.scalars(_query([Asset.id.in_(ids), Asset.deleted_at.is_(None), asset_scope(user)])))
        if len(found) != len(ids):
            # One answer for "no such asset" and "another department's": the refusal names no id.
            missing = len(ids) - len(found)
            audit.record_refusal("asset.labels", object_type="asset", user=user,
                                 details={"ids": ids[:100], "refused": missing})
            raise NotFound(f"所选设备中有 {missing} 台不存在或不在您的查看范围内，未生成标签")
        return found
    conds = filter_conditions(filters or AssetFilters()) + [Asset.deleted_at.is_(None), asset_scope(user)]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(*conds))
    if total > MAX_LABELS:
        raise ValidationFailed(f"符合条件的设备共 {total:,} 台，超过单个标签文件的上限 {MAX_LABELS:,} 张，"
                               "请增加筛选条件（如乡镇/街道、单位）后分批打印", {"筛选": ["请缩小筛选范围"]})
    if total == 0:
        raise ValidationFailed("没有符合条件的设备，未生成标签", {"筛选": ["没有符合条件的设备"]})
    return list(db.session.scalars(_query(conds)))


def asset_url(asset_id: int) -> str:
    """Return the address a label's QR holds: the public base URL plus the asset page path."""
    return public_url(ASSET_PATH.format(id=asset_id))


def build_sheet(assets: list[Asset], layout: LabelLayout) -> LabelSheet:
    """Lay `assets` out on sheets of `layout`, left to right, top to bottom."""
    labels = []
    for a in assets:
        unit = a.user_unit or a.owner_unit
        url = asset_url(a.id)
        labels.append(Label(a.code, a.name, unit.name if unit else "", url, qr_data_uri(url)))
    sheet = LabelSheet(layout, count=len(labels))
    for start in range(0, len(labels), layout.per_page):
        chunk = labels[start:start + layout.per_page]
        cells = chunk + [None] * (-len(chunk) % layout.cols)
        sheet.pages.append([cells[i:i + layout.cols] for i in range(0, len(cells), layout.cols)])
    return sheet


def label_pdf(user, layout: LabelLayout, *, ids: list[int] | None = None,
              filters: AssetFilters | None = None) -> tuple[bytes, int]:
    """Return the label PDF for the chosen or filtered assets `user` may read, and its label count; audited."""
    sheet = build_sheet(select_assets(user, ids=ids, filters=filters), layout)
    data = render_pdf("pdf/labels.html", {"sheet": sheet}, stylesheet="labels.css")
    audit.record("asset.labels", object_type="asset", user=user,
                 details={"layout": layout.key, "labels": sheet.count,
                          **({"ids": ids[:100]} if ids is not None else {"filters": (filters or AssetFilters()).as_args()})})
    db.session.commit()
    return data, sheet.count

"""Sample notices on a scratch SQLite database: shared by the PNG renderer and the benchmark.

    python bench/notice_samples.py --out docs   # writes sample PDFs and PNG renderings
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry import create_app  # noqa: E402
from registry.enums import Category, ConditionGrade, MachineType, RuleOutcome, UnitKind  # noqa: E402

EXPLANATION = ("该设备于{start}投入使用，截至{as_of}已使用{years}年，超过10年（自投入使用之日的次日起算）；"
               "排放阶段为国二，磨损程度严重")


def scratch_app(tmp: str):
    """Build an app on a fresh migrated SQLite database with reference data."""
    from flask_migrate import upgrade
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/samples.db", "SECRET_KEY": "samples",
                      "RATELIMIT_ENABLED": False, "PUBLIC_BASE_URL": "https://sbgx.xinzheng.gov.cn"})
    app.instance_path = tmp
    with app.app_context():
        upgrade()
        from registry.orgs.reference import ensure_reference_data
        ensure_reference_data()
    return app


def make_items(n_units: int, per_unit: int, start: int = 0):
    """Create owner units with construction machines and return NoticeItems for them (app context)."""
    from registry.assets.models import Asset, ConstructionMachineDetail
    from registry.extensions import db
    from registry.notices.items import NoticeItem
    from registry.orgs.models import Unit
    from registry.orgs.reference import TOWNSHIPS, department_for_category
    dept = department_for_category(Category.CONSTRUCTION_MACHINE)
    names = ["郑州华夏建筑工程有限公司", "新郑市龙湖镇建设投资有限公司", "河南中原路桥建设集团有限公司",
             "新郑市城市建设发展有限公司", "郑州黄河建工集团有限公司"]
    machines = [("塔式起重机", MachineType.TOWER_CRANE), ("履带式挖掘机", MachineType.EXCAVATOR),
                ("轮式装载机", MachineType.LOADER), ("施工升降机", MachineType.CONSTRUCTION_HOIST)]
    items = []
    for u in range(start, start + n_units):
        unit = Unit(name=f"{names[u % len(names)]}{'' if u < len(names) else f'第{u}项目部'}",
                    kind=UnitKind.COMPANY, township=TOWNSHIPS[u % len(TOWNSHIPS)])
        db.session.add(unit)
        for k in range(per_unit):
            label, mtype = machines[k % len(machines)]
            started = date(2011 + k % 3, 3 + k % 9, 1 + k % 27)
            asset = Asset(code=f"ZJ-JX-{u:04d}{k:02d}", category=Category.CONSTRUCTION_MACHINE,
                          name=f"{label}（{['徐工', '三一', '中联', '柳工'][k % 4]}）", owner_unit=unit,
                          user_unit=unit, department=dept, township=unit.township,
                          address=f"{unit.township}郑新路{100 + k}号工地", commissioned_on=started,
                          condition_grade=ConditionGrade.POOR)
            asset.construction_machine = ConstructionMachineDetail(machine_type=mtype)
            db.session.add(asset)
            expl = EXPLANATION.format(start=f"{started.year}年{started.month}月{started.day}日",
                                      as_of="2025年7月16日", years=2025 - started.year - 1)
            items.append(NoticeItem(asset=asset, rule_code="XZ-8a", rule_version=1,
                                    citation="新政〔2024〕3号 二（三）8", outcome=RuleOutcome.PHASE_OUT,
                                    explanation=expl, figures={"years": 2025 - started.year - 1},
                                    deadline=date(2025, 12, 31)))
    db.session.commit()
    return items


def sample_seal() -> bytes:
    """Draw an obviously fake seal (red ring, star, 样章) for the sample renderings."""
    import io
    import math
    from PIL import Image, ImageDraw, ImageFont
    from registry.pdf import SERIF_BOLD
    size = 420
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    red = (214, 0, 0, 230)
    draw.ellipse((8, 8, size - 8, size - 8), outline=red, width=14)
    c, r = size / 2, 70
    pts = [(c + r * math.cos(math.pi / 2 + k * 4 * math.pi / 5), c - 30 - r * math.sin(math.pi / 2 + k * 4 * math.pi / 5))
           for k in range(5)]
    draw.polygon(pts, fill=red)
    font = ImageFont.truetype(str(SERIF_BOLD), 64)
    draw.text((c, c + 110), "样章", fill=red, font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(tmp)
        with app.app_context():
            from registry.notices.printing import render_notice
            from registry.notices.services import issue_notices
            single = issue_notices(make_items(1, 1), None, issued_on=date(2025, 7, 16), render=False)[0]
            from registry.notices.seals import upload_seal
            upload_seal(single.department, sample_seal(), None)  # the annex sample shows a seal
            multi = issue_notices(make_items(1, 6, start=1), None, issued_on=date(2025, 7, 16), render=False)[0]
            for name, notice in (("notice-single", single), ("notice-annex", multi)):
                pdf = args.out / f"{name}.pdf"
                pdf.write_bytes(render_notice(notice))
                subprocess.run(["pdftoppm", "-png", "-r", "70", str(pdf), str(args.out / name)], check=True)
                print(pdf, "->", sorted(p.name for p in args.out.glob(f"{name}*.png")))


if __name__ == "__main__":
    main()

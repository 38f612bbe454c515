"""Sample notices on a scratch SQLite database: shared by the PNG renderer and the benchmark.

    python bench/notice_samples.py --out docs   # writes sample PDFs and PNG renderings (60 dpi)

Each outcome's template (强制更新: pipes past XZ-9a's 2024-12-31; 淘汰: cranes with XZ-8a and
often XZ-8b; 报废: tractors) is rendered for one asset and for an annex of 50, from the rules
engine's own findings, issued on 2026-12-02.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.enums import Category, ConditionGrade, MachineType, RuleOutcome, UnitKind  # noqa: E402


def issue(items, issued_on):
    """Draft notices for `items` and sign them as the department's head (created on first use), unrendered."""
    import sqlalchemy as sa
    from registry.accounts.models import User
    from registry.accounts.services import create_user
    from registry.enums import Role
    from registry.extensions import db
    from registry.notices.services import draft_notices, sign_notices
    drafts = draft_notices(items, None, issued_on=issued_on)
    dept = drafts[0].department
    head = db.session.scalar(sa.select(User).where(User.username == f"bench-head-{dept.code}"))
    head = head or create_user(f"bench-head-{dept.code}", "负责人", Role.DEPT_HEAD, dept.code)[0]
    return sign_notices([d.id for d in drafts], head, issued_on=issued_on, render=False)

EXPLANATION = ("该设备于{start}投入使用，截至{as_of}已使用{years}年，超过10年（自投入使用之日的次日起算）；"
               "排放阶段为国二，磨损程度严重")


def scratch_app(tmp: str, database_url: str | None = None):
    """Build an app on a fresh migrated database with reference data (SQLite in `tmp` unless `database_url`)."""
    from scratch import fresh_app
    app = fresh_app(database_url or f"sqlite:///{tmp}/samples.db", RATELIMIT_ENABLED=False,
                    PUBLIC_BASE_URL="https://sbgx.xinzheng.gov.cn")
    app.instance_path = tmp
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


ISSUED_ON = date(2026, 12, 2)  # after XZ-9a's fixed date (2024-12-31): the notice must reset the deadline
SAMPLE_UNITS = {"construction_machine": "新郑市龙湖镇建设投资有限公司", "pipe": "新郑市自来水有限公司",
                "farm_machine": "新郑市薛店镇农机专业合作社"}


def make_flagged(category: Category, n: int, unit_name: str, start: int = 0) -> list:
    """Create `n` assets of one owner unit that the plan rules flag (rules engine inputs, app context)."""
    from registry.assets.models import Asset, ConstructionMachineDetail, FarmMachineDetail, PipeDetail
    from registry.enums import FarmMachineType, NonRoadEmissionStage, PipeFacilityType, PipeNetwork, WearGrade
    from registry.extensions import db
    from registry.orgs.models import Unit
    from registry.orgs.reference import department_for_category
    dept = department_for_category(category)
    unit = Unit(name=unit_name, kind=UnitKind.COMPANY, township="龙湖镇")
    db.session.add(unit)
    assets = []
    for k in range(start, start + n):
        started = date(2011 + k % 3, 3 + k % 9, 1 + k % 27)
        common = dict(owner_unit=unit, user_unit=unit, department=dept, township=unit.township,
                      commissioned_on=started, condition_grade=ConditionGrade.POOR)
        if category is Category.CONSTRUCTION_MACHINE:
            label, mtype = [("塔式起重机", MachineType.TOWER_CRANE), ("履带式挖掘机", MachineType.EXCAVATOR),
                            ("施工升降机", MachineType.CONSTRUCTION_HOIST)][k % 3]
            asset = Asset(code=f"XZ-JX-{9000001 + k}", category=category, name=f"{label}（{['徐工', '三一', '中联'][k % 3]}）",
                          address=f"龙湖镇郑新路{100 + k}号工地", **common)
            # Every other machine also fails the 8b check (main parts damaged): two findings, 90 days.
            asset.construction_machine = ConstructionMachineDetail(
                machine_type=mtype, emission_stage=NonRoadEmissionStage.STAGE_2, wear_grade=WearGrade.SEVERE,
                main_part_damaged=k % 2 == 0)
        elif category is Category.PIPE:
            asset = Asset(code=f"XZ-GW-{7000001 + k}", category=category, name=f"供水管段DN{300 + 100 * (k % 4)}",
                          address=f"龙湖镇中华北路{1 + k}号至{3 + k}号", design_life_years=10, **common)
            asset.pipe = PipeDetail(facility_type=PipeFacilityType.PIPE, network=PipeNetwork.WATER,
                                    meets_standards=k % 3 != 0)
        else:
            asset = Asset(code=f"XZ-NJ-{5000001 + k}", category=category, name=f"轮式拖拉机（东方红{k % 5 + 4}04）",
                          address=f"龙湖镇{['大司', '沟张', '泰山'][k % 3]}村", **common)
            asset.farm_machine = FarmMachineDetail(machine_type=FarmMachineType.TRACTOR_MEDIUM, high_energy_use=True,
                                                   heavy_pollution=k % 2 == 0)
        db.session.add(asset)
        assets.append(asset)
    db.session.commit()
    return assets


def main() -> None:
    """Render each outcome's notice single and with a 50-asset annex, from real rule findings."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--dpi", type=int, default=60)
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    for old in args.out.glob("notice-*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(tmp)
        with app.app_context():
            from registry.notices.printing import render_notice
            from registry.notices.seals import upload_seal
            from registry.notices.sources import mandatory_items
            from registry.orgs.reference import department_for_category
            from registry.rules.services import evaluate_inventory
            from registry.rules.versions import seed_packs
            seed_packs(("plan",))
            samples = []
            for outcome, category in (("renewal", Category.PIPE), ("phase-out", Category.CONSTRUCTION_MACHINE),
                                      ("scrap", Category.FARM_MACHINE)):
                for kind, n in (("single", 1), ("annex", 50)):
                    assets = make_flagged(category, n, f"{SAMPLE_UNITS[category.value]}{'' if n == 1 else '（第二批）'}",
                                          start=0 if n == 1 else 1)
                    samples.append((f"notice-{outcome}-{kind}", category, [a.id for a in assets]))
            evaluate_inventory(ISSUED_ON)
            for name, category, ids in samples:
                dept = department_for_category(category)
                if name.endswith("annex"):
                    upload_seal(dept, sample_seal(), None)  # the annex samples show a seal
                items = mandatory_items(dept, category=category, asset_ids=ids, as_of=ISSUED_ON)
                [notice] = issue(items, ISSUED_ON)
                pdf = args.out / f"{name}.pdf"
                pdf.write_bytes(render_notice(notice))
                subprocess.run(["pdftoppm", "-png", "-r", str(args.dpi), str(pdf), str(args.out / name)], check=True)
                print(pdf, "->", sorted(p.name for p in args.out.glob(f"{name}*.png")))


if __name__ == "__main__":
    main()

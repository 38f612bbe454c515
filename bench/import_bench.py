"""Excel import benchmark: N elevator rows, validated and written, against the raw calamine read.

    python bench/import_bench.py [--rows 100000] [--pg postgresql+psycopg://...]

Each measurement runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own. The baseline is
the raw python-calamine read of the same file (to_python of the data sheet), measured in the same run.
The PostgreSQL database given with --pg is WIPED (schema dropped and migrated).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def cpu() -> float:
    """Return this process's CPU seconds (user + system): steadier than wall time on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    """Return this process's peak resident set size in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_file(path: str, rows: int) -> None:
    """Write a realistic elevator 台账 of `rows` rows (the layout of the import template)."""
    import xlsxwriter
    from registry.assets.fields import fields_for
    from registry.enums import AssessmentConclusion, Category, ConditionGrade, ConfigurationLevel, ElevatorType
    from registry.orgs.reference import TOWNSHIPS
    rng = random.Random(7)
    specs = fields_for(Category.ELEVATOR)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("电梯")
    dfmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, s in enumerate(specs):
        ws.write_string(0, c, s.label)
    units = [f"新郑市第{i}小区业主委员会" for i in range(800)]
    for r in range(1, rows + 1):
        commissioned = date(2000, 1, 1) + timedelta(days=rng.randint(0, 8000))
        floors = rng.randint(6, 33)
        township = TOWNSHIPS[r % len(TOWNSHIPS)]
        unit = units[r % len(units)]
        values = {
            "code": f"B-DT-{r:07d}", "name": "乘客电梯", "brand_model": "通力 3000S", "owner_unit": unit,
            "user_unit": unit, "address": f"{township}人民路{r % 300}号", "township": township,
            "latitude": round(34.3 + rng.random() / 10, 6), "longitude": round(113.7 + rng.random() / 10, 6),
            "manufactured_on": commissioned - timedelta(days=30), "commissioned_on": commissioned,
            "registered_on": None, "design_life_years": 20, "condition_grade": rng.choice(ConditionGrade.labels()),
            "condition_assessed_on": date(2025, 1, 1) + timedelta(days=rng.randint(0, 300)), "status": "在用",
            "notes": None, "registration_code": f"31104100{r:012d}", "elevator_type": ElevatorType.labels()[r % 4],
            "floors": floors, "stops": floors, "residential_community": unit[:-6],
            "faults_last_12m": rng.randint(0, 9), "configuration_level": rng.choice(ConfigurationLevel.labels()),
            "last_inspection_on": date(2025, 6, 1), "assessment_conclusion": AssessmentConclusion.labels()[0],
        }
        for c, s in enumerate(specs):
            v = values.get(s.name)  # fields added since (rated load, speed ...) stay empty: 26 filled columns
            if v is None:
                continue
            if isinstance(v, date):
                ws.write_datetime(r, c, v, dfmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
    wb.close()


def child(mode: str, path: str, db_url: str | None) -> dict:
    """Run one measurement in this (fresh) process."""
    with open(path, "rb") as fh:
        data = fh.read()
    if mode == "calamine":
        import io
        from python_calamine import CalamineWorkbook
        before = rss_mb()
        t, c = time.perf_counter(), cpu()
        rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("电梯").to_python()
        return {"seconds": time.perf_counter() - t, "cpu": cpu() - c, "rows": len(rows) - 1, "peak_mb": rss_mb(),
                "before_mb": before}
    from scratch import fresh_app
    app = fresh_app(db_url)
    with app.app_context():
        from registry.transfer.importer import run_import
        before = rss_mb()
        t, c = time.perf_counter(), cpu()
        first = run_import(data, "bench.xlsx", None, max_rows=2_000_000)
        first_s, first_cpu = time.perf_counter() - t, cpu() - c
        peak_first = rss_mb()
        assert first.ok and first.created == first.rows, first.errors[:5]
        t, c = time.perf_counter(), cpu()
        again = run_import(data, "bench.xlsx", None, max_rows=2_000_000)
        again_s, again_cpu = time.perf_counter() - t, cpu() - c
        assert again.ok and again.unchanged == again.rows and again.updated == 0
        return {"seconds": first_s, "cpu": first_cpu, "rows": first.rows, "peak_mb": peak_first,
                "before_mb": before, "reimport_seconds": again_s, "reimport_cpu": again_cpu,
                "reimport_peak_mb": rss_mb()}


def run_child(mode: str, path: str, db_url: str | None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--file", path] +
                         (["--db", db_url] if db_url else []), capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--pg", help="PostgreSQL URL (its schema is wiped)")
    ap.add_argument("--child")
    ap.add_argument("--file")
    ap.add_argument("--db")
    ap.add_argument("--sqlite", default="/tmp/import-bench.db", help="SQLite file to use (deleted first)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file, args.db)))
        return
    path = f"/tmp/import-bench-{args.rows}.xlsx"
    if not os.path.exists(path):
        t = time.perf_counter()
        make_file(path, args.rows)
        print(f"generated {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    base = run_child("calamine", path, None)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'step':38} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12} {'CPU ratio':>9}")
    print(f"{'raw calamine read (baseline)':38} {base['seconds']:7.2f} {base['cpu']:7.2f} {base['peak_mb']:12.0f} "
          f"{1:9.1f}")
    targets = [("SQLite", "sqlite:///" + args.sqlite)]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    for name, url in targets:
        if url.startswith("sqlite") and os.path.exists(args.sqlite):
            os.unlink(args.sqlite)
        r = run_child("import", path, url)
        print(f"{'import ' + name + ' (read+validate+write)':38} {r['seconds']:7.2f} {r['cpu']:7.2f} "
              f"{r['peak_mb']:12.0f} {r['cpu'] / base['cpu']:9.1f}")
        print(f"{'re-import ' + name + ' (all unchanged)':38} {r['reimport_seconds']:7.2f} {r['reimport_cpu']:7.2f} "
              f"{r['reimport_peak_mb']:12.0f} {r['reimport_cpu'] / base['cpu']:9.1f}")
        print(f"  ({r['rows']:,} rows; RSS before the import {r['before_mb']:.0f} MB; CPU is this process only, "
              "not the database server)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

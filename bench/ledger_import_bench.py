"""Mapped-ledger import benchmark: the same rows through the ledger mapping and through the template.

    python bench/ledger_import_bench.py [--rows 100000] [--profile] [--pg postgresql+psycopg://...]

Both paths start from the same database: `rows` elevators already registered (imported through
the template in a setup step that is not timed). Then, each in a fresh subprocess:
- template: the registry's own layout, with codes, every row's fault count changed;
- mapped: a bureau ledger of the same rows — merged title, 填报单位 row, two-level merged header,
  序号, no code column (rows find their asset by 注册代码, the natural key), 电梯类型 values mapped
  (曳引式乘客电梯 → 曳引), 层站数 「24/24」, 「1,000kg」, a 合计 footer — with the same changes.
Reported: wall and CPU seconds of the import call, µs per row, and the mapped/template ratio;
the load average at start and end (the machine is shared). `--profile` prints cProfile's top
functions of the mapped run. The PostgreSQL database given with --pg is WIPED.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from import_bench import cpu  # noqa: E402  (this process's CPU seconds, as import_bench measures them)

TYPES = ("曳引式乘客电梯", "曳引式载货电梯", "自动扶梯", "液压电梯")


def rows_for(n: int, faults_shift: int) -> list[dict]:
    """Return `n` deterministic elevator rows; `faults_shift` changes every row's fault count."""
    from registry.orgs.reference import TOWNSHIPS
    rng = random.Random(11)
    out = []
    for r in range(1, n + 1):
        commissioned = date(2000, 1, 1) + timedelta(days=rng.randint(0, 8000))
        floors = rng.randint(6, 33)
        unit = f"新郑市第{r % 800}小区业主委员会"
        out.append({"code": f"B-DT-{r:07d}", "reg": f"31104100{r:012d}", "type": TYPES[r % 4], "floors": floors,
                    "load": rng.choice((630, 800, 1000, 1350)), "unit": unit, "township": TOWNSHIPS[r % len(TOWNSHIPS)],
                    "community": unit[:-6], "commissioned": commissioned,
                    "faults": (rng.randint(0, 9) + faults_shift) % 12})
    return out


def template_file(path: str, rows: list[dict]) -> None:
    """Write `rows` in the registry's template layout (labels of fields.py)."""
    import xlsxwriter
    labels = ["设备编码", "设备名称", "产权单位", "使用单位", "乡镇/街道", "投入使用日期", "注册代码", "电梯类型", "层数", "站数",
              "所在小区", "近12个月故障次数", "额定载重量（kg）"]
    short = {"曳引式乘客电梯": "曳引", "曳引式载货电梯": "曳引", "自动扶梯": "自动扶梯", "液压电梯": "液压"}
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("电梯")
    dfmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, label in enumerate(labels):
        ws.write_string(0, c, label)
    for i, row in enumerate(rows, 1):
        values = [row["code"], "乘客电梯", row["unit"], row["unit"], row["township"], row["commissioned"], row["reg"],
                  short[row["type"]], row["floors"], row["floors"], row["community"], row["faults"], row["load"]]
        for c, v in enumerate(values):
            if isinstance(v, date):
                ws.write_datetime(i, c, v, dfmt)
            elif isinstance(v, int):
                ws.write_number(i, c, v)
            else:
                ws.write_string(i, c, v)
    wb.close()


def ledger_file(path: str, rows: list[dict]) -> None:
    """Write `rows` as a bureau ledger: title, 填报单位, two-level merged header, 序号, no codes, 合计."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("2024年电梯台账")
    ws.merge_range(0, 0, 0, 10, "新郑市在用电梯基本信息台账")
    ws.write_string(1, 0, "填报单位：新郑市住房和城乡建设局")
    ws.merge_range(2, 0, 3, 0, "序号")
    ws.merge_range(2, 1, 2, 5, "基本信息")
    ws.merge_range(2, 6, 2, 10, "使用信息")
    for c, label in enumerate(["注册代码", "电梯类型", "层站数", "额定载重量(kg)", "设备名称",
                               "使用单位", "所在乡镇（街道）", "小区", "投入使用日期", "近12个月故障次数"], 1):
        ws.write_string(3, c, label)
    for i, row in enumerate(rows):
        r = 4 + i
        ws.write_number(r, 0, i + 1)
        for c, v in enumerate([row["reg"], row["type"], f"{row['floors']}/{row['floors']}", f"{row['load']:,}kg",
                               "乘客电梯", row["unit"], row["township"], row["community"],
                               row["commissioned"].strftime("%Y.%m.%d"), row["faults"]], 1):
            ws.write_number(r, c, v) if isinstance(v, int) else ws.write_string(r, c, v)
    ws.write_string(4 + len(rows), 0, "合计")
    wb.close()


def _app(db_url: str):
    from scratch import fresh_app
    app = fresh_app(db_url)
    app.app_context().push()
    return app


def child(mode: str, files: dict, db_url: str, profile: bool) -> dict:
    """Set up `rows` existing elevators, then time one path (in this fresh process)."""
    _app(db_url)
    from registry.enums import Category
    from registry.transfer import ledger
    from registry.transfer.importer import run_import
    with open(files["base"], "rb") as fh:
        setup = run_import(fh.read(), "base.xlsx", None, max_rows=2_000_000)
    assert setup.ok and setup.created == setup.rows, setup.errors[:3]
    with open(files[mode], "rb") as fh:
        data = fh.read()
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    t, c = time.perf_counter(), cpu()
    if mode == "template":
        result = run_import(data, "template.xlsx", None, max_rows=2_000_000)
    else:
        analysis = ledger.analyse(data, "ledger.xlsx", category=Category.ELEVATOR)
        mapping = dict(analysis.mapping, set={}, copy={"owner_unit": "使用单位"})  # as the template: owner = user
        result = ledger.run_ledger_import(analysis, mapping, None, max_rows=2_000_000)
    seconds, cpu_s = time.perf_counter() - t, cpu() - c
    if profiler is not None:
        import io
        import pstats
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        sys.stderr.write(out.getvalue())
    assert result.ok and result.updated == result.rows and result.created == 0, (result.errors[:3], result.created)
    return {"seconds": seconds, "cpu": cpu_s, "rows": result.rows}


def run_child(mode: str, files: dict, db_url: str, profile: bool = False) -> dict:
    if db_url.startswith("sqlite") and os.path.exists(db_url[len("sqlite:///"):]):
        os.unlink(db_url[len("sqlite:///"):])
    cmd = [sys.executable, __file__, "--child", mode, "--files", json.dumps(files), "--db", db_url]
    out = subprocess.run(cmd + (["--profile"] if profile else []), capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    if profile:
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--pg", help="PostgreSQL URL (its schema is wiped)")
    ap.add_argument("--profile", action="store_true", help="print cProfile's top functions of the mapped run")
    ap.add_argument("--child")
    ap.add_argument("--files")
    ap.add_argument("--db")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(args.files), args.db, args.profile)))
        return
    files = {k: f"/tmp/ledger-bench-{k}-{args.rows}.xlsx" for k in ("base", "template", "mapped")}
    if not all(os.path.exists(p) for p in files.values()):
        t = time.perf_counter()
        template_file(files["base"], rows_for(args.rows, 0))
        changed = rows_for(args.rows, 1)
        template_file(files["template"], changed)
        ledger_file(files["mapped"], changed)
        print(f"generated 3 files of {args.rows:,} rows in {time.perf_counter() - t:.1f} s")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    # One SQLite file per run: helpers sharing the machine may run this bench at the same time.
    targets = [("SQLite", f"sqlite:////tmp/ledger-bench-{os.getpid()}.db")] + ([("PostgreSQL", args.pg)] if args.pg else [])
    print(f"{'path':34} {'wall s':>8} {'CPU s':>8} {'µs/row CPU':>11} {'ratio':>6}")
    for name, url in targets:
        template = run_child("template", files, url)
        mapped = run_child("mapped", files, url, args.profile)
        for label, r in (("template", template), ("mapped ledger", mapped)):
            print(f"{label + ' (' + name + ')':34} {r['seconds']:8.2f} {r['cpu']:8.2f} "
                  f"{r['cpu'] / r['rows'] * 1e6:11.0f} {r['cpu'] / template['cpu']:6.2f}")
        print(f"  {template['rows']:,} rows updated each, against {template['rows']:,} existing elevators")
        if url.startswith("sqlite"):
            os.unlink(url[len("sqlite:///"):])
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

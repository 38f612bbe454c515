"""Benchmark batch printing: serial render (baseline), process-pool render, and a batch print from stored PDFs.

    python bench/batch_print_bench.py [--count 200] [--out merged.pdf] [--pg postgresql+psycopg://...]

All in one run on a scratch SQLite database (or the PostgreSQL database given with --pg, WIPED) with `--count` single-asset notices (signed, no PDFs):
1. baseline: render each notice to its own PDF in this process, one after another (what signing did);
   also the previous batch print, one merged layout of every notice (`pdf.render_many`);
2. the process pool (`notices.pool.render_in_pool`, os.cpu_count() children, pool start-up included),
   whose PDFs are then stored as the signing task stores them;
3. a batch print from the stored PDFs (`notices.batch.print_batch`: merge, printed_at, events, audit).
The load average is printed before and after: on a busy machine the wall-clock figures mean little.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notice_samples import issue, make_items, scratch_app  # noqa: E402


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _rate(label: str, count: int, seconds: float, cpu: float | None = None, extra: str = "") -> float:
    cpu_text = f", {count / cpu:.1f} per CPU-second of this process" if cpu else ""
    print(f"{label:<52} {count / seconds:7.1f} notices/s  ({seconds:6.2f} s{cpu_text}){extra}")
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--out", type=Path, help="write the merged batch PDF here (to look at it)")
    parser.add_argument("--pg", help="PostgreSQL URL to run on instead of SQLite (its schema is wiped)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of step 3")
    parser.add_argument("--skip-merged-layout", action="store_true", help="skip the render_many baseline")
    args = parser.parse_args()
    print(f"start: {_load()}; database: {'PostgreSQL' if args.pg else 'SQLite'}")
    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(tmp, args.pg)
        with app.app_context():
            from registry import pdf
            from registry.extensions import db
            from registry.notices.batch import print_batch
            from registry.notices.pool import render_in_pool, workers_for
            from registry.notices.printing import notice_job, render_notice
            from registry.notices.storage import store_notice_pdf

            t0 = time.perf_counter()
            notices = issue(make_items(args.count, 1), date(2025, 7, 16))
            print(f"signed {len(notices)} notices (no PDFs) in {time.perf_counter() - t0:.1f} s")
            render_notice(notices[0])  # font set-up, once per process, outside every timing

            t0, c0 = time.perf_counter(), time.process_time()
            serial = list(pdf.render_each(notice_job(n) for n in notices))
            base = _rate("1. serial render, one PDF each (baseline)", len(notices), time.perf_counter() - t0,
                         time.process_time() - c0)
            if not args.skip_merged_layout:
                t0, c0 = time.perf_counter(), time.process_time()
                merged_layout = pdf.render_many(notice_job(n) for n in notices)
                _rate("1b. previous batch print: one merged layout", len(notices), time.perf_counter() - t0,
                      time.process_time() - c0, f"  {len(merged_layout) / 2**20:.1f} MiB")

            ids = [n.id for n in notices]
            t0, first = time.perf_counter(), []
            pooled = list(render_in_pool(ids, lambda n: first.append(time.perf_counter()) if n == 1 else None))
            pool_rate = _rate(f"2. process pool, {workers_for(len(ids))} children (start-up included)", len(ids),
                              time.perf_counter() - t0, extra=f"  first PDF after {first[0] - t0:.2f} s")
            assert pooled == serial, "the pool rendered different bytes than the serial path"
            for notice, data in zip(notices, pooled):
                store_notice_pdf(notice, data)
            db.session.commit()

            profiler = None
            if args.profile:
                import cProfile
                profiler = cProfile.Profile()
                profiler.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            merged = print_batch(notices, None)
            printed = _rate("3. batch print from stored PDFs (merge + records)", len(notices),
                            time.perf_counter() - t0, time.process_time() - c0, f"  {len(merged) / 2**20:.1f} MiB")
            if profiler is not None:
                import pstats
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            if args.out:
                args.out.write_bytes(merged)
                print(f"merged PDF written to {args.out}")
            print(f"pool vs serial: {pool_rate / base:.1f}x; stored batch print vs serial: {printed / base:.1f}x")
    print(f"end: {_load()}")



if __name__ == "__main__":
    main()

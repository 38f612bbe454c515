"""Benchmark notice PDFs: on-demand p50, 1,000 merged, and a plain WeasyPrint baseline, in one run.

    python bench/notices_bench.py [--batch 1000] [--repeat 30]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notice_samples import issue, make_items, scratch_app  # noqa: E402


def _p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--baseline-repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(tmp)
        with app.app_context(), app.test_request_context():
            from flask import render_template
            from registry import pdf
            from registry.notices.printing import notice_job, render_notice

            t0 = time.perf_counter()
            notices = issue(make_items(args.batch, 1), date(2025, 7, 16))
            import os
            print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            print(f"issued {len(notices)} notices (numbers, rows, audit; no PDF) in {time.perf_counter() - t0:.1f} s")
            one = notices[0]

            t0 = time.perf_counter()
            render_notice(one)
            print(f"first render in a fresh process (font setup): {1000 * (time.perf_counter() - t0):.0f} ms")
            samples, cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                data = render_notice(one)
                samples.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            on_demand = _p50(samples)
            print(f"on demand, registry.pdf: p50 {on_demand:.0f} ms wall, {_p50(cpu):.0f} ms CPU, "
                  f"{len(data) // 1024} KiB per PDF")

            # Baseline: the same HTML, plain WeasyPrint defaults, system fonts (fontconfig), nothing reused.
            import weasyprint
            job = notice_job(one)
            html = render_template(job.template_name, **job.context)
            css = (pdf.STYLE_DIR / "notice.css").read_text(encoding="utf-8").replace('"GW Serif", ', "") \
                .replace('"GW Serif"', '"Noto Serif CJK SC"')
            base, base_cpu = [], []
            for _ in range(args.baseline_repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=css)])
                base.append(time.perf_counter() - t0)
                base_cpu.append(time.process_time() - c0)
            baseline = _p50(base)
            print(f"on demand, plain WeasyPrint + system fonts: p50 {baseline:.0f} ms wall, {_p50(base_cpu):.0f} ms CPU "
                  f"-> registry.pdf is {baseline / on_demand:.1f}x faster (wall), "
                  f"{_p50(base_cpu) / _p50(cpu):.1f}x (CPU)")

            t0, c0 = time.perf_counter(), time.process_time()
            merged = pdf.render_many(notice_job(n) for n in notices)
            elapsed, cpu_s = time.perf_counter() - t0, time.process_time() - c0
            print(f"batch: {len(notices)} notices merged into one PDF in {elapsed:.1f} s = "
                  f"{len(notices) / elapsed:.1f} notices/s wall, {len(notices) / cpu_s:.1f} notices per CPU-second "
                  f"({len(merged) / 1024 / 1024:.1f} MiB)")

            t0 = time.perf_counter()
            n_each = min(100, len(notices))
            for _ in pdf.render_each(notice_job(n) for n in notices[:n_each]):
                pass
            print(f"separate files (as stored at issue): {n_each / (time.perf_counter() - t0):.0f} notices/s")


if __name__ == "__main__":
    main()

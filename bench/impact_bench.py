"""Impact preview benchmark: how long a rule change's preview takes over a seeded inventory.

    python bench/impact_bench.py --url sqlite:////tmp/rules-bench-1m.db

Uses the database rules_bench.py seeded (demo inventory, plan pack). Previews XZ-12 (official cars) and
XZ-2 style edits citywide (the task force's scope), as of 2026-06-30; prints wall and CPU seconds of each,
best of --repeat, with the load average. Decides IMPACT_INLINE_ASSETS: the inline path must answer in 3 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

AS_OF = date(2026, 6, 30)


def main() -> None:
    """Run the previews and print their cost."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import sqlalchemy as sa
    from registry import create_app
    from registry.extensions import db
    from registry.rules.impact import assets_in_reach, preview
    from registry.rules.models import Rule
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        rules = db.session.scalars(sa.select(Rule).where(Rule.is_current.is_(True), Rule.enabled.is_(True),
                                                         Rule.pack == "plan").order_by(Rule.code)).all()
        for rule in rules:
            params = dict(rule.params)
            number = next((k for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool)), None)
            if number is None:
                continue
            params[number] = params[number] - 1  # a plausible edit: one year (or one unit) less
            reach = assets_in_reach(rule.code)
            best = None
            for _ in range(args.repeat):
                started, cpu = time.perf_counter(), time.process_time()
                impact = preview(rule.code, {"params": params}, AS_OF)
                run = (time.perf_counter() - started, time.process_time() - cpu)
                best = run if best is None or run[0] < best[0] else best
            print(f"{rule.code:8} {rule.category.value:22} reach {reach:>9,}  flagged {impact.flagged:>7,} "
                  f"cleared {impact.cleared:>6,}  wall {best[0]:6.2f} s  CPU {best[1]:6.2f} s")
    print(f"{sa.engine.make_url(args.url).get_backend_name()} · load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

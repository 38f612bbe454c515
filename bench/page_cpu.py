"""Benchmark: server CPU and SQL statements per page request, in-process, against the /healthz floor.

Usage (scratch databases outside the repository; seeded like bench/list_filter.py when empty):
    python bench/page_cpu.py --url sqlite:////tmp/pages/100k.db --count 100000
    python bench/page_cpu.py --url postgresql+psycopg://registry:registry@127.0.0.1:5432/DB --count 100000 \
        --grow-to 1000000
    python bench/page_cpu.py --url ... --profile "HTML list"   # cProfile one scenario, top functions
    python bench/page_cpu.py --url ... --show-sql              # print each scenario's statements once

Each scenario sends `repeat` requests through the Flask test client (the whole WSGI stack: session
cookie or bearer token, login gate, role gate, view, template, after-request hooks) and reports:
- CPU ms per request of this process (`time.process_time`), and the same minus the `/healthz` floor
  measured in the same run (what the test client and the bare stack cost);
- on PostgreSQL, the CPU ms per request of the server backends serving this process (/proc/<pid>/stat),
  since the database does part of the work in another process;
- SQL statements per request (`before_cursor_execute`), and how many of them serve the identity and
  permissions: everything before the view runs (session or token user, policy, gates) plus any statement
  on users, api_tokens or security_policy afterwards.
Wall time is printed for reference only: the machine is shared, CPU time is the figure.
"""
from __future__ import annotations

import cProfile
import gc
import os
import pstats
import random
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import sqlalchemy as sa  # noqa: E402
from flask import g  # noqa: E402

from list_filter import PASSWORD, _prepare, _user, database_arguments  # noqa: E402
from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402

# A statement whose main table is one of these serves identity or permissions (a join to users for a
# history's author names does not).
IDENTITY_TABLES = re.compile(r"^\s*(SELECT\b(?:(?!\bFROM\b).)*\bFROM|UPDATE|INSERT INTO|DELETE FROM)\s+\"?"
                             r"(users|api_tokens|security_policy)\b", re.S)
CLK_TCK = os.sysconf("SC_CLK_TCK")


class StatementLog:
    """Statements executed during the current request, split into identity (before the view) and the rest."""

    def __init__(self):
        self.statements: list[tuple[bool, str]] = []
        self.active = False

    def on_execute(self, _conn, _cursor, statement, _params, _context, _many):
        """Record one statement (SQLAlchemy `before_cursor_execute` listener)."""
        if self.active:
            before_view = not g.get("_bench_view_started", False)
            self.statements.append((before_view or bool(IDENTITY_TABLES.match(statement)), statement))


def _backend_cpu(pids: set[int]) -> float:
    """Return the user+system CPU seconds of the PostgreSQL backends `pids` (same host)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            pass
    return total / CLK_TCK


def _scenarios(rng: random.Random, max_id: int, token: str):
    bearer = {"Authorization": f"Bearer {token}"}
    town = lambda: rng.choice(["龙湖镇", "新建路街道", "辛店镇", "城关乡", "薛店镇"])  # noqa: E731
    return [
        ("/healthz (floor)", lambda: "/healthz", None),
        ("HTML list: elevator page 1", lambda: "/assets/c/elevator", None),
        ("HTML list: pipe page 1", lambda: "/assets/c/pipe", None),
        ("HTML filter: elevator township", lambda: f"/assets/c/elevator?township={town()}", None),
        ("HTML filter: pipe age + sort", lambda: "/assets/c/pipe?age_min=20&sort=-commissioned_on", None),
        ("HTML detail: random asset", lambda: f"/assets/{rng.randint(1, max_id)}", None),
        ("API list (session): elevator grade", lambda: "/api/v1/assets?category=elevator&grade=poor", None),
        ("API list (token): elevator grade", lambda: "/api/v1/assets?category=elevator&grade=poor", bearer),
        ("API list (token): pipe page 1", lambda: "/api/v1/assets?category=pipe", bearer),
        ("API detail (token): random asset", lambda: f"/api/v1/assets/{rng.randint(1, max_id)}", bearer),
        # A maintainer of 住建局: a department (with its categories) on the user, and department scoping.
        ("maintainer HTML list: elevator", lambda: "/assets/c/elevator", "maintainer"),
        ("maintainer HTML filter: pipe township", lambda: f"/assets/c/pipe?township={town()}", "maintainer"),
        ("maintainer API list (session): pipe", lambda: "/api/v1/assets?category=pipe", "maintainer"),
    ]


def run(url: str, count: int, repeat: int, grow_to: int | None, profile: str | None, show_sql: bool,
        only: str | None, gc_freeze: bool = True) -> None:
    """Seed if needed, then print CPU ms and SQL statements per request for each scenario."""
    from registry.accounts.tokens import create_token, revoke_all
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    log = StatementLog()
    pids: set[int] = set()
    with app.app_context():
        _prepare(count, grow_to)
        max_id = db.session.scalar(sa.text("SELECT max(id) FROM assets"))
        total = db.session.scalar(sa.text("SELECT count(*) FROM assets"))
        user = _user("bench-taskforce", "taskforce", None)
        _user("bench-zjj", "maintainer", "zjj")
        revoke_all(user)  # each run makes its own token; a user may hold only a few at once
        _token_row, token = create_token(user, f"page-cpu-{time.time():.0f}")
        engine = db.engine
    is_pg = engine.dialect.name == "postgresql"
    sa.event.listen(engine, "before_cursor_execute", log.on_execute)
    if is_pg:
        @sa.event.listens_for(engine, "connect")
        def _pid(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pids.add(cur.fetchone()[0])
            cur.close()
        engine.dispose()  # reconnect so every pooled connection is seen by the listener

    # Marks the end of the identity and permission work: the last before-request hook.
    app.before_request_funcs.setdefault(None, []).append(lambda: setattr(g, "_bench_view_started", True))

    clients = {}
    for key, username in (("taskforce", "bench-taskforce"), ("maintainer", "bench-zjj")):
        clients[key] = app.test_client()
        resp = clients[key].post("/login", data={"username": username, "password": PASSWORD})
        assert resp.status_code == 302, resp.status_code
    rng = random.Random(19)
    if gc_freeze:
        gc.freeze()  # as wsgi.py does once the app is built: startup objects leave the collector's passes
    print(f"\n{engine.dialect.name}: {total:,} assets; {repeat} requests per scenario; "
          f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
          f"gc.freeze() {'after startup' if gc_freeze else 'not called'}")
    results = []
    for label, path, headers in _scenarios(rng, max_id, token):
        if only and only not in label and "floor" not in label:
            continue

        def get(path=path, headers=headers):
            client = clients[headers if isinstance(headers, str) else "taskforce"]
            r = client.get(path(), headers=headers if isinstance(headers, dict) else {})
            assert r.status_code in (200, 404), (path, r.status_code, r.get_data(as_text=True)[:300])
            return r

        for _ in range(3):
            get()  # warm-up: templates compiled, connections open, caches filled
        if show_sql:
            log.statements, log.active = [], True
            get()
            log.active = False
            print(f"\n-- {label}")
            for ident, s in log.statements:
                print(f"   {'I' if ident else ' '} {' '.join(s.split())[:160]}")
        if profile and profile in label:
            prof = cProfile.Profile(time.process_time)
            prof.enable()
            for _ in range(repeat):
                get()
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(70)
        log.statements, log.active = [], True
        walls = []
        backend0 = _backend_cpu(pids) if is_pg else 0.0
        cpu0, sys0 = time.process_time(), os.times().system
        for _ in range(repeat):
            t0 = time.perf_counter()
            get()
            walls.append((time.perf_counter() - t0) * 1000)
        cpu = (time.process_time() - cpu0) * 1000 / repeat
        kernel = (os.times().system - sys0) * 1000 / repeat
        backend = ((_backend_cpu(pids) - backend0) * 1000 / repeat) if is_pg else None
        log.active = False
        ident = sum(1 for i, _s in log.statements if i) / repeat
        results.append((label, cpu, kernel, backend, len(log.statements) / repeat, ident, statistics.median(walls)))

    floor = results[0][1]
    print(f"{'scenario':40} {'CPU ms':>7} {'- floor':>8} {'of it sys':>9} {'PG ms':>6} {'SQL':>5} {'ident':>6} {'wall p50':>9}")
    for label, cpu, kernel, backend, sql, ident, wall in results:
        pg = f"{backend:6.1f}" if backend is not None else f"{'—':>6}"
        print(f"{label:40} {cpu:7.2f} {cpu - floor:8.2f} {kernel:9.2f} {pg} {sql:5.1f} {ident:6.1f} {wall:9.1f}")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = database_arguments(__doc__, 100)
    parser.add_argument("--profile", help="cProfile the scenarios whose label contains this text")
    parser.add_argument("--only", help="run only the scenarios whose label contains this text (and the floor)")
    parser.add_argument("--show-sql", action="store_true", help="print one request's statements per scenario")
    parser.add_argument("--no-gc-freeze", action="store_true", help="leave the startup objects in the collector's passes")
    args = parser.parse_args()
    run(args.url, args.count, args.repeat, args.grow_to, args.profile, args.show_sql, args.only, not args.no_gc_freeze)


if __name__ == "__main__":
    main()

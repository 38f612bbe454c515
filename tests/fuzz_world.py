"""The data and callers the API fuzz test (tests/test_api_fuzz.py) runs against.

`build_world(app)` seeds, through the factories and the services, enough rows that generated ids
can point at real objects: assets of every category in two departments, rule findings, notices in
several states, plans in several states with a pin, targets, rules. It also creates one API token
per actor (a role in a department). Seeding runs once; `snapshot`/`restore` give every operation
the same starting rows (ten times faster than seeding again).

For each generated request, `choose_actor` takes one of the actors whose role the view declares
(`@roles_required`), and `point_at_seeded_rows` maps generated ids onto rows, mostly rows that
actor may see (so success paths are reached), sometimes other departments' rows and a missing id
(so scoping and "not found" are exercised too). `steer` sets a few values the document cannot
constrain (dates that must not be in the future, the current version) on half of the requests.
"""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterator

import pytest
import sqlalchemy as sa

from registry import clock
from registry.accounts import tokens
from registry.accounts.access import allowed_roles_for
from registry.db_types import MAX_ID
from registry.enums import Category, ConditionGrade, Role
from registry.extensions import db
from tests.factories import make_asset, make_unit, make_user

# (actor name, role, department): maintainers of two departments, an inspector, the task force.
ACTORS = (
    ("maintainer-zjj", Role.MAINTAINER, "zjj"),
    ("maintainer-jgsw", Role.MAINTAINER, "jgsw"),
    ("inspector-zjj", Role.INSPECTOR, "zjj"),
    ("head-zjj", Role.DEPT_HEAD, "zjj"),
    ("head-jgsw", Role.DEPT_HEAD, "jgsw"),
    ("taskforce", Role.TASKFORCE, None),
)
MISSING_ID = 987_654  # an id no seeded row has: every id-taking operation also meets "not found"
# Path parameter -> kind of seeded row ("pin": a pinned asset, in .../pins/{asset_id}); body fields holding ids.
PATH_KINDS = {"asset_id": "asset", "unit_id": "unit", "notice_id": "notice", "plan_id": "plan",
              "target_id": "target", "code": "rule"}
BODY_ID_LISTS = {"asset_ids": "asset", "ids": "notice"}
# Body fields that must be a day between an issue date and today; `steer` sets them to today.
TODAY_FIELDS = ("served_on", "assessed_on", "issued_on")


@dataclass
class World:
    """Seeded ids by kind, the ids each actor may see, and each actor's role and bearer token."""

    tokens: dict[str, str] = field(default_factory=dict)  # actor -> plain token
    roles: dict[str, Role] = field(default_factory=dict)  # actor -> role
    ids: dict[str, list] = field(default_factory=dict)  # kind -> every seeded id
    own: dict[tuple[str, str], list] = field(default_factory=dict)  # (actor, kind) -> ids the actor may see


def build_world(app) -> World:
    """Seed assets, findings, notices, plans and one token per actor; return what the fuzz test needs."""
    from registry.notices import lifecycle
    from registry.notices.services import draft_notices, sign_notices
    from registry.notices.sources import mandatory_items
    from registry.planning import services as plans, workflow
    from registry.planning.models import PlanTarget
    from registry.planning.reference import ensure_planning_reference
    from registry.rules.models import Rule
    from registry.rules.services import evaluate_inventory
    from registry.rules.versions import seed_packs

    world = World()
    with app.app_context():
        seed_packs()
        ensure_planning_reference()
        users = {}
        for name, role, dept in ACTORS:
            users[name] = make_user(role.value, dept, username=f"fuzz-{name}")
            world.tokens[name] = tokens.create_token(users[name], "fuzz")[1]
            world.roles[name] = role
        owners = [make_unit(township="新建路街道"), make_unit(township="和庄镇")]
        assets = []
        for category in Category:
            for i, owner in enumerate(owners):
                # Per category and owner: an old asset in poor condition (rule findings) and a recent one (none).
                assets.append(make_asset(category, owner=owner, commissioned_on=date(2004 + i, 3, 1),
                                         condition_grade=ConditionGrade.POOR))
                assets.append(make_asset(category, owner=owner, commissioned_on=date(2022, 5, 1)))
        evaluate_inventory(clock.today() - timedelta(days=1))
        db.session.commit()

        # Notices of 住建局 (one per owner unit) and 机关事务中心; one served, one voided. Their PDFs are
        # rendered when first downloaded (rendering them here would double the seeding time).
        zjj, jgsw = (sign_notices([d.id for d in draft_notices(mandatory_items(users[name].department,
                                                                               category=category), users[name])],
                                  users[head], render=False)
                     for name, head, category in (("maintainer-zjj", "head-zjj", Category.CONSTRUCTION_MACHINE),
                                                  ("maintainer-jgsw", "head-jgsw", Category.OFFICIAL_CAR)))
        lifecycle.serve(zjj[0], users["inspector-zjj"], zjj[0].issued_on, "张三")
        lifecycle.void(jgsw[0], users["maintainer-jgsw"], "测试作废")
        notices = zjj + jgsw

        # Drafts (citywide with a pin, and 住建局's), a locked plan with its revision, a locked one without.
        taskforce = users["taskforce"]
        citywide = plans.create_plan(year_from=2025, year_to=2027, user=taskforce)
        flagged = next(a for a in assets if a.category is Category.CONSTRUCTION_MACHINE and a.commissioned_on.year < 2010)
        plans.pin_asset(citywide.id, flagged.id, 2026, reason="试点", user=taskforce)
        zjj_plan = plans.create_plan(year_from=2025, year_to=2026, user=users["maintainer-zjj"])
        plans.pin_asset(zjj_plan.id, flagged.id, 2025, user=users["maintainer-zjj"])
        locked = [plans.create_plan(year_from=2024, year_to=year, user=taskforce) for year in (2027, 2025)]
        approver = make_user(role="taskforce", department=None, username="taskforce-approver")  # four eyes
        for plan in locked:
            workflow.transition(plan.id, "submit", user=taskforce)
            for action in ("approve", "lock"):
                workflow.transition(plan.id, action, user=approver)
        revision = workflow.revise(locked[0].id, user=taskforce)
        all_plans = [citywide, zjj_plan, *locked, revision]

        world.ids = {
            "asset": [a.id for a in assets], "pin": [flagged.id], "unit": [o.id for o in owners],
            "notice": [n.id for n in notices],
            "plan": [p.id for p in all_plans],
            "target": list(db.session.scalars(sa.select(PlanTarget.id).order_by(PlanTarget.id))),
            "rule": list(db.session.scalars(sa.select(Rule.code).where(Rule.is_current.is_(True)).order_by(Rule.code))),
        }
        for name, user in users.items():
            for kind, rows in (("asset", assets), ("notice", notices), ("plan", all_plans)):
                world.own[(name, kind)] = [r.id for r in rows if user.role is Role.TASKFORCE
                                           or r.department_id == user.department_id]
    return world


@contextmanager
def seeded_app(schema_app, database_url: str, files_dir) -> Iterator[tuple]:
    """Seed the world once on a fresh app and database; yield (app, world, the seeded rows for `restore`)."""
    from registry import create_app
    from registry.orgs.reference import ensure_reference_data
    from tests.conftest import clean_tables
    clean_tables(schema_app)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",  # as conftest's app
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "NOTICE_FILES_DIR": str(files_dir / "notices"), "SEAL_FILES_DIR": str(files_dir / "seals")})
    with app.app_context():
        ensure_reference_data()
    world = build_world(app)
    try:
        yield app, world, snapshot(app)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def snapshot(app) -> dict[str, list[dict]]:
    """Return every table's rows: the seeded state `restore` puts back before each operation's fuzz run.

    In primary-key order: a plan revision refers to its parent, made before it, and PostgreSQL's heap
    order puts an updated parent after its child (the FK then refused the restore, now and then).
    """
    with app.app_context(), db.engine.connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()]
                for t in db.metadata.sorted_tables}


def restore(app, rows: dict[str, list[dict]]) -> None:
    """Empty every table and insert `rows` again; move PostgreSQL's id sequences past the restored ids."""
    from tests.conftest import clean_tables
    clean_tables(app)
    with app.app_context(), db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
            column = table.autoincrement_column
            if conn.dialect.name == "postgresql" and column is not None:
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f'(SELECT COALESCE(MAX("{column.name}"), 0) + 1 FROM "{table.name}"), false)'),
                    {"table": table.name, "column": column.name})


def actors_for(app, world: World, method: str, path: str) -> list[str]:
    """Return the actors whose role the view behind `method path` declares (path params filled with 1)."""
    adapter = app.url_map.bind("localhost")
    concrete = path.replace("{code}", "X").replace("{", "").replace("}", "")
    concrete = "/".join("1" if part.endswith("_id") else part for part in concrete.split("/"))
    endpoint, _args = adapter.match(concrete, method=method.upper())
    allowed = allowed_roles_for(app.view_functions[endpoint], method)
    assert allowed, f"{method} {path} declares no roles"
    return [name for name, role in world.roles.items() if role in allowed]


def _salt(case) -> int:
    """A number derived from the generated case: the same case always gets the same choices."""
    return zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode("utf-8"))


def choose_actor(app, world: World, case) -> str:
    """Choose, deterministically, one of the actors allowed to call the case's operation."""
    actors = actors_for(app, world, case.operation.method, case.operation.path)
    return actors[_salt(case) % len(actors)]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value) -> int | None:
    """Return a generated id as an int (path values may come as digit strings), or None for other values."""
    if _is_int(value):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _seeded_or(value: int, world: World, actor: str, kind: str, salt: int) -> int:
    """Map `value` onto a row (twice as likely one the actor may see) or MISSING_ID.

    Negative values and the top of the id range are kept as generated (range boundaries).
    """
    if not 0 <= value < MAX_ID - 1:
        return value
    own = world.own.get((actor, kind)) or []
    options = own + own + world.ids[kind] + [MISSING_ID]
    return options[(value + salt) % len(options)]


def point_at_seeded_rows(case, world: World, actor: str) -> None:
    """Map generated ids onto seeded rows (or a missing one), keeping values of the wrong type as generated."""
    salt = _salt(case)
    for name, value in list((case.path_parameters or {}).items()):
        kind = "pin" if name == "asset_id" and "/pins/" in case.operation.path else PATH_KINDS.get(name)
        number = _as_int(value)
        if kind == "rule" and isinstance(value, str):
            options = world.ids["rule"] + [value]
            case.path_parameters[name] = options[(len(value) + salt) % len(options)]
        elif kind is not None and number is not None:
            mapped = _seeded_or(number, world, actor, kind, salt)
            case.path_parameters[name] = mapped if isinstance(value, int) else str(mapped)
    body = case.body if isinstance(case.body, dict) else None
    if body is None:
        return
    for name, kind in BODY_ID_LISTS.items():
        value = body.get(name)
        if isinstance(value, list) and value and all(_is_int(v) for v in value):
            body[name] = [_seeded_or(v, world, actor, kind, salt) for v in value]
    if _is_int(body.get("asset")):
        body["asset"] = _seeded_or(body["asset"], world, actor, "asset", salt)


def steer(case) -> None:
    """On half of the requests, set the values a valid request needs and the document cannot describe."""
    body = case.body if isinstance(case.body, dict) else None
    if body is None or _salt(case) % 2:
        return
    for name in TODAY_FIELDS:
        if name in body:
            body[name] = clock.today().isoformat()  # no later than today, no earlier than the issue date
    if "version" in body:
        body["version"] = 1  # every seeded asset is at version 1


def write_report(path: str, statuses: dict, seconds: float, max_examples: int) -> None:
    """Write a Markdown table: per operation, the requests sent and the status codes answered."""
    lines = [f"API fuzz: {len(statuses)} operations, {sum(sum(c.values()) for c in statuses.values())} requests, "
             f"max_examples={max_examples}, {seconds:.0f} s", "",
             "| operation | requests | status codes (\"405 TRACE\": the same path with another method) |",
             "|---|---|---|"]
    for label, counts in sorted(statuses.items()):
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(counts.items()))
        lines.append(f"| `{label}` | {sum(counts.values())} | {codes} |")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def seeded(_schema_app, database_url, tmp_path_factory):
    """An app on a database seeded once per test module: (app, world, the seeded rows)."""
    with seeded_app(_schema_app, database_url, tmp_path_factory.mktemp("seeded-files")) as seeded:
        yield seeded


@pytest.fixture(name="app")
def restored_app(seeded):
    """The seeded app, its database put back to the seeded rows (replaces conftest's empty `app` where imported)."""
    restore(seeded[0], seeded[2])
    return seeded[0]


@pytest.fixture
def world(seeded):
    """The seeded ids and one API token per actor."""
    return seeded[1]


def bearer(world: World, actor: str) -> dict:
    """Return the Authorization header of `actor`'s API token."""
    return {"Authorization": f"Bearer {world.tokens[actor]}"}

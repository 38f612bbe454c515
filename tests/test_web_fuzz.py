"""Fuzz the web side: every GET route's query string and every POST form, with hostile values, never a 5xx.

tests/test_api_fuzz.py covers the JSON API from its OpenAPI document; the HTML views have no such
document. Here every registered non-API route (issue 17 item 7) is called, as a role the route declares,
on the seeded world of tests/fuzz_world.py, path ids pointing at seeded rows:

1. Discovery: each route is called once with no parameters through a request class that records
   which query and form keys the view reads (``args.get``, ``form.getlist``, ``"x" in form`` …).
   Views that iterate their form (plan quotas and budgets) get their key patterns from EXTRA_KEYS.
2. Attack: for every key read (plus GENERIC_KEYS), each hostile value alone (HOSTILE: huge integers,
   1e400, NaN, control characters, a lone surrogate's bytes, long strings, nested brackets …);
   POST forms also once with every key hostile at the same time.

The fast form runs in ``make test`` (fixed values: the same requests every run). ``WEB_FUZZ_EXAMPLES=N``
(``make fuzz``) adds N random values per key and N all-keys-random cases per route, drawn from a
generator seeded with ``FUZZ_SEED`` and the route (reproducible).
"""
from __future__ import annotations

import os
import random
from collections import Counter

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import ImmutableMultiDict

from registry import clock
from registry.accounts.access import allowed_roles_for
from registry.enums import Role
from registry.extensions import db
from tests.conftest import session_login
from tests.fuzz_world import restore, seeded, snapshot  # noqa: F401  (seeded: a module fixture)

EXAMPLES = int(os.environ.get("WEB_FUZZ_EXAMPLES", "0"))
SEED = int(os.environ.get("FUZZ_SEED", "20240903"))
HOSTILE = [
    "9" * 30, str(2**63), "-1", "0", "1e400", "1e400000", "NaN", "-Infinity", "２０２５", "²",
    "\x01", "\x7f", "a\x1bb", "%ED%A0%80", "\ufffd", "x" * 5000, "[[[[[[[[[[", "{\"a\":[{}]}", "a=1&b=2",
    "'; DROP TABLE assets; --", "=HYPERLINK(\"http://x\")", "2025-13-45", "0000-01-01", "9999-12-31", " ",
]
GENERIC_KEYS = ("page", "year", "department", "ids", "cursor", "q", "sort")
# Keys a view finds by iterating its form, which the recorder cannot see.
EXTRA_KEYS = {"planning.settings": ("quota-elevator-2025", "quota-x", "budget-2025", "budget-x"),
              "planning.create": ("quota-elevator-2025", "quota-x", "budget-2025", "budget-x")}
# The fast run: each key alone with FAST_PER_KEY values (rotating through HOSTILE), then TOGETHER values
# with every key at once. Heavy routes (a PDF rendered, a password hashed, a plan built per request) get
# only three together in the fast run, one value per key alone in the long run.
FAST_PER_KEY = 1
TOGETHER = ("9" * 30, "1e400", "NaN", "\x01", "%ED%A0%80", "x" * 5000, "[[[[[[[[[[", "２０２５", "-1")
HEAVY = ("pdf", "print_batch", "reset_password", "users.create", "change_password", "planning.create",
         "planning.settings", "planning.rebuild", "planning.revise", "planning.transition", "planning.pin",
         "notices.serve", "notices.complete", "notices.acknowledge", "notices.void", "notices.issue",
         "export", "jobs.run_now", "assets.edit", "assets.create")
SKIP = {"static", "accounts.logout", "accounts.login"}  # login: rate-limit and lockout tests own it


_READ: set[str] = set()


class RecordingDict(ImmutableMultiDict):
    """A request MultiDict that notes every key a view asks for."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        _READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        _READ.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        _READ.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _READ.add(key)
        return super().__contains__(key)


@pytest.fixture(scope="module")
def web_world(seeded):
    """The seeded world plus one web user per role, and the rows to restore before each route."""
    from registry.accounts.models import User
    from registry.snapshots.services import build_snapshot
    from tests.factories import make_user
    app, world, rows = seeded
    restore(app, rows)
    with app.app_context():
        users = {r: db.session.scalar(sa.select(User.id).where(User.username == f"fuzz-{name}"))
                 for name, r in (("maintainer-zjj", Role.MAINTAINER), ("inspector-zjj", Role.INSPECTOR),
                                 ("taskforce", Role.TASKFORCE))}
        for role in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR):
            users[role] = make_user(role.value, None, username=f"webfuzz-{role.value}").id
        users[Role.DEPT_HEAD] = make_user(Role.DEPT_HEAD.value, "zjj", username="webfuzz-dept_head").id
        snap, _ = build_snapshot("web-fuzz", clock.today())
        db.session.commit()
        samples = _path_samples(world, snap.id)
    app.request_class.parameter_storage_class = RecordingDict
    try:
        yield app, world, users, samples, snapshot(app)
    finally:
        app.request_class.parameter_storage_class = ImmutableMultiDict
        restore(app, rows)


def _path_samples(world, snapshot_id: int) -> dict:
    from registry.accounts.models import ApiToken
    from registry.assets.models import ConditionAssessment
    from registry.jobs.models import JobRun
    from registry.planning.models import ReplacementCost
    first = lambda model: db.session.scalar(sa.select(model.id).order_by(model.id).limit(1)) or 1  # noqa: E731
    return {"asset_id": world.own[("maintainer-zjj", "asset")][0], "plan_id": world.own[("maintainer-zjj", "plan")][0],
            "notice_id": world.own[("maintainer-zjj", "notice")][0], "snapshot_id": snapshot_id,
            "target_id": world.ids["target"][0], "cost_id": first(ReplacementCost), "run_id": first(JobRun),
            "token_id": first(ApiToken), "assessment_id": first(ConditionAssessment), "user_id": 1,
            "code": world.ids["rule"][0], "category": "elevator", "job_id": "nightly-evaluation", "token": "x" * 32}


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith("/api/") or rule.endpoint in SKIP or rule.endpoint.startswith("static"):
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule, method


def _url(rule, samples: dict) -> str:
    url = rule.rule
    for arg in rule.arguments:
        for conv in ("", "int:", "string:", "path:"):
            url = url.replace(f"<{conv}{arg}>", str(samples.get(arg, "1")))
    return url


def _client(app, users: dict, role: Role):
    from registry.accounts.models import User
    client = app.test_client()
    with app.app_context():
        session_login(client, db.session.get(User, users[role]))
    return client


def _random_value(rng: random.Random) -> str:
    """One random hostile value (the long run): numbers of any size and form, odd text, brackets."""
    kind = rng.randrange(5)
    if kind == 0:
        return str(rng.getrandbits(rng.choice((4, 16, 31, 32, 63, 64, 100, 400))) * rng.choice((1, -1)))
    if kind == 1:
        return rng.choice(("{}e{}", "{}.{}", "-{}E+{}")).format(rng.getrandbits(20), rng.getrandbits(rng.choice((3, 10, 20))))
    if kind == 2:
        return "".join(chr(rng.choice((rng.randrange(0, 0x80), rng.randrange(0x80, 0xD800), rng.randrange(0xE000, 0x10FFFF))))
                       for _ in range(rng.randrange(1, 40)))
    if kind == 3:
        return "".join(rng.choice("[]{}\\\"',:0123456789.e-+") for _ in range(rng.randrange(1, 200)))
    return rng.choice(HOSTILE) * rng.randrange(1, 4)


def _cases(keys: list[str], rng: random.Random, heavy: bool) -> list[dict]:
    """Each key alone with a few hostile values, then every key at once per value (plus the long run's random ones)."""
    per_key = (1 if heavy else FAST_PER_KEY) if EXAMPLES else (0 if heavy else FAST_PER_KEY)
    cases = []
    for i, key in enumerate(keys):
        values = [HOSTILE[(i * per_key + j) % len(HOSTILE)] for j in range(per_key)]
        values += [_random_value(rng) for _ in range(EXAMPLES)]
        cases += [{key: value} for value in values]
    together = TOGETHER[:3] if heavy and not EXAMPLES else (HOSTILE if EXAMPLES else TOGETHER)
    cases += [{key: value for key in keys} for value in together]
    cases += [{key: _random_value(rng) for key in keys} for _ in range(EXAMPLES)]
    return cases


def _send(client, method: str, url: str, params: dict):
    from urllib.parse import quote
    if method == "GET":
        # Values travel as typed; "%ED%A0%80" stays raw so werkzeug meets a lone surrogate's bytes.
        query = "&".join(f"{quote(k)}={v if v.startswith('%') else quote(v, safe='')}" for k, v in params.items())
        return client.get(f"{url}?{query}" if query else url)
    return client.post(url, data=params)


def _route_ids():
    from tests.test_route_roles import _LISTING_APP
    return [(rule.endpoint, method) for rule, method in _routes(_LISTING_APP)]


@pytest.mark.parametrize("endpoint, method", _route_ids(), ids=[f"{m} {e}" for e, m in _route_ids()])
def test_no_hostile_query_or_form_value_is_a_server_error(web_world, endpoint, method):
    app, world, users, samples, rows = web_world
    if method == "POST":  # a GET changes no business row: restoring before each one only costs time
        restore(app, rows)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    allowed = allowed_roles_for(app.view_functions[endpoint], method)
    role = sorted(allowed, key=lambda r: list(Role).index(r))[0] if allowed else Role.MAINTAINER
    client = _client(app, users, role)
    url = _url(rule, samples)
    _READ.clear()
    first = _send(client, method, url, {})
    assert first.status_code < 500, (method, url, first.status_code)
    first.close()
    keys = sorted(_READ - {"csrf_token", "_user_id", "_fresh"} | set(GENERIC_KEYS) | set(EXTRA_KEYS.get(endpoint, ())))
    rng = random.Random(f"{SEED}:{endpoint}:{method}")
    heavy = any(word in endpoint for word in HEAVY)
    statuses: Counter = Counter()
    failures = []
    cases = _cases(keys, rng, heavy)
    for params in cases:
        resp = _send(client, method, url, params)
        statuses[resp.status_code] += 1
        if resp.status_code >= 500:
            failures.append((str(params)[:300], resp.status_code))
        resp.close()
    # Forms that succeed change the world (a plan locked, an asset deleted): later cases then meet 404/409,
    # which is still an answer. The next route starts from the seeded rows again.
    assert not failures, failures[:5]
    assert sum(statuses.values()) == len(cases)

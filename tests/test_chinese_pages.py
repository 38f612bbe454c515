"""Every GET page, for every role that may open it, speaks Chinese: no snake_case, no stray English words.

The seeded world of tests/fuzz_world.py (assets of every category, findings, notices, plans) plus
a snapshot, a failed job run and one account per administrator role; path arguments point at seeded
rows the role may see. Visible text is the page's text nodes (tags, scripts, styles and attribute
values removed); codes, units, brand names, user names and URLs are allowed.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from registry import clock
from registry.accounts.access import allowed_roles_for
from registry.accounts.models import User
from registry.accounts.security import PUBLIC_ENDPOINTS
from registry.enums import Role
from registry.extensions import db
from tests.conftest import session_login
from tests.factories import make_user
from tests.fuzz_world import seeded  # noqa: F401 - the module-scoped seeded world

# Words a page may show in Latin letters: formats, units, standards, grades of codes.
ALLOWED_WORDS = {
    "PDF", "Excel", "API", "QR", "CSV", "csv", "GBK", "JGJ", "GB", "xlsx", "xls", "ods", "JSON", "IP", "ID", "SHA", "URL", "HTTPS", "Bearer",
    "kg", "km", "kW", "kN", "mm", "MB", "KB", "GB", "MiB", "SC", "SS", "PE", "PVC", "SUV", "MPV", "JPEG", "PNG",
    "No", "xzr", "OpenAPI", "Argon2id", "UTC", "Asia", "Shanghai", "II", "III",
}
CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+)+\b")  # XZ-8a, T-ELE-000012, XZ-DT-0000123
NOISE = (re.compile(r"https?://\S+"), re.compile(r"\S+@\S+\.\w+"), re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b"),
         re.compile(r"/[\w/.\-]*"), CODE)
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
WORD = re.compile(r"[A-Za-z]{2,}")  # one letter is a unit (m, t) or a grade (a, b)


# Verbatim technical text a page quotes on purpose: code samples, rule parameters (JSON), host names.
VERBATIM = ("script", "style", "code", "pre", "textarea")
QUOTED = re.compile(r"「[^」]*」")  # what the user typed, quoted back in an error message


class _Text(HTMLParser):
    """Collect the text nodes a person reads (not scripts, styles, verbatim code or attribute values)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in VERBATIM:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in VERBATIM and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """Return the text of `html` as a person sees it."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def foreign_words(text: str, names: set[str]) -> list[str]:
    """Return snake_case identifiers and English words in `text` that are not codes, units or names."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = QUOTED.sub(" ", text)
    found = SNAKE.findall(text)
    for pattern in NOISE:
        text = pattern.sub(" ", text)
    found += [w for w in WORD.findall(text) if w not in ALLOWED_WORDS]
    return sorted(set(found))


def test_foreign_words_finds_what_it_should():
    assert foreign_words("用户名：已存在 username：x plan.lock record", set()) == ["lock", "plan", "record", "username"]
    assert foreign_words("XZ-8a 规则 T-ELE-000012 额定功率 55 kW，导出 Excel / PDF", set()) == []
    assert foreign_words("张三 fuzz-maintainer-zjj", {"fuzz-maintainer-zjj"}) == []


@pytest.fixture(scope="module")
def world_pages(seeded):  # noqa: F811
    """The seeded app with a snapshot, a failed run, one user per role and ids to fill path arguments."""
    from registry.jobs import services as jobs
    from registry.rules.models import Rule
    from registry.snapshots.models import Snapshot
    from registry.snapshots.services import build_snapshot
    app, world, _rows = seeded
    with app.app_context():
        build_snapshot(f"test-{clock.today().isoformat()}", clock.today())
        db.session.commit()
        app.config["SNAPSHOT_SOURCE"] = "tests.test_jobs:_exploding_source"
        jobs.run_job("nightly-evaluation", "2025-06-01")
        app.config.pop("SNAPSHOT_SOURCE")
        users = {r.value: make_user(r.value, "zjj" if r in (Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD) else None,
                                    username=f"cn-{r.value}").id for r in Role}
        from registry.assets.models import Asset
        from registry.notices.models import Notice
        from registry.planning.models import Plan, PlanTarget
        zjj = db.session.get(User, users["maintainer"]).department_id
        ids = {
            "asset_id": db.session.scalar(sa.select(Asset.id).where(Asset.department_id == zjj).order_by(Asset.id)),
            "notice_id": db.session.scalar(sa.select(Notice.id).where(Notice.department_id == zjj).order_by(Notice.id)),
            "plan_id": db.session.scalar(sa.select(Plan.id).order_by(Plan.id)),
            "snapshot_id": db.session.scalar(sa.select(Snapshot.id)),
            "user_id": users["maintainer"],
            "code": db.session.scalar(sa.select(Rule.code).order_by(Rule.code)),
            "category": "construction_machine",
            "target_id": db.session.scalar(sa.select(PlanTarget.id)),
        }
        from registry.accounts.models import ApiToken
        names = set(db.session.scalars(sa.select(User.username))) | set(db.session.scalars(
            sa.select(User.display_name))) | set(db.session.scalars(sa.select(ApiToken.name)))  # what users typed
    return app, users, ids, names


def _pages(app, ids):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("static") \
                or rule.rule.startswith("/api") or rule.rule.endswith((".xlsx", ".csv", ".pdf", "/pdf", "/image")) \
                or rule.endpoint in ("assets.photo", "transfer.export"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{arg}>", str(ids.get(arg, "x")), url)
        yield rule.endpoint, url


EXTRA = ("/assets/c/construction_machine?finding=mandatory", "/assets/c/construction_machine?finding=bogus",
         "/assets/c/elevator?age_min=abc&missing=nothing", "/assets/c/pipe?stale=1",
         "/audit/?action=登录", "/notices/999999", "/plans/progress/evidence?series=done")


def test_every_page_speaks_chinese(world_pages):
    app, users, ids, names = world_pages
    problems = {}
    pages = list(_pages(app, ids))
    for role in Role:
        client = app.test_client()
        with app.app_context():
            session_login(client, db.session.get(User, users[role.value]))
        for endpoint, url in pages + [(None, u) for u in EXTRA]:
            if endpoint is not None and role not in (allowed_roles_for(app.view_functions[endpoint], "GET") or ()):
                continue
            resp = client.get(url)
            assert resp.status_code < 500, (role, url)
            if resp.mimetype != "text/html" or resp.status_code in (301, 302):
                continue
            bad = foreign_words(visible_text(resp.get_data(as_text=True)), names)
            if bad:
                problems[f"{role.value} {url}"] = bad
    anonymous = app.test_client()
    bad = foreign_words(visible_text(anonymous.get("/login").get_data(as_text=True)), names)
    if bad:
        problems["anonymous /login"] = bad
    assert not problems, "\n".join(f"{page}: {words}" for page, words in sorted(problems.items()))


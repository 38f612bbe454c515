"""Every route requires login, except the few public ones."""
from __future__ import annotations

import pytest

from registry import create_app
from registry.accounts.security import PUBLIC_ENDPOINTS

_ARG_SAMPLES = {"int": "1", "string": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def _routes():
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule) -> str:
    url = rule.rule
    for arg in rule.arguments:
        converter = type(rule._converters[arg]).__name__.replace("Converter", "").lower()
        sample = _ARG_SAMPLES.get({"integer": "int", "unicode": "string"}.get(converter, converter), "1")
        url = url.replace(f"<{arg}>", sample)
        for conv in ("int", "string", "path", "uuid"):
            url = url.replace(f"<{conv}:{arg}>", sample)
    return url


@pytest.mark.parametrize("rule,method", list(_routes()), ids=lambda v: str(v))
def test_route_requires_login(client, rule, method):
    resp = client.open(_url(rule), method=method)
    if rule.rule.startswith("/api/"):
        assert resp.status_code == 401
    else:
        assert resp.status_code in (302, 401), resp.status_code
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]


def test_login_page_and_health_are_public_but_home_is_not(client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 302

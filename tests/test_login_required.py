"""Every route requires login, except the few public ones."""
from __future__ import annotations

import pytest

# One walk of the URL map for both route tests (every non-public route, with sample path arguments).
from tests.test_route_roles import ROUTES, _url


@pytest.mark.parametrize("rule,method", ROUTES, ids=lambda v: str(v))
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

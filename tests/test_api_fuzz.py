"""API fuzzing (issue 9 item 2): schemathesis calls every operation of the OpenAPI document.

Each operation of /api/v1/openapi.json becomes one test. Schemathesis generates requests for it
(examples phase: documented examples; coverage phase: boundary and invalid values, missing fields,
other methods; fuzzing phase: random valid and invalid data), sends them in-process to the WSGI app
with the API token of a role the view allows, and fails on any 5xx, an undocumented status code or
content type, or a body that breaks the documented schema. The world of tests/fuzz_world.py is
seeded once and restored before each operation; generated ids are mapped onto its rows, so success
paths are reached too.

Fast and deterministic by default (`make test`): 10 examples per operation, fixed seed, no example
database. FUZZ_MAX_EXAMPLES raises the examples per operation, FUZZ_SEED changes the seed and
FUZZ_REPORT names a Markdown file for the answers per operation (`make fuzz`). See docs/reliability.md.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from registry import create_app
from tests.fuzz_world import (  # noqa: F401  (seeded, world: fixtures)
    choose_actor, point_at_seeded_rows, restore, seeded, steer, world, write_report)

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
SEED = int(os.environ.get("FUZZ_SEED", "20240903"))


def _openapi_document() -> dict:
    """Build the OpenAPI document the app serves (describing the API needs no database)."""
    from registry.extensions import api
    create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "spec"})
    return api.spec.to_dict()


CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
    "phases": {"stateful": {"enabled": False}},
})
DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


STATUSES: dict[str, Counter] = defaultdict(Counter)  # operation -> status code -> responses


@pytest.fixture
def fuzz_app(seeded):
    """The seeded app, its database put back to the seeded rows."""
    app, _world, rows = seeded
    restore(app, rows)
    return app


@pytest.fixture(scope="module", autouse=True)
def _report():
    """Write the status codes each operation answered with to $FUZZ_REPORT (used by `make fuzz`)."""
    started = time.perf_counter()
    yield
    path = os.environ.get("FUZZ_REPORT")
    if path:
        write_report(path, STATUSES, time.perf_counter() - started, MAX_EXAMPLES)


@pytest.fixture
def past_the_role_gate(request):
    """After an operation's run, fail when every request of its method was refused (401/403): nothing was tested."""
    yield
    label = request.node.name.partition("[")[2].rstrip("]")
    answers = {code for code in STATUSES[label] if " " not in code}  # "405 TRACE" is the path with another method
    assert answers - {"401", "403"}, f"{label}: only refusals {sorted(answers)}"


def test_fuzzed_document_is_the_served_one(fuzz_app, world):
    resp = fuzz_app.test_client().get("/api/v1/openapi.json",
                                      headers={"Authorization": f"Bearer {world.tokens['inspector-zjj']}"})
    assert resp.status_code == 200
    assert resp.json == json.loads(json.dumps(DOCUMENT))


@schema.parametrize()
# The seeded world is meant to persist across the examples of one operation.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_operation_conforms(case, fuzz_app, world, past_the_role_gate):
    app = fuzz_app
    operation = case.operation
    actor = choose_actor(app, world, case)
    point_at_seeded_rows(case, world, actor)
    steer(case)
    headers = {"Authorization": f"Bearer {world.tokens[actor]}"}
    # buffered: the test client reads and closes each response (send_file's temp files included), as a server does
    response = case.call(app=app, headers=headers, buffered=True)
    sent = case.method.upper()
    STATUSES[operation.label][str(response.status_code) + ("" if sent == operation.method.upper() else f" {sent}")] += 1
    case.validate_response(response, headers=headers, transport_kwargs={"app": app})

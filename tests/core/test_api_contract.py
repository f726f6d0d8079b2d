"""The OpenAPI document and the server agree: schemathesis with every check finds nothing.

This is `st run --checks all` in-process, with bounded examples: every phase (examples, coverage,
fuzzing, stateful) and every check, including the ones that compare the server's answers with the
document (undocumented statuses, schema-valid input refused, schema-violating input accepted,
undeclared methods without `Allow`, missing required headers, ...).

The app is served on loopback HTTP rather than through schemathesis's WSGI transport: schemathesis 4's
engine passes `max_redirects` to that transport, which refuses it, and every stateful request errors.

One check is read as our contract reads it. `positive_data_acceptance` counts any 422 for a
schema-valid request as the document promising too much. Our 422 also means "a rule of the product
refused it" (API.md): an unknown person's email, a deadline passed, a period that ends before it
starts, a cursor this list never gave out. And `negative_data_rejection` does not count 413 (body
over the size limit) as a refusal: it is one. No JSON schema can state those, so 422 is an expected
answer to schema-valid input here, and `schema_valid_input_passes_validation` below holds the part
that the document must state: the server's own request validation (the pydantic schemas, replayed on
the very request that was sent) never refuses what the document says is valid.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from flask import Flask
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
)
from schemathesis.engine import events, from_schema
from werkzeug.serving import make_server

from app.core.api import EndpointSpec, read_json_body, read_query, validate
from app.core.errors import HindsightError

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

MAX_EXAMPLES = 6
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
# (METHOD, "/api/v1/incidents/{incident_id}") -> the endpoint's spec, for the app under test.
_ENDPOINTS: dict[tuple[str, str], tuple[Flask, EndpointSpec]] = {}


@schemathesis.check
def schema_valid_input_passes_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 422 to a schema-valid request must come from a product rule, not from request validation."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if any(info.mode.is_negative for info in meta.components.values()):
        return None  # a positive case can carry a negative part (the coverage phase's edge cases)
    found = _ENDPOINTS.get((case.method.upper(), case.path))
    if found is None:
        return None
    app, spec = found
    sent = response.request
    url = urlsplit(sent.url)
    body = sent.body.encode() if isinstance(sent.body, str) else (sent.body or b"")
    with app.test_request_context(
        url.path, method=sent.method, query_string=url.query, data=body,
        headers={"Content-Type": sent.headers.get("Content-Type", "application/json")},
    ):
        try:
            if spec.body is not None:
                validate(spec.body, read_json_body())
            if spec.query is not None:
                read_query(spec.query)
        except HindsightError as exc:
            raise AssertionError(
                f"The document says this request is valid, but the server's validation refuses it: "
                f"{exc.message} {exc.fields}"
            ) from None
    return None


@schemathesis.check
def errors_keep_the_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx, documented or not (405 to an undeclared method), is `{"error": {"code", "message", "fields"?}}`."""
    if not _ENDPOINTS or not 400 <= response.status_code < 500:
        return None
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error.get("fields", {}), dict), error
    return None


def _endpoints(app: Flask) -> dict[tuple[str, str], tuple[Flask, EndpointSpec]]:
    found = {}
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions.get(rule.endpoint), "endpoint_spec", None)
        if spec is not None:
            for method in rule.methods or ():
                found[(method, _CONVERTER.sub(r"{\1}", rule.rule))] = (app, spec)
    return found


@pytest.fixture
def settings_overrides() -> dict:
    # ignored_auth sends many bad tokens from one address: past the sign-in limiter's count it would get
    # 429 (right, and tested in tests/auth), which the check reads as "not 401". Here only the contract counts.
    return {"auth": {"max_failures_per_address": 1_000_000}}


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on a loopback port, one request at a time, for as long as the test runs."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _ENDPOINTS.update(_endpoints(app))
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        _ENDPOINTS.clear()
        server.shutdown()
        thread.join()
        server.server_close()


def _run(base_url: str, headers: dict[str, str]) -> tuple[dict[tuple[str, str, str], str], int]:
    """Every phase, every check; returns the unique failures (operation, check, title) -> details."""
    config = SchemathesisConfig(seed=20261201)
    project = config.projects.override
    project.update(headers=headers)
    project.checks.update(included_check_names=["all"])
    project.checks.positive_data_acceptance.expected_statuses = [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]
    # 413 refuses a body over the size limit (a list of more items than maxItems can be that): a refusal.
    project.checks.negative_data_rejection.expected_statuses = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
    project.generation.update(max_examples=MAX_EXAMPLES, database="none")
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
    failures: dict[tuple[str, str, str], str] = {}
    checked = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    checked += 1
                    if node.failure_info is not None:
                        failure = node.failure_info.failure
                        key = (str(event.label), node.name, failure.title)
                        failures.setdefault(key, f"{failure.message}\n{node.failure_info.code_sample}"[:1500])
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            failures.setdefault(("engine", type(event).__name__, ""), str(getattr(event, "info", event))[:1500])
    return failures, checked


def test_schemathesis_with_every_check_finds_nothing(served, auth, factory):
    factory.resolved_incident(auth)  # something for the id-taking routes to find
    failures, checked = _run(served, auth)
    assert checked > 1000
    report = "\n\n".join(f"{' | '.join(key)}\n{detail}" for key, detail in failures.items())
    assert failures == {}, f"{len(failures)} failures:\n\n{report}"

"""Bad input at the JSON edge: a 4xx in the error shape naming what is wrong, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "hook-secret"


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields", "current"}
    if code is not None:
        assert error["code"] == code, error
    return error


def _operations(client, *, with_body: bool | None = None):
    """(method, path with ids filled in) for every operation of the OpenAPI document."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if with_body is not None and ("requestBody" in operation) != with_body:
                continue
            concrete = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    value = "1" if parameter["schema"]["type"] == "integer" else "summary"
                    concrete = concrete.replace("{" + parameter["name"] + "}", value)
            yield method.upper(), path, concrete


def test_a_body_of_many_brackets_is_malformed_json_not_a_recursion_error(client, auth):
    body = b"[" * 100_000
    response = client.post("/api/v1/people", data=body, headers=auth | {"Content-Type": "application/json"})
    assert "64" in _error(response, 400, "malformed_json")["message"]


def test_every_json_route_refuses_nesting_deeper_than_64_levels(client, auth):
    too_deep = b'{"a": ' + b"[" * 65 + b"]" * 65 + b"}"
    just_deep_enough = b'{"a": ' + b"[" * 63 + b"]" * 63 + b"}"
    routes = list(_operations(client, with_body=True))
    assert len(routes) >= 10
    for method, path, concrete in routes:
        if path == "/api/v1/integrations/jira/webhook":
            continue  # signed: see the next test
        response = client.open(concrete, method=method, data=too_deep,
                               headers=auth | {"Content-Type": "application/json"})
        _error(response, 400, "malformed_json")
        # 64 levels parse, and are then judged by the route's schema.
        response = client.open(concrete, method=method, data=just_deep_enough,
                               headers=auth | {"Content-Type": "application/json"})
        assert response.status_code != 400 or response.get_json()["error"]["code"] != "malformed_json", path


def test_the_jira_webhook_refuses_deep_nesting_too(make_app):
    client = make_app(jira={"webhook_secret": WEBHOOK_SECRET}).test_client()
    body = b"[" * 100_000
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post("/api/v1/integrations/jira/webhook", data=body, headers={"X-Hub-Signature": signature})
    _error(response, 400, "malformed_json")


def test_ids_beyond_32_bits_are_404_on_every_route(client, auth):
    routes = [(m, p, c) for m, p, c in _operations(client) if "/1" in c]
    assert len(routes) >= 15
    for method, path, concrete in routes:
        for big in ("2147483648", "9223372036854775808", "99999999999999999999"):
            response = client.open(concrete.replace("/1", "/" + big, 1), method=method, headers=auth, json={})
            _error(response, 404, "not_found")
    # The largest 32-bit id is an id like any other: the route answers, the row is not there.
    response = client.get("/api/v1/incidents/2147483647/timeline", headers=auth)
    _error(response, 404)
    assert "2147483647" in response.get_json()["error"]["message"]


def test_an_undeclared_method_is_405_with_allow_in_the_error_shape(client, auth):
    response = client.open("/api/v1/people", method="DELETE", headers=auth)
    _error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize("due_date", ["0001-01-01", "9999-12-31", "1969-12-31", "3000-01-01", 0, 20261201,
                                      "2026-12-01T00:00:00Z", "2026-02-30"])
def test_due_dates_are_iso_dates_between_1970_and_2999(client, auth, factory, due_date):
    _incident, retro = factory.resolved_incident(auth)
    owner = factory.person()
    response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", headers=auth,
                           json={"title": "Add a runbook", "owner": owner.email, "due_date": due_date})
    assert "due_date" in _error(response, 422, "validation_error")["fields"]


@pytest.mark.parametrize("query, field", [
    ("until=0", "until"),
    ("since=1700000000", "since"),
    ("since=2000-01-01&until=9999-12-31", "until"),
    ("since=0001-01-01", "since"),
    ("since=2026-12-01&until=2026-01-01", "since"),
])
def test_metrics_periods_are_bounded_iso_dates(client, auth, query, field):
    response = client.get(f"/api/v1/metrics?{query}", headers=auth)
    assert field in _error(response, 422, "validation_error")["fields"]
    widest = client.get("/api/v1/metrics?since=1970-01-01&until=2999-12-31", headers=auth)
    assert widest.status_code == 200, widest.get_json()


@pytest.mark.parametrize("value", [0, 1_700_000_000, "1700000000", "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"])
def test_timestamps_are_iso_text_between_1970_and_2999(client, auth, value):
    response = client.post("/api/v1/incidents", headers=auth, json={
        "title": "Checkout down", "severity": "SEV1", "commander": "nobody@example.com", "started_at": value,
    })
    assert "started_at" in _error(response, 422, "validation_error")["fields"]


def test_reminders_run_takes_no_body_as_the_document_says(client, auth):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/reminders/run"]["post"]
    assert operation["requestBody"]["required"] is False
    response = client.post("/api/v1/reminders/run", headers=auth)
    assert response.status_code == 200, response.get_json()
    far = client.post("/api/v1/reminders/run", headers=auth, json={"as_of": "2999-01-01"})
    assert "as_of" in _error(far, 422)["fields"]


def test_patch_documents_null_only_where_the_server_takes_it(client):
    from app.actions.schemas import ActionItemUpdate
    from app.incidents.schemas import IncidentUpdate
    from app.retros.schemas import RetroUpdate

    components = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for model in (ActionItemUpdate, IncidentUpdate, RetroUpdate):
        properties = components[model.__name__]["properties"]
        nullable = {name for name, prop in properties.items() if {"type": "null"} in prop.get("anyOf", [])}
        assert nullable == set(model.NULLABLE), model.__name__


def test_conflicts_size_and_header_limits_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in [("/api/v1/people", "post"), ("/api/v1/incidents", "post"), ("/api/v1/templates", "post"),
                         ("/api/v1/retrospectives/{retro_id}/sections/{key}", "put")]:
        assert {"409", "413"} <= set(paths[path][method]["responses"]), path
    assert {"401", "413"} <= set(paths["/api/v1/integrations/jira/webhook"]["post"]["responses"])
    for operations in paths.values():
        for operation in operations.values():
            assert "431" in operation["responses"]


def test_too_large_headers_are_431_in_the_error_shape(client, auth):
    response = client.get("/api/v1/people", headers=auth | {"X-Big": "a" * 40_000})
    assert "32768" in _error(response, 431, "headers_too_large")["message"]
    many = {f"X-H{i}": "1" for i in range(120)}
    _error(client.get("/api/v1/people", headers=auth | many), 431, "headers_too_large")
    assert client.get("/api/v1/people", headers=auth | {"X-Fine": "a" * 8_000}).status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raw_request(port: int, header_value: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"GET /api/v1/people HTTP/1.1\r\nHost: localhost\r\nX-Big: {header_value}\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_gunicorn_lets_the_app_answer_a_100_kb_header(database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the server's header limits do not depend on the database")
    port = _free_port()
    script = (
        "import sys; from config import load_settings; from app.server import run_gunicorn; "
        f"run_gunicorn(load_settings(overrides={{'database_url': {database_url!r}, 'secret_key': 'k', "
        f"'instance_path': {str(tmp_path)!r}}}, environ={{}}), host='127.0.0.1', port={port}, workers=1)"
    )
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        answer = _raw_request(port, "a" * 100_000)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431"), head[:200]
        assert b"application/json" in head and b'"headers_too_large"' in body, answer[:500]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_documented_patterns_take_exactly_what_the_validators_take():
    import re
    from typing import Annotated

    from pydantic import StringConstraints, TypeAdapter, ValidationError, create_model

    from app.core import schemas

    strip = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)])
    stripped = {chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and strip.validate_python(chr(c)) == ""}
    white_space = re.compile(f"[{schemas.WHITE_SPACE}]")
    assert stripped == {chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and white_space.match(chr(c))}

    samples = ["a", " a ", "\x85\x0c\n", "\ta b\t", "a\nb", "  ", "\x1c a", "a\x85b", "a\x00", "\u3000ab\u3000",
               "a@b.com", "0@0.0", "0@0", "x@y.test", "x@a.b.TEST", "a..b@c.com", ".a@b.com", "a@-b.com",
               "first.last@mail.example", "a@1.2.3.4", "a" * 65 + "@b.co", "abc", " a b ", "ab"]
    for kind in ("Line", "Text", "Reason", "Email"):
        model = create_model(kind, __base__=schemas.RequestModel, value=(getattr(schemas, kind), ...))
        pattern = re.compile(model.model_json_schema()["properties"]["value"]["pattern"])
        for text in samples:
            try:
                model.model_validate({"value": text})
                taken = True
            except ValidationError:
                taken = False
            if kind == "Email" and len(text.partition("@")[0]) > 64:
                continue  # the length is maxLength's and the format's to state
            assert bool(pattern.search(text)) == taken, (kind, text)


def test_a_nul_character_is_refused_naming_its_field_or_404_in_an_address(app, client, auth, factory):
    """PostgreSQL can't store NUL in text: forms, queries and addresses holding one are refused, never a 500."""
    from tests.web import csrf_token, sign_in

    web = sign_in(app, "admin@example.com")
    token = csrf_token(web.get("/account/tokens").get_data(as_text=True))
    made = web.post("/account/tokens", data={"name": "ok\x00", "scope": "read", "expires": "90", "csrf_token": token})
    assert made.status_code == 422 and "NUL" in made.get_data(as_text=True)
    login = app.test_client()
    login_token = csrf_token(login.get("/login").get_data(as_text=True))
    refused = login.post("/login", data={"email": "a\x00@example.com", "password": "x", "csrf_token": login_token})
    assert refused.status_code == 422
    assert client.get("/api/v1/services/a%00b", headers=auth).status_code == 404
    _incident, retro = factory.resolved_incident(auth)
    gone = client.delete(f"/api/v1/retrospectives/{retro['id']}/factors/%00", headers=auth)
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "not_found"
    found = client.get("/api/v1/search", query_string={"q": "disk\x00full"}, headers=auth)
    assert found.status_code == 422 and found.get_json()["error"]["fields"] == {"q": "must not contain NUL (\\x00) characters"}

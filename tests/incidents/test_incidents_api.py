"""Incidents, roles and timelines through the API, with every kind of bad input."""

from datetime import datetime, timedelta, timezone

import pytest

UTC = timezone.utc


def test_create_incident_gives_the_commander_role(factory, auth, client):
    commander = factory.person(email="ic@example.com", name="Ivy Commander")
    response = client.post("/api/v1/incidents", json={
        "title": "Search is down", "severity": "SEV0", "commander": "IC@Example.com",
        "started_at": "2026-11-20T10:00:00+02:00", "links": [{"title": "Dashboard", "url": "https://grafana.example.com/d/1"}],
    }, headers=auth)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["commander"] == commander.email
    assert body["status"] == "investigating" and body["visibility"] == "public"
    assert body["started_at"] == "2026-11-20T08:00:00Z"
    assert body["roles"] == [{"email": "ic@example.com", "name": "Ivy Commander", "role": "commander",
                              "started_at": "2026-11-20T08:00:00Z", "ended_at": None, "handed_to": None}]
    assert body["links"] == [{"title": "Dashboard", "url": "https://grafana.example.com/d/1"}]
    fetched = client.get(f"/api/v1/incidents/{body['id']}", headers=auth).get_json()
    assert fetched == body | {"retrospective_id": None}


def test_list_filters_by_status_and_severity(factory, auth, client):
    factory.incident(auth, severity="SEV0", title="a")
    factory.incident(auth, severity="SEV2", title="b")
    resolved, _ = factory.resolved_incident(auth, severity="SEV2", title="c")
    titles = lambda q: sorted(i["title"] for i in client.get(f"/api/v1/incidents{q}", headers=auth).get_json()["items"])  # noqa: E731
    assert titles("") == ["a", "b", "c"]
    assert titles("?severity=SEV2") == ["b", "c"]
    assert titles("?status=resolved") == ["c"]
    bad = client.get("/api/v1/incidents?severity=SEV9", headers=auth)
    assert bad.status_code == 422 and "severity" in bad.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "SEV1", "commander": "x@example.com"}, "title"),
        ({"title": "t", "severity": "SEV5", "commander": "x@example.com"}, "severity"),
        ({"title": "t", "severity": "SEV1"}, "commander"),
        ({"title": "t", "severity": "SEV1", "commander": "not-an-email"}, "commander"),
        ({"title": 42, "severity": "SEV1", "commander": "x@example.com"}, "title"),
        ({"title": "t", "severity": "SEV1", "commander": "x@example.com", "started_at": "yesterday"}, "started_at"),
        ({"title": "t", "severity": "SEV1", "commander": "x@example.com", "started_at": "2026-11-20T10:00:00"}, "started_at"),
        ({"title": "t", "severity": "SEV1", "commander": "x@example.com", "visibility": "secret"}, "visibility"),
        ({"title": "t", "severity": "SEV1", "commander": "x@example.com", "links": [{"title": "x", "url": "javascript:alert(1)"}]}, "links.0.url"),
        ({"title": "t", "severity": "SEV1", "commander": "x@example.com", "id": 7}, "id"),
        ({"title": "  ", "severity": "SEV1", "commander": "x@example.com"}, "title"),
    ],
)
def test_invalid_incidents_are_refused_naming_the_field(factory, auth, client, body, field):
    factory.person(email="x@example.com")
    response = client.post("/api/v1/incidents", json=body, headers=auth)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


def test_an_unknown_commander_is_named(auth, client):
    response = client.post("/api/v1/incidents", json={"title": "t", "severity": "SEV1", "commander": "ghost@example.com"}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_person"
    assert "ghost@example.com" in response.get_json()["error"]["fields"]["commander"]


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_json"),
        (b'{"title": "x"', "application/json", 400, "malformed_json"),
        (b"title=x", "application/x-www-form-urlencoded", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 422, "validation_error"),
        (b'"just a string"', "application/json", 422, "validation_error"),
    ],
)
def test_malformed_bodies_get_the_error_shape(auth, client, data, content_type, status, code):
    response = client.post("/api/v1/incidents", data=data, content_type=content_type, headers=auth)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_oversized_bodies_get_413(make_app):
    app = make_app(max_body_bytes=2048)
    from tests.conftest import Factory

    _, headers = Factory(app).user(admin=True)
    response = app.test_client().post(
        "/api/v1/incidents", json={"title": "x" * 5000, "severity": "SEV1", "commander": "a@example.com"}, headers=headers
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_unknown_routes_and_methods_answer_json(auth, client):
    missing = client.get("/api/v1/incidents/999999", headers=auth)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/nothing-here", headers=auth).get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/incidents", headers=auth)
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"


def test_update_and_invalid_updates(factory, auth, client):
    incident = factory.incident(auth)
    url = f"/api/v1/incidents/{incident['id']}"
    ok = client.patch(url, json={"title": "Checkout errors in EU", "severity": "SEV0", "status": "identified"}, headers=auth)
    assert ok.status_code == 200
    assert (ok.get_json()["title"], ok.get_json()["severity"], ok.get_json()["status"]) == ("Checkout errors in EU", "SEV0", "identified")
    for body, field in [({"status": "done"}, "status"), ({"resolved_at": "2026-13-45T00:00:00Z"}, "resolved_at"), ({"title": None}, "title")]:
        response = client.patch(url, json=body, headers=auth)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"]
    before = (datetime.fromisoformat(incident["started_at"]) - timedelta(hours=1)).isoformat()
    early = client.patch(url, json={"status": "resolved", "resolved_at": before}, headers=auth)
    assert early.status_code == 422 and "resolved_at" in early.get_json()["error"]["fields"]
    assert client.get(url, headers=auth).get_json()["title"] == "Checkout errors in EU"


def test_roles_validation(factory, auth, client):
    incident = factory.incident(auth)
    url = f"/api/v1/incidents/{incident['id']}/roles"
    factory.person(email="sme@example.com")
    bad_role = client.post(url, json={"email": "sme@example.com", "role": "hero"}, headers=auth)
    assert bad_role.status_code == 422 and "role" in bad_role.get_json()["error"]["fields"]
    unknown = client.post(url, json={"email": "nobody@example.com", "role": "scribe"}, headers=auth)
    assert unknown.status_code == 422 and "email" in unknown.get_json()["error"]["fields"]
    first = client.post(url, json={"email": "sme@example.com", "role": "subject_matter_expert"}, headers=auth)
    again = client.post(url, json={"email": "sme@example.com", "role": "subject_matter_expert"}, headers=auth)
    assert (first.status_code, again.status_code) == (201, 201)
    roles = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth).get_json()["roles"]
    assert [r["role"] for r in roles].count("subject_matter_expert") == 1


def test_timeline_accepts_one_event_or_a_list_and_deduplicates(factory, auth, client):
    incident = factory.incident(auth, started_at="2026-11-20T08:00:00Z")
    url = f"/api/v1/incidents/{incident['id']}/timeline"
    one = client.post(url, json={"occurred_at": "2026-11-20T08:05:00Z", "text": "Paged", "kind": "detection", "external_id": "pd-1"}, headers=auth)
    assert one.status_code == 201 and one.get_json()["created"] == 1
    batch = client.post(url, json=[
        {"occurred_at": "2026-11-20T08:20:00Z", "text": "Rolled back", "author": "dev@example.com", "external_id": "slack-9"},
        {"occurred_at": "2026-11-20T08:05:00Z", "text": "Paged again", "external_id": "pd-1"},
        {"occurred_at": "2026-11-20T08:10:00+01:00", "text": "Escalated"},
        {"occurred_at": "2026-11-20T08:30:00Z", "text": "dup in batch", "external_id": "slack-9"},
    ], headers=auth)
    assert batch.status_code == 201
    assert (batch.get_json()["created"], batch.get_json()["duplicates"]) == (2, 2)
    items = client.get(url, headers=auth).get_json()["items"]
    assert [e["text"] for e in items] == ["Escalated", "Paged", "Rolled back"]
    assert items[0]["occurred_at"] == "2026-11-20T07:10:00Z"
    assert items[1]["kind"] == "detection" and items[1]["external_id"] == "pd-1"
    bad = client.post(url, json=[{"occurred_at": "2026-11-20T08:05:00Z"}, {"text": "no time"}], headers=auth)
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"0.text", "1.occurred_at"}
    assert len(client.get(url, headers=auth).get_json()["items"]) == 3


def test_people_api(auth, client):
    created = client.post("/api/v1/people", json={"name": "Nia", "email": "Nia@Example.com", "timezone": "Europe/Paris"}, headers=auth)
    assert created.status_code == 201 and created.get_json()["email"] == "nia@example.com"
    dup = client.post("/api/v1/people", json={"name": "Nia 2", "email": "nia@example.com"}, headers=auth)
    assert dup.status_code == 409 and "email" in dup.get_json()["error"]["fields"]
    bad_zone = client.post("/api/v1/people", json={"name": "X", "email": "x@example.com", "timezone": "Nowhere/Town"}, headers=auth)
    assert bad_zone.status_code == 422 and "timezone" in bad_zone.get_json()["error"]["fields"]
    emails = [p["email"] for p in client.get("/api/v1/people", headers=auth).get_json()["items"]]
    assert "nia@example.com" in emails and "x@example.com" not in emails


def test_nul_characters_are_refused_by_field(factory, auth, client):
    factory.person(email="x@example.com")
    response = client.post("/api/v1/incidents", json={"title": "a\x00b", "severity": "SEV1", "commander": "x@example.com"}, headers=auth)
    assert response.status_code == 422
    assert "NUL" in response.get_json()["error"]["fields"]["title"]
    incident = factory.incident(auth)
    events = client.post(f"/api/v1/incidents/{incident['id']}/timeline", json=[{"occurred_at": "2026-11-20T08:00:00Z", "text": "ok"}, {"occurred_at": "2026-11-20T08:00:00Z", "text": "bad\x00"}], headers=auth)
    assert events.status_code == 422 and "1.text" in events.get_json()["error"]["fields"]


def test_titles_are_one_line(factory, auth, client):
    factory.person(email="x@example.com")
    response = client.post("/api/v1/incidents", json={"title": "Outage\nX-Evil: yes", "severity": "SEV1", "commander": "x@example.com"}, headers=auth)
    assert response.status_code == 422
    assert "one line" in response.get_json()["error"]["fields"]["title"]

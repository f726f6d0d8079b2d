"""The service catalogue's API, incidents naming services, and action items filed against one."""

from __future__ import annotations

from datetime import date, timedelta


def _service(client, auth, name, **extra):
    response = client.post("/api/v1/services", json={"name": name, **extra}, headers=auth)
    assert response.status_code == 201, response.json
    return response.json


def test_a_service_is_created_with_its_team_and_listed_by_name(client, auth):
    created = _service(client, auth, "checkout-api", team="payments", description="Takes the money")
    _service(client, auth, "audit-log")
    assert created["name"] == "checkout-api" and created["team"] == "payments"
    listed = client.get("/api/v1/services", headers=auth).json["items"]
    assert [(s["name"], s["team"]) for s in listed] == [("audit-log", None), ("checkout-api", "payments")]
    teams = client.get("/api/v1/teams", headers=auth).json["items"]
    assert teams == [{"id": teams[0]["id"], "name": "payments", "services": ["checkout-api"]}]


def test_a_service_name_is_taken_once(client, auth):
    _service(client, auth, "checkout-api")
    again = client.post("/api/v1/services", json={"name": "checkout-api"}, headers=auth)
    assert again.status_code == 409
    assert again.json["error"]["fields"] == {"name": "is already taken"}


def test_a_service_name_must_be_slug_like(client, auth):
    response = client.post("/api/v1/services", json={"name": "Checkout API"}, headers=auth)
    assert response.status_code == 422
    assert "name" in response.json["error"]["fields"]


def test_one_service_is_read_and_changed_by_name(client, auth):
    _service(client, auth, "checkout-api", team="payments")
    changed = client.patch("/api/v1/services/checkout-api", json={"team": "platform", "description": "New"}, headers=auth)
    assert changed.status_code == 200
    assert (changed.json["team"], changed.json["description"]) == ("platform", "New")
    cleared = client.patch("/api/v1/services/checkout-api", json={"team": None}, headers=auth)
    assert cleared.json["team"] is None
    assert client.get("/api/v1/services/checkout-api", headers=auth).json["description"] == "New"
    assert client.get("/api/v1/services/nothing-here", headers=auth).status_code == 404


def test_teams_are_created_once(client, auth):
    assert client.post("/api/v1/teams", json={"name": "payments"}, headers=auth).status_code == 201
    again = client.post("/api/v1/teams", json={"name": "payments"}, headers=auth)
    assert again.status_code == 409


def test_an_incident_names_the_services_it_touched(client, auth, factory):
    _service(client, auth, "checkout-api")
    _service(client, auth, "payments-db")
    commander = factory.person().email
    created = client.post("/api/v1/incidents", json={
        "title": "Checkout errors", "severity": "SEV1", "commander": commander,
        "services": ["payments-db", "checkout-api", "checkout-api"],
    }, headers=auth)
    assert created.status_code == 201, created.json
    assert created.json["services"] == ["checkout-api", "payments-db"]
    incident_id = created.json["id"]
    changed = client.patch(f"/api/v1/incidents/{incident_id}", json={"services": ["payments-db"]}, headers=auth)
    assert changed.json["services"] == ["payments-db"]
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=auth).json["services"] == ["payments-db"]
    listed = client.get("/api/v1/incidents", headers=auth).json["items"]
    assert [i["services"] for i in listed] == [["payments-db"]]


def test_unknown_services_are_refused_by_name(client, auth, factory):
    _service(client, auth, "checkout-api")
    commander = factory.person().email
    refused = client.post("/api/v1/incidents", json={
        "title": "Checkout errors", "severity": "SEV1", "commander": commander,
        "services": ["checkout-api", "ghost", "phantom"],
    }, headers=auth)
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["code"] == "unknown_service"
    assert error["fields"] == {"services": "unknown services: ghost, phantom"}
    assert client.get("/api/v1/incidents", headers=auth).json["items"] == []
    incident = factory.incident(auth, services=["checkout-api"])
    patched = client.patch(f"/api/v1/incidents/{incident['id']}", json={"services": ["ghost"]}, headers=auth)
    assert patched.status_code == 422 and "ghost" in patched.json["error"]["fields"]["services"]
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=auth).json["services"] == ["checkout-api"]


def test_an_action_item_is_filed_against_a_service(client, auth, factory):
    _service(client, auth, "checkout-api", team="payments")
    _, retro = factory.resolved_incident(auth)
    owner = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).json["participants"][0]
    due = (date.today() + timedelta(days=7)).isoformat()
    created = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", json={
        "title": "Add a retry budget", "owner": owner, "due_date": due, "service": "checkout-api",
    }, headers=auth)
    assert created.status_code == 201, created.json
    assert created.json["service"] == "checkout-api"
    item_id = created.json["id"]
    unknown = client.patch(f"/api/v1/action-items/{item_id}", json={"service": "ghost"}, headers=auth)
    assert unknown.status_code == 422 and unknown.json["error"]["fields"] == {"service": "unknown services: ghost"}
    cleared = client.patch(f"/api/v1/action-items/{item_id}", json={"service": None}, headers=auth)
    assert cleared.json["service"] is None
    history = client.get(f"/api/v1/action-items/{item_id}/history", headers=auth).json["items"]
    assert [(c["field"], c["old"], c["new"]) for c in history if c["field"] == "service"] == [("service", "checkout-api", None)]

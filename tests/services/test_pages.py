"""The pages around services: the catalogue page (who may do what), picking an incident's services on the
declare form and the incident page, an action item's service, and the board's service and team filters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.web import Page, csrf_token, page_csrf_token, sign_in

API_NAMES = re.compile(r"\b(unknown_service|validation_error|service_exists|String should|pattern|None)\b")


@pytest.fixture
def world(app, client, factory, admin):
    """A catalogue (checkout-api and payments-db of payments, search of discovery); Ivy commands a public and a
    private incident, Mo is a member, Otto an outsider."""
    auth = admin[1]
    for name, team in (("checkout-api", "payments"), ("payments-db", "payments"), ("search", "discovery")):
        assert client.post("/api/v1/services", json={"name": name, "team": team}, headers=auth).status_code == 201
    factory.user(email="ivy@example.com", name="Ivy Commander")
    factory.user(email="mo@example.com", name="Mo Member")
    factory.user(email="otto@example.com", name="Otto Outsider")
    started = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    public = factory.incident(auth, title="Checkout errors", commander="ivy@example.com", started_at=started,
                              services=["checkout-api"])
    private = factory.incident(auth, title="Leaked keys", commander="ivy@example.com", visibility="private",
                               started_at=started)
    return {"auth": auth, "public": public, "private": private}


def _post(web, path, data, page="/services"):
    token = csrf_token(web.get(page).get_data(as_text=True))
    return web.post(path, data={"csrf_token": token} | data)


# -- the catalogue page -------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [("get", "/services"), ("post", "/services"), ("post", "/services/import")])
def test_signed_out_visitors_sign_in_first(app, world, method, path):
    visitor = app.test_client()
    token = csrf_token(visitor.get("/login").get_data(as_text=True))
    response = visitor.get(path) if method == "get" else visitor.post(path, data={"csrf_token": token, "name": "x"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("email, may_import", [("mo@example.com", False), ("admin@example.com", True)])
def test_everyone_signed_in_reads_the_catalogue_and_admins_import(app, world, email, may_import):
    html = Page.of(sign_in(app, email).get("/services"))
    rows = html.find_all("tr")
    assert [r.attrs.get("id") for r in rows if r.attrs.get("id")] == ["service-checkout-api", "service-payments-db", "service-search"]
    assert html.by_id("service-checkout-api").text.startswith("checkout-api payments")
    assert bool(html.find_all("form", id="import-services")) is may_import
    assert html.find_all("form", id="add-service")


def test_a_member_adds_a_service_with_a_new_team(app, client, world):
    web = sign_in(app, "mo@example.com")
    response = _post(web, "/services", {"name": "ledger", "team": "finance", "description": "Books"})
    assert response.status_code == 302
    assert Page.of(web.get("/services")).shows("ledger is in the catalogue, owned by finance.")
    found = client.get("/api/v1/services/ledger", headers=world["auth"]).json
    assert (found["team"], found["description"]) == ("finance", "Books")


@pytest.mark.parametrize("form, field, note", [
    ({"name": "Ledger API"}, "name", "Use lower-case letters, digits"),
    ({"name": ""}, "name", "Fill this in."),
    ({"name": "ledger", "team": "Finance Team"}, "team", "Use lower-case letters, digits"),
])
def test_a_bad_service_is_refused_in_words_with_what_was_typed(app, client, world, form, field, note):
    web = sign_in(app, "mo@example.com")
    response = _post(web, "/services", form)
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id(f"{field}-error").text.startswith(note)
    assert html.find("input", id="name").attrs["value"] == form["name"]
    assert not API_NAMES.search(html.text)
    assert len(client.get("/api/v1/services", headers=world["auth"]).json["items"]) == 3


def test_a_taken_name_is_refused_in_words(app, world):
    response = _post(sign_in(app, "mo@example.com"), "/services", {"name": "search"})
    assert response.status_code == 422
    assert Page.of(response).by_id("refusal").text.startswith("A service with this name is already in the catalogue")


# -- incidents name their services --------------------------------------------------------------

def test_the_declare_form_picks_services_by_name(app, client, world):
    web = sign_in(app, "ivy@example.com")
    html = Page.of(web.get("/incidents/new"))
    boxes = [i.attrs["value"] for i in html.find_all("input", type="checkbox", name="services")]
    assert boxes == ["checkout-api", "payments-db", "search"]
    token = csrf_token(web.get("/incidents/new").get_data(as_text=True))
    response = web.post("/incidents/new", data={
        "csrf_token": token, "title": "Search is slow", "severity": "SEV2", "commander": "ivy@example.com",
        "visibility": "public", "description": "", "started_at": "", "services": ["search", "payments-db"],
    })
    assert response.status_code == 302
    incident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=world["auth"]).json["services"] == ["payments-db", "search"]
    shown = Page.of(web.get(f"/incidents/{incident_id}"))
    assert shown.by_id("incident-services").text == "Services payments-db , search"
    checked = [i.attrs["value"] for i in shown.find_all("input", name="services") if "checked" in i.attrs]
    assert checked == ["payments-db", "search"]


def test_a_service_gone_from_the_catalogue_is_refused_in_words_and_the_ticks_kept(app, client, world):
    web = sign_in(app, "ivy@example.com")
    incident_id = world["public"]["id"]
    page = f"/incidents/{incident_id}"
    response = _post(web, f"/incidents/{incident_id}/services", {"services": ["search", "ghost"]}, page=page)
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id("refusal").text.startswith("“ghost” is not in the service catalogue")
    assert "open" in html.by_id("services").attrs
    assert not API_NAMES.search(html.by_id("services").text)
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=world["auth"]).json["services"] == ["checkout-api"]
    saved = _post(web, f"/incidents/{incident_id}/services", {"services": ["search"]}, page=page)
    assert saved.status_code == 302
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=world["auth"]).json["services"] == ["search"]
    cleared = _post(web, f"/incidents/{incident_id}/services", {}, page=page)
    assert cleared.status_code == 302
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=world["auth"]).json["services"] == []


def test_an_outsider_cannot_name_a_private_incidents_services(app, client, world):
    private_id = world["private"]["id"]
    outsider = sign_in(app, "otto@example.com")
    token = page_csrf_token(outsider, "/")
    assert outsider.post(f"/incidents/{private_id}/services", data={"csrf_token": token, "services": ["search"]}).status_code == 404
    assert client.get(f"/api/v1/incidents/{private_id}", headers=world["auth"]).json["services"] == []


# -- action items filed against a service, and the board's filters --------------------------------

@pytest.fixture
def items(app, client, factory, world):
    """Three items of one retro: one of checkout-api (payments), one of search (discovery), one of none."""
    auth = world["auth"]
    factory.person(email="owen@example.com", name="Owen Owner")
    _incident, retro = factory.resolved_incident(auth, commander="owen@example.com")
    due = (date.today() + timedelta(days=7)).isoformat()
    made = {}
    for title, service in (("Retry budget", "checkout-api"), ("Index warm-up", "search"), ("Runbook", None)):
        body = {"title": title, "owner": "owen@example.com", "due_date": due} | ({"service": service} if service else {})
        response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", json=body, headers=auth)
        assert response.status_code == 201, response.json
        made[title] = response.json["id"]
    return made


@pytest.mark.parametrize("query, expected", [
    ("service=checkout-api", ["Retry budget"]),
    ("service=search", ["Index warm-up"]),
    ("team=payments", ["Retry budget"]),
    ("team=discovery", ["Index warm-up"]),
    ("team=nobody", []),
    ("", ["Retry budget", "Index warm-up", "Runbook"]),
])
def test_the_board_filters_by_service_and_by_team(app, items, query, expected):
    html = Page.of(sign_in(app, "admin@example.com").get(f"/action-items?{query}"))
    titles = [a.text for a in html.find_all("a") if a.text in items]
    assert sorted(titles) == sorted(expected)
    if query.startswith("team="):
        selected = [o.attrs["value"] for o in html.find_all("option") if "selected" in o.attrs and o.attrs["value"] in ("payments", "discovery")]
        assert selected == ([query.split("=")[1]] if query.split("=")[1] != "nobody" else [])


def test_an_items_service_is_changed_on_its_page(app, client, world, items):
    web = sign_in(app, "admin@example.com")
    item_id = items["Runbook"]
    page = f"/action-items/{item_id}"
    html = Page.of(web.get(page))
    assert html.by_id("item-service").text == "Service none"
    options = [o.attrs["value"] for o in html.find_all("option")]
    assert {"", "checkout-api", "payments-db", "search"} <= set(options)
    loaded = {f"loaded_{name}": html.find("input", name=f"loaded_{name}").attrs["value"]
              for name in ("title", "owner", "due_date", "status", "priority", "service")}
    current = {name[len("loaded_"):]: value for name, value in loaded.items()}
    token = csrf_token(web.get(page).get_data(as_text=True))
    saved = web.post(page, data={"csrf_token": token, **loaded, **current, "service": "payments-db"})
    assert saved.status_code == 302
    assert client.get(f"/api/v1/action-items/{item_id}", headers=world["auth"]).json["service"] == "payments-db"
    shown = Page.of(web.get(page))
    assert shown.by_id("item-service").text == "Service payments-db (payments)"
    loaded["loaded_service"] = "payments-db"
    cleared = web.post(page, data={"csrf_token": token, **loaded, **current, "service": ""})
    assert cleared.status_code == 302
    assert client.get(f"/api/v1/action-items/{item_id}", headers=world["auth"]).json["service"] is None

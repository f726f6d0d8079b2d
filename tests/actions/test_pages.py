"""The action-item pages: the list and one item with its history; private items stay hidden."""

from __future__ import annotations

import re

import pytest

from tests.actions.conftest import in_days
from tests.web import Page, page_csrf_token, sign_in


@pytest.fixture
def settings_overrides():
    return {}


def signed_in(app, user):
    return sign_in(app, user.email)


def test_pages_show_items_history_and_hide_private_ones(app, client, auth, admin, factory, make_item):
    item = make_item(title="Canary <script>", due_date=in_days(60))
    client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "in_progress"}, headers=auth)
    insider = factory.person(email="insider@example.com")
    _incident, retro = factory.resolved_incident(auth, visibility="private", commander=insider.email)
    secret = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                         json={"title": "Rotate leaked keys", "owner": insider.email, "due_date": in_days(2)},
                         headers=auth).get_json()
    web = signed_in(app, admin[0])
    listing = Page.of(web.get("/action-items"))
    assert "Canary <script>" in listing.text and "oversized" in listing.text and "Rotate leaked keys" in listing.text
    assert not any("Canary" in script.text for script in listing.find_all("script"))
    page = Page.of(web.get(f"/action-items/{item['id']}"))
    assert "split it into smaller items" in page.text
    assert "In progress" in page.text and "in_progress" not in page.text
    assert "Ada Admin" in page.texts("span", class_="person", title="admin@example.com")

    outsider, _headers = factory.user(email="outsider@example.com")
    other = signed_in(app, outsider)
    assert not Page.of(other.get("/action-items")).shows("Rotate leaked keys")
    assert other.get(f"/action-items/{secret['id']}").status_code == 404
    assert app.test_client().get("/action-items").status_code == 302


def test_the_list_narrows_to_one_retro_and_flags_overdue_items(app, client, auth, admin, factory, make_item):
    late = make_item(title="Late one", due_date=in_days(-2))
    _incident, other_retro = factory.resolved_incident(auth)
    owner = client.get(f"/api/v1/retrospectives/{other_retro['id']}", headers=auth).get_json()["participants"][0]
    client.post(f"/api/v1/retrospectives/{other_retro['id']}/action-items",
                json={"title": "Item of another retro", "owner": owner, "due_date": in_days(3)}, headers=auth)
    web = signed_in(app, admin[0])
    everything = Page.of(web.get("/action-items"))
    assert "Late one" in everything.text and "Item of another retro" in everything.text
    assert everything.texts("span").count("overdue") == 1
    mine = Page.of(web.get(f"/action-items?retrospective_id={late['retrospective_id']}"))
    assert "Late one" in mine.text and not mine.shows("Item of another retro")
    assert web.get("/action-items?retrospective_id=99999999999").status_code == 200


def test_the_history_says_who_what_and_when_in_words(app, client, auth, admin, factory, make_item):
    item = make_item(due_date=in_days(10))
    client.patch(f"/api/v1/action-items/{item['id']}", headers=auth,
                 json={"owner": "sam.second@example.com", "status": "wont_do", "priority": "high",
                       "due_date": in_days(90)})
    web = signed_in(app, admin[0])
    page = Page.of(web.get(f"/action-items/{item['id']}"))
    rows = page.by_id("history").text
    assert "Olivia Owner" in rows and "Sam Second" in rows and "sam.second@example.com" not in rows
    assert "Won't do" in rows and "High" in rows and "Medium" in rows
    assert "Oversized No Yes Automatic Hindsight" in rows  # a system change, by Hindsight, not a blank
    assert not re.search(r"\d{4}-\d\d-\d\d|T\d\d:\d\d|wont_do|\bhigh\b", rows)
    assert "Ada Admin" in page.texts("span", class_="person", title="admin@example.com")
    assert "Jira sync is off" in page.by_id("sync-words").text
    assert page.find_all("button", type="submit")  # the forms are there for someone who may see it
    assert not page.shows("POST /api/v1")  # the page no longer tells people to call the API


def test_the_list_names_people_and_incidents_in_words(app, client, auth, admin, factory, make_item):
    item = make_item(title="Listed one")
    client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "in_progress"}, headers=auth)
    web = signed_in(app, admin[0])
    page = Page.of(web.get("/action-items"))
    row = page.by_id("action-items").text
    assert "Olivia Owner" in row and "In progress" in row and "in_progress" not in row
    incident_cells = [td for td in page.find_all("td") if td.attrs.get("data-label") == "Incident"]
    assert incident_cells and incident_cells[0].text.startswith("#")
    assert page.find("link", rel="stylesheet", href="/static/items.css")
    # Jira is off here: there is nothing to sync, so no button, even for an admin.
    assert page.find_all("form", action="/action-items/sync-jira") == []


def test_with_jira_off_a_retry_says_so_in_words(app, client, auth, admin, make_item):
    item = make_item()
    web = signed_in(app, admin[0])
    token = page_csrf_token(web, f"/action-items/{item['id']}")
    assert web.post(f"/action-items/{item['id']}/sync", data={"csrf_token": token}).status_code == 302
    refused = Page.of(web.get(f"/action-items/{item['id']}")).find("div", class_="flash error").text
    assert refused == "Jira is not set up for this Hindsight, so there is nothing to send."
    answer = client.post(f"/api/v1/action-items/{item['id']}/sync", headers=auth)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "jira_off"


def test_a_due_date_too_far_away_is_saved_with_a_warning_in_words(app, admin, make_item):
    item = make_item(due_date=in_days(10))
    web = signed_in(app, admin[0])
    path = f"/action-items/{item['id']}"
    token = page_csrf_token(web, path)
    loaded = {f"loaded_{k}": item[k] for k in ("title", "owner", "due_date", "status", "priority")}
    response = web.post(path, data=loaded | {"csrf_token": token, "due_date": in_days(80)})
    assert response.status_code == 302
    page = Page.of(web.get(path))
    assert "Saved." in page.texts("div", class_="flash", role="status")
    warning = page.find("div", class_="flash warning").text
    assert "more than 4 weeks away" in warning and "POST" not in warning and not re.search(r"\d{4}-\d\d", warning)

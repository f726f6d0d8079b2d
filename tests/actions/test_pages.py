"""The action-item pages: the list and one item with its history; private items stay hidden."""

from __future__ import annotations

import pytest

from tests.actions.conftest import in_days
from tests.web import Page, sign_in


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

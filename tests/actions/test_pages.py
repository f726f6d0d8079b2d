"""The action-item pages: the list and one item with its history; private items stay hidden."""

from __future__ import annotations

import pytest

from tests.actions.conftest import in_days
from tests.web import sign_in


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
    listing = web.get("/action-items").get_data(as_text=True)
    assert "Canary &lt;script&gt;" in listing and "oversized" in listing and "Rotate leaked keys" in listing
    page = web.get(f"/action-items/{item['id']}").get_data(as_text=True)
    assert "split it into smaller items" in page
    assert "In progress" in page and "in_progress" not in page
    assert '<span class="person" title="admin@example.com">Ada Admin</span>' in page

    outsider, _headers = factory.user(email="outsider@example.com")
    other = signed_in(app, outsider)
    assert "Rotate leaked keys" not in other.get("/action-items").get_data(as_text=True)
    assert other.get(f"/action-items/{secret['id']}").status_code == 404
    assert app.test_client().get("/action-items").status_code == 302


def test_the_list_narrows_to_one_retro_and_flags_overdue_items(app, client, auth, admin, factory, make_item):
    late = make_item(title="Late one", due_date=in_days(-2))
    _incident, other_retro = factory.resolved_incident(auth)
    owner = client.get(f"/api/v1/retrospectives/{other_retro['id']}", headers=auth).get_json()["participants"][0]
    client.post(f"/api/v1/retrospectives/{other_retro['id']}/action-items",
                json={"title": "Item of another retro", "owner": owner, "due_date": in_days(3)}, headers=auth)
    web = signed_in(app, admin[0])
    everything = web.get("/action-items").get_data(as_text=True)
    assert "Late one" in everything and "Item of another retro" in everything
    assert everything.count(">overdue</span>") == 1
    mine = web.get(f"/action-items?retrospective_id={late['retrospective_id']}").get_data(as_text=True)
    assert "Late one" in mine and "Item of another retro" not in mine
    assert web.get("/action-items?retrospective_id=99999999999").status_code == 200

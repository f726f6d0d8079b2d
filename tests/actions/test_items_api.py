"""Action items through the API: the rules, lists, history, split and private incidents (Jira off)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.actions.conftest import OWNER, in_days


@pytest.fixture
def settings_overrides():
    return {"action_items": {"max_weeks": 4, "page_size": 2, "max_page_size": 3}}


@pytest.mark.parametrize("missing", ["owner", "due_date", "title"])
def test_owner_due_date_and_title_are_required(client, auth, retro, missing):
    body = {"title": "Fix alerting", "owner": OWNER, "due_date": in_days(5)}
    del body[missing]
    response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", json=body, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {missing: "is required"}


@pytest.mark.parametrize("field,value", [("owner", None), ("due_date", None), ("due_date", "next week"),
                                         ("status", "blocked"), ("priority", "urgent"), ("owner", "not-an-email")])
def test_bad_values_are_refused_by_field(client, auth, make_item, field, value):
    item = make_item()
    response = client.patch(f"/api/v1/action-items/{item['id']}", json={field: value}, headers=auth)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json() == item | {"warnings": []}


def test_unknown_owner_is_a_422_naming_owner(client, auth, retro):
    response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                           json={"title": "x", "owner": "nobody@example.com", "due_date": in_days(3)}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_person"
    assert "owner" in response.get_json()["error"]["fields"]


def test_create_answers_the_contract_shape_and_jira_is_off(make_item, retro):
    item = make_item(description="Canary on 1% of traffic", priority="high")
    assert {"id", "retrospective_id", "title", "description", "owner", "due_date", "status", "priority",
            "oversized", "jira_key", "sync_status", "updated_at"} <= set(item)
    assert item["retrospective_id"] == retro["id"]
    assert (item["owner"], item["status"], item["priority"], item["oversized"]) == (OWNER, "open", "high", False)
    assert item["jira_key"] is None and item["sync_status"] == "off"
    assert item["warnings"] == []


def test_a_past_due_date_is_accepted_with_a_warning(make_item):
    item = make_item(due_date=(date.today() - timedelta(days=3)).isoformat())
    assert item["oversized"] is False
    assert len(item["warnings"]) == 1 and "already past" in item["warnings"][0]


def test_a_due_date_beyond_max_weeks_is_oversized_with_a_warning(client, auth, make_item):
    item = make_item(due_date=in_days(7 * 4 + 1))
    assert item["oversized"] is True
    assert "more than 4 weeks" in item["warnings"][0]
    fine = make_item(due_date=in_days(7 * 4))
    assert fine["oversized"] is False and fine["warnings"] == []
    patched = client.patch(f"/api/v1/action-items/{item['id']}", json={"due_date": in_days(7)}, headers=auth).get_json()
    assert patched["oversized"] is False


def test_changes_are_kept_in_the_history_with_who_and_via(client, auth, make_item):
    item = make_item()
    response = client.patch(f"/api/v1/action-items/{item['id']}",
                            json={"status": "in_progress", "owner": "sam.second@example.com", "title": "Canary everywhere"},
                            headers=auth)
    assert response.status_code == 200
    assert response.get_json()["owner"] == "sam.second@example.com"
    history = client.get(f"/api/v1/action-items/{item['id']}/history", headers=auth).get_json()["items"]
    changes = {(c["field"], c["old"], c["new"], c["via"], c["by"]) for c in history}
    assert ("status", "open", "in_progress", "api", "admin@example.com") in changes
    assert ("owner", OWNER, "sam.second@example.com", "api", "admin@example.com") in changes
    assert ("title", "Add a canary for checkout", "Canary everywhere", "api", "admin@example.com") in changes
    assert history[0]["field"] == "created"
    # Sending the same values again changes nothing and records nothing.
    client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "in_progress"}, headers=auth)
    assert len(client.get(f"/api/v1/action-items/{item['id']}/history", headers=auth).get_json()["items"]) == len(history)


def test_record_change_is_there_for_other_domains(app, make_item):
    from app.actions.models import ActionItem
    from app.actions.service import history, record_change
    from app.db import get_session

    item_id = make_item()["id"]
    with app.app_context():
        session = get_session()
        item = session.get(ActionItem, item_id)
        record_change(session, item=item, field="snoozed_until", old=None, new=date(2030, 1, 2), via="system")
        session.commit()
        last = history(session, item=item)[-1]
        assert (last.field, last.old, last.new, last.via) == ("snoozed_until", None, "2030-01-02", "system")
        with pytest.raises(ValueError):
            record_change(session, item=item, field="x", old=1, new=2, via="email")


def test_list_filters_and_pages(client, auth, factory, make_item, retro):
    late = make_item(title="late", due_date=in_days(-2))
    soon = make_item(title="soon", due_date=in_days(2), owner="sam.second@example.com")
    done_late = make_item(title="done late", due_date=in_days(-1))
    client.patch(f"/api/v1/action-items/{done_late['id']}", json={"status": "done"}, headers=auth)
    other_incident, other_retro = factory.resolved_incident(auth)
    other = client.post(f"/api/v1/retrospectives/{other_retro['id']}/action-items",
                        json={"title": "other", "owner": OWNER, "due_date": in_days(30)}, headers=auth).get_json()

    def ids(**query):
        return [i["id"] for i in client.get("/api/v1/action-items", query_string=query | {"limit": 3}, headers=auth).get_json()["items"]]

    assert ids(overdue="true") == [late["id"]]
    assert ids(owner="sam.second@example.com") == [soon["id"]]
    assert ids(status="done") == [done_late["id"]]
    assert ids(retrospective_id=other_retro["id"]) == [other["id"]]
    assert ids(owner="nobody@example.com") == []

    # Pages of page_size (2), by due date, with the total; limit is capped at max_page_size (3).
    first = client.get("/api/v1/action-items", headers=auth).get_json()
    assert first["total"] == 4 and [i["id"] for i in first["items"]] == [late["id"], done_late["id"]]
    second = client.get("/api/v1/action-items", query_string={"cursor": first["next_cursor"]}, headers=auth).get_json()
    assert [i["id"] for i in second["items"]] == [soon["id"], other["id"]] and second["next_cursor"] is None
    assert len(client.get("/api/v1/action-items", query_string={"limit": 50}, headers=auth).get_json()["items"]) == 3
    bad = client.get("/api/v1/action-items", query_string={"cursor": "nonsense!"}, headers=auth)
    assert bad.status_code == 422 and "cursor" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/action-items", query_string={"overdue": "maybe"}, headers=auth).status_code == 422


def test_split_makes_linked_smaller_items(client, auth, make_item):
    big = make_item(due_date=in_days(60))
    assert big["oversized"]
    response = client.post(f"/api/v1/action-items/{big['id']}/split", json={
        "items": [{"title": "Part 1", "owner": OWNER, "due_date": in_days(7)},
                  {"title": "Part 2", "owner": "sam.second@example.com", "due_date": in_days(14)}],
        "close_original": True,
    }, headers=auth)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [i["parent_id"] for i in body["items"]] == [big["id"], big["id"]]
    assert [i["oversized"] for i in body["items"]] == [False, False]
    assert body["original"]["status"] == "wont_do"
    history = client.get(f"/api/v1/action-items/{big['id']}/history", headers=auth).get_json()["items"]
    split = [c for c in history if c["field"] == "split"]
    assert split and split[0]["new"] == ", ".join(f"#{i['id']}" for i in body["items"])
    bad = client.post(f"/api/v1/action-items/{big['id']}/split",
                      json={"items": [{"title": "x", "owner": "nobody@example.com", "due_date": in_days(3)}]}, headers=auth)
    assert bad.status_code == 422 and "items.0.owner" in bad.get_json()["error"]["fields"]
    assert client.post(f"/api/v1/action-items/{big['id']}/split", json={"items": []}, headers=auth).status_code == 422


def test_private_incident_items_are_invisible_to_outsiders(client, auth, factory):
    insider = factory.person(email="insider@example.com")
    outsider_user, outsider = factory.user(email="outsider@example.com")
    incident, retro = factory.resolved_incident(auth, visibility="private", commander=insider.email)
    url = f"/api/v1/retrospectives/{retro['id']}/action-items"
    # The owner must be able to see the incident: reminders never go to outsiders.
    refused = client.post(url, json={"title": "secret fix", "owner": "outsider@example.com", "due_date": in_days(5)}, headers=auth)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "owner_cannot_view"
    assert "owner" in refused.get_json()["error"]["fields"]
    item = client.post(url, json={"title": "secret fix", "owner": insider.email, "due_date": in_days(5)}, headers=auth).get_json()
    admin_owned = client.post(url, json={"title": "admin fix", "owner": "admin@example.com", "due_date": in_days(5)}, headers=auth)
    assert admin_owned.status_code == 201
    for path in (f"/api/v1/action-items/{item['id']}", f"/api/v1/action-items/{item['id']}/history"):
        assert client.get(path, headers=outsider).status_code == 404
    assert client.patch(f"/api/v1/action-items/{item['id']}", json={"title": "x"}, headers=outsider).status_code == 404
    assert client.post(url, json={"title": "x", "owner": "outsider@example.com", "due_date": in_days(5)}, headers=outsider).status_code == 404
    listed = client.get("/api/v1/action-items", headers=outsider).get_json()
    assert listed["items"] == [] and listed["total"] == 0
    assert client.get("/api/v1/action-items", headers=auth).get_json()["total"] == 2
    moved = client.patch(f"/api/v1/action-items/{item['id']}", json={"owner": "outsider@example.com"}, headers=auth)
    assert moved.status_code == 422 and moved.get_json()["error"]["code"] == "owner_cannot_view"


def test_unknown_items_and_retros_are_404(client, auth):
    assert client.get("/api/v1/action-items/999", headers=auth).status_code == 404
    assert client.post("/api/v1/retrospectives/999/action-items",
                       json={"title": "x", "owner": OWNER, "due_date": in_days(1)}, headers=auth).status_code == 404


def test_sync_endpoint_says_jira_is_off(client, auth):
    answer = client.post("/api/v1/sync/jira", headers=auth).get_json()
    assert answer == {"enabled": False, "created": 0, "updated": 0, "pulled": 0, "failed": 0}

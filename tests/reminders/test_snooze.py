"""Snoozes: an owner (or an admin) pauses an item's reminders until a date, with a reason kept in history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db import get_session
from tests.reminders.conftest import today


def run(client, auth, as_of=None):  # type: ignore[no-untyped-def]
    body = {"as_of": as_of.isoformat()} if as_of else {}
    response = client.post("/api/v1/reminders/run", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_owner_snoozes_an_item_until_a_date_and_it_is_kept_in_history(
    app, client, auth, factory, resolved, make_item, smtp_server
):
    from app.actions.models import ActionItemChange

    owner, owner_headers = factory.user(email="owner@example.com")
    _, retro = resolved()
    snoozed = make_item(retro["id"], owner.email, -1, title="Snoozed one")
    make_item(retro["id"], owner.email, 0, title="Still reminded")
    until = today() + timedelta(days=2)

    response = client.post(f"/api/v1/action-items/{snoozed}/snooze",
                           json={"until": until.isoformat(), "reason": "Waiting for the vendor patch"},
                           headers=owner_headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() | {"created_at": None} == {
        "action_item_id": snoozed, "until": until.isoformat(), "reason": "Waiting for the vendor patch",
        "by": "owner@example.com", "created_at": None,
    }

    assert run(client, auth)["items"] == 1
    assert "Snoozed one" not in smtp_server.messages()[-1].part("text/plain")
    assert run(client, auth, as_of=today() + timedelta(days=1))["items"] == 1
    assert run(client, auth, as_of=until)["items"] == 2
    assert "Snoozed one" in smtp_server.messages()[-1].part("text/plain")

    with app.app_context():
        (change,) = get_session().scalars(
            select(ActionItemChange).where(ActionItemChange.action_item_id == snoozed,
                                           ActionItemChange.field == "snoozed_until")
        ).all()
        assert change.new == until.isoformat() and change.old is None
        assert change.note == "Waiting for the vendor patch" and change.actor.email == "owner@example.com"


def test_ending_a_snooze_resumes_reminders_the_same_day(app, client, auth, factory, resolved, make_item,
                                                        smtp_server):
    _, retro = resolved()
    owner = factory.person()
    item = make_item(retro["id"], owner.email, 0)
    until = (today() + timedelta(days=5)).isoformat()
    assert client.post(f"/api/v1/action-items/{item}/snooze", json={"until": until, "reason": "On leave"},
                       headers=auth).status_code == 200
    assert run(client, auth)["emails_sent"] == 0
    assert client.delete(f"/api/v1/action-items/{item}/snooze", headers=auth).status_code == 204
    assert client.delete(f"/api/v1/action-items/{item}/snooze", headers=auth).status_code == 404
    assert run(client, auth)["emails_sent"] == 1


def test_snooze_refusals_name_the_problem(client, auth, factory, resolved, make_item, smtp_server):
    _, retro = resolved()
    owner, owner_headers = factory.user()
    _, other_headers = factory.user()
    item = make_item(retro["id"], owner.email, 0)
    done = make_item(retro["id"], owner.email, 0, status="done")
    url = f"/api/v1/action-items/{item}/snooze"
    good = {"until": (today() + timedelta(days=3)).isoformat(), "reason": "Blocked on review"}

    forbidden = client.post(url, json=good, headers=other_headers)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "not_owner"
    past = client.post(url, json=good | {"until": today().isoformat()}, headers=owner_headers)
    assert past.status_code == 422 and "until" in past.get_json()["error"]["fields"]
    far = client.post(url, json=good | {"until": (today() + timedelta(days=400)).isoformat()}, headers=owner_headers)
    assert far.status_code == 422 and "until" in far.get_json()["error"]["fields"]
    no_reason = client.post(url, json={"until": good["until"]}, headers=owner_headers)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    closed = client.post(f"/api/v1/action-items/{done}/snooze", json=good, headers=owner_headers)
    assert closed.status_code == 422 and closed.get_json()["error"]["code"] == "item_closed"
    assert client.post("/api/v1/action-items/999999/snooze", json=good, headers=auth).status_code == 404
    assert client.post(url, json=good, headers=owner_headers).status_code == 200


def test_a_private_incidents_item_is_not_found_by_outsiders(client, auth, factory, resolved, make_item):
    incident, retro = resolved(visibility="private")
    item = make_item(retro["id"], incident["commander"], 0)
    _, outsider = factory.user()
    good = {"until": (today() + timedelta(days=3)).isoformat(), "reason": "Blocked on review"}
    response = client.post(f"/api/v1/action-items/{item}/snooze", json=good, headers=outsider)
    assert response.status_code == 404
    assert client.post(f"/api/v1/action-items/{item}/snooze", json=good, headers=auth).status_code == 200

"""Completing a retro (only once its meeting happened and its action items have owners and due dates),
reopening it with a reason, the history both leave, and the meeting's highlights, through the API."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.actions.models import ActionItem
from app.retros.models import Retrospective
from app.retros.service import completion_refusals

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _patch(client, auth, retro_id, **body):
    return client.patch(f"/api/v1/retrospectives/{retro_id}", headers=auth, json=body)


def _past(minutes: int = 30) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def test_a_retro_whose_meeting_is_not_scheduled_is_not_completed(client, auth, factory):
    _incident, retro = factory.resolved_incident(auth)
    refused = _patch(client, auth, retro["id"], status="completed")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "retro_not_ready"
    assert [r["code"] for r in error["reasons"]] == ["meeting_not_scheduled"]
    assert "scheduled_for" in error["fields"]
    after = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert after["status"] == "pending" and after["history"] == []


def test_a_retro_whose_meeting_is_ahead_is_not_completed(client, auth, factory):
    _incident, retro = factory.resolved_incident(auth)
    ahead = datetime.now(UTC) + timedelta(hours=20)
    assert _patch(client, auth, retro["id"], scheduled_for=ahead.isoformat()).status_code == 200
    refused = _patch(client, auth, retro["id"], status="completed")
    assert refused.status_code == 422
    (reason,) = refused.get_json()["error"]["reasons"]
    assert reason["code"] == "meeting_ahead"
    assert datetime.fromisoformat(reason["scheduled_for"]) == ahead
    assert client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()["status"] == "scheduled"


def test_a_held_meeting_completes_the_retro_and_the_history_says_who(client, auth, factory):
    _incident, retro = factory.resolved_incident(auth)
    # The meeting time given with the status counts: it is applied first.
    done = _patch(client, auth, retro["id"], scheduled_for=_past(), status="completed")
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "completed"
    (entry,) = body["history"]
    assert (entry["previous"], entry["status"], entry["by"], entry["reason"]) == (
        "scheduled", "completed", "admin@example.com", "")


def test_reopening_needs_a_reason_and_is_kept(client, auth, factory):
    _incident, retro = factory.resolved_incident(auth)
    assert _patch(client, auth, retro["id"], scheduled_for=_past(), status="completed").status_code == 200
    refused = _patch(client, auth, retro["id"], status="scheduled")
    assert refused.status_code == 422
    assert "reason" in refused.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()["status"] == "completed"

    reopened = _patch(client, auth, retro["id"], status="scheduled", reason="We forgot the database follow-up.")
    assert reopened.status_code == 200, reopened.get_json()
    history = reopened.get_json()["history"]
    assert [(h["previous"], h["status"], h["reason"]) for h in history] == [
        ("scheduled", "completed", ""), ("completed", "scheduled", "We forgot the database follow-up.")]
    assert reopened.get_json()["status"] == "scheduled"


def test_moves_between_open_statuses_leave_no_history(client, auth, factory):
    _incident, retro = factory.resolved_incident(auth)
    assert _patch(client, auth, retro["id"], scheduled_for=_past()).status_code == 200
    moved = _patch(client, auth, retro["id"], status="scheduled")
    assert moved.status_code == 200 and moved.get_json()["history"] == []


def test_a_withdrawn_retro_is_not_completed(client, auth, factory):
    incident, retro = factory.resolved_incident(auth)
    assert client.patch(f"/api/v1/incidents/{incident['id']}", headers=auth,
                        json={"status": "investigating"}).status_code == 200
    refused = _patch(client, auth, retro["id"], status="completed")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "retro_withdrawn"


@pytest.mark.parametrize(("owner_id", "due", "status", "codes"), [
    (None, date(2026, 12, 20), "open", ["item_without_owner"]),
    (7, None, "in_progress", ["item_without_due_date"]),
    (None, None, "done", ["item_without_owner", "item_without_due_date"]),
    (None, None, "wont_do", []),  # an item dropped needs neither
    (7, date(2026, 12, 20), "open", []),
])
def test_every_action_item_kept_needs_an_owner_and_a_due_date(owner_id, due, status, codes):
    retro = Retrospective(id=1, scheduled_for=NOW - timedelta(hours=1))
    item = ActionItem(id=8, title="Fence the old primary", owner_id=owner_id, due_date=due, status=status)
    refusals = completion_refusals(retro, items=[item], now=NOW)
    assert [r.code for r in refusals] == codes
    assert all(r.field == "action_items" and r.item_id == 8 for r in refusals)


def test_the_meeting_time_is_compared_with_now():
    assert [r.code for r in completion_refusals(Retrospective(id=1, scheduled_for=NOW), items=[], now=NOW)] == []
    later = Retrospective(id=1, scheduled_for=NOW + timedelta(minutes=1))
    assert [r.code for r in completion_refusals(later, items=[], now=NOW)] == ["meeting_ahead"]


# -- highlights ---------------------------------------------------------------------------------

@pytest.fixture
def timeline(client, auth, factory):
    incident, retro = factory.resolved_incident(auth)
    added = client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth, json=[
        {"occurred_at": _past(90), "kind": "detection", "text": "Alert fired"},
        {"occurred_at": _past(60), "text": "Rolled back"},
    ])
    assert added.status_code == 201
    return incident, retro, [e["id"] for e in added.get_json()["items"]]


def _highlights(app, retro_id):
    from sqlalchemy import select

    from app.db import get_session
    from app.retros.models import RetroHighlight

    with app.app_context():
        return set(get_session().scalars(select(RetroHighlight.event_id).where(RetroHighlight.retrospective_id == retro_id)))


def test_an_event_is_highlighted_and_unhighlighted_idempotently(app, client, auth, timeline):
    _incident, retro, (alert, rollback) = timeline
    url = f"/api/v1/retrospectives/{retro['id']}/highlights/{rollback}"
    for _ in range(2):
        put = client.put(url, headers=auth)
        assert put.status_code == 200 and put.get_json() == {"event_id": rollback, "highlighted": True}
    assert _highlights(app, retro["id"]) == {rollback}
    for _ in range(2):
        assert client.delete(url, headers=auth).get_json() == {"event_id": rollback, "highlighted": False}
    assert _highlights(app, retro["id"]) == set()


def test_only_the_incidents_own_events_are_highlighted(app, client, auth, factory, timeline):
    _incident, retro, (alert, _rollback) = timeline
    other, _other_retro = factory.resolved_incident(auth)
    foreign = client.post(f"/api/v1/incidents/{other['id']}/timeline", headers=auth,
                          json={"occurred_at": _past(10), "text": "Elsewhere"}).get_json()["items"][0]["id"]
    assert client.put(f"/api/v1/retrospectives/{retro['id']}/highlights/{foreign}", headers=auth).status_code == 404
    assert _highlights(app, retro["id"]) == set()


def test_outsiders_may_not_highlight_a_private_incidents_events(app, client, auth, factory):
    _outsider, outsider_headers = factory.user(email="otto@example.com")
    incident, retro = factory.resolved_incident(auth, visibility="private")
    event = client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth,
                        json={"occurred_at": _past(10), "text": "Secret"}).get_json()["items"][0]["id"]
    url = f"/api/v1/retrospectives/{retro['id']}/highlights/{event}"
    assert client.put(url, headers=outsider_headers).status_code == 404
    assert client.delete(url, headers=outsider_headers).status_code == 404
    assert _highlights(app, retro["id"]) == set()


def test_a_completed_retros_highlights_stay_as_they_were(app, client, auth, timeline):
    _incident, retro, (alert, rollback) = timeline
    assert client.put(f"/api/v1/retrospectives/{retro['id']}/highlights/{alert}", headers=auth).status_code == 200
    assert _patch(client, auth, retro["id"], scheduled_for=_past(5), status="completed").status_code == 200
    refused = client.put(f"/api/v1/retrospectives/{retro['id']}/highlights/{rollback}", headers=auth)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "retro_completed"
    assert client.delete(f"/api/v1/retrospectives/{retro['id']}/highlights/{alert}", headers=auth).status_code == 422
    assert _highlights(app, retro["id"]) == {alert}

"""One "today" for every module (the organisation's), and metrics that hold in every retro state."""

from datetime import date, datetime, timedelta, timezone

import pytest

from app.core.dates import day_end, day_start, org_today
from app.db import get_session
from app.metrics.service import compute_metrics
from config import load_settings

UTC = timezone.utc


def test_org_today_at_23_30_utc_in_a_utc_plus_10_organisation():
    settings = load_settings(overrides={"timezone": "Australia/Brisbane"}, environ={})
    late_evening_utc = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert org_today(settings, late_evening_utc) == date(2026, 12, 2)  # 09:30 on the 2nd in Brisbane
    assert day_start(settings, date(2026, 12, 2)) == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert day_end(settings, date(2026, 12, 2)) == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    assert day_end(settings, date.max) == datetime.max.replace(tzinfo=UTC)


@pytest.fixture
def settings_overrides():
    # A zone whose date differs from UTC's whenever the test runs: UTC+14 from 10:00 UTC, else UTC-12.
    return {"timezone": "Etc/GMT-14" if datetime.now(UTC).hour >= 10 else "Etc/GMT+12"}


def test_metrics_and_the_action_item_list_agree_on_what_is_overdue(app, client, factory, auth):
    from app.extensions import settings as app_settings

    settings = app_settings(app)
    local_today = org_today(settings)
    utc_today = datetime.now(UTC).date()
    assert local_today != utc_today  # the fixture's zone makes the two days differ
    _, retro = factory.resolved_incident(auth)
    owner = factory.person()
    # Due on the earlier of the two days: overdue by exactly one of them.
    due = min(local_today, utc_today)
    created = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                          json={"title": "Page the database owner", "owner": owner.email, "due_date": due.isoformat()},
                          headers=auth)
    assert created.status_code == 201, created.get_json()
    overdue_locally = due < local_today
    listed = client.get("/api/v1/action-items?overdue=true", headers=auth).get_json()["items"]
    figures = client.get("/api/v1/metrics", headers=auth).get_json()["action_items"]
    assert len(listed) == int(overdue_locally)
    assert figures["overdue"] == int(overdue_locally)


def test_metrics_count_a_period_in_the_organisations_days(app, client, factory, auth):
    # Resolved at 23:30 UTC on 20 Nov: in a UTC+10 organisation that is 21 Nov.
    settings = load_settings(overrides={"timezone": "Australia/Brisbane"}, environ={})
    incident = factory.incident(auth, started_at="2026-11-20T20:00:00Z")
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "resolved", "resolved_at": "2026-11-20T23:30:00Z"},
                 headers=auth)
    with app.test_request_context():
        from app.auth.models import User

        viewer = get_session().query(User).filter(User.is_admin.is_(True)).first()
        on_the_21st = compute_metrics(get_session(), viewer=viewer, since=date(2026, 11, 21), until=date(2026, 11, 21),
                                      settings=settings)
        on_the_20th = compute_metrics(get_session(), viewer=viewer, since=date(2026, 11, 20), until=date(2026, 11, 20),
                                      settings=settings)
        in_utc = compute_metrics(get_session(), viewer=viewer, since=date(2026, 11, 20), until=date(2026, 11, 20),
                                 settings=load_settings(overrides={"timezone": "UTC"}, environ={}))
    assert (on_the_21st.incidents, on_the_20th.incidents, in_utc.incidents) == (1, 0, 1)


def _resolve(client, auth, incident_id, when="2026-11-20T15:30:00Z"):
    answer = client.patch(f"/api/v1/incidents/{incident_id}", json={"status": "resolved", "resolved_at": when},
                          headers=auth)
    assert answer.status_code == 200, answer.get_json()


def test_a_reopened_incident_keeps_a_scheduled_retro_flagged_and_metrics_answer(client, factory, auth):
    incident = factory.incident(auth, started_at="2026-11-20T13:00:00Z")
    _resolve(client, auth, incident["id"])
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    scheduled = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": "2026-11-23T10:00:00Z"},
                             headers=auth)
    assert scheduled.status_code == 200, scheduled.get_json()
    reopened = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "investigating"}, headers=auth)
    assert reopened.status_code == 200 and reopened.get_json()["resolved_at"] is None

    kept = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert kept["status"] == "scheduled" and kept["scheduled_for"].startswith("2026-11-23T10:00")
    assert any("reopened" in warning for warning in kept.get("warnings", []))
    for query in ("", "?since=2026-11-01", "?since=2026-11-01&until=2026-12-31"):
        answer = client.get(f"/api/v1/metrics{query}", headers=auth)
        assert answer.status_code == 200, (query, answer.get_json())
    figures = client.get("/api/v1/metrics", headers=auth).get_json()["retrospectives"]
    assert figures["by_status"]["scheduled"] == 1 and figures["median_hours_resolution_to_retro"] is None


def test_reopening_withdraws_an_unscheduled_retro_and_resolving_books_it_again(client, factory, auth):
    incident = factory.incident(auth, started_at="2026-11-20T13:00:00Z")
    _resolve(client, auth, incident["id"])
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "identified"}, headers=auth)
    withdrawn = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert withdrawn["id"] == retro["id"] and withdrawn["status"] == "withdrawn"
    refused = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": "2026-11-30T10:00:00Z"},
                           headers=auth)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "retro_withdrawn"
    figures = client.get("/api/v1/metrics", headers=auth).get_json()["retrospectives"]
    assert figures["by_status"]["withdrawn"] == 1 and figures["unscheduled_past_deadline"] == 0

    _resolve(client, auth, incident["id"], when="2026-11-27T15:30:00Z")
    rebooked = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert rebooked["id"] == retro["id"] and rebooked["status"] == "pending"
    assert rebooked["deadline_at"] > retro["deadline_at"]  # counted from the new resolution

"""GET /api/v1/metrics: figures that respect the period and private incidents."""

from datetime import datetime, timedelta, timezone

UTC = timezone.utc
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _resolved(factory, auth, client, **fields):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=2)).isoformat(), **fields)
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "resolved", "resolved_at": FRIDAY.isoformat()}, headers=auth)
    return incident, client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()


def test_metrics_count_retros_overrides_and_items(factory, auth, client):
    on_time, retro_a = _resolved(factory, auth, client)
    late, retro_b = _resolved(factory, auth, client)
    client.patch(f"/api/v1/retrospectives/{retro_a['id']}", json={"scheduled_for": "2026-11-23T10:00:00Z"}, headers=auth)
    client.patch(f"/api/v1/retrospectives/{retro_b['id']}", json={"scheduled_for": "2026-11-30T10:00:00Z", "override_reason": "team offsite"}, headers=auth)
    owner = on_time["commander"]
    for title, due in [("Add a write health check", "2026-11-01"), ("Fence the old primary automatically", "2099-01-01")]:
        created = client.post(f"/api/v1/retrospectives/{retro_a['id']}/action-items", json={"title": title, "owner": owner, "due_date": due}, headers=auth)
        assert created.status_code == 201, created.get_json()
    body = client.get("/api/v1/metrics", headers=auth).get_json()
    assert body["incidents"] == 2
    retros = body["retrospectives"]
    assert retros["total"] == 2 and retros["by_status"]["scheduled"] == 2
    assert (retros["scheduled_within_deadline"], retros["scheduled_past_deadline"]) == (1, 1)
    assert retros["overrides"] == {"retro_past_deadline": 1}
    assert retros["median_hours_resolution_to_retro"] == round(((66.5) + (234.5)) / 2, 1)
    items = body["action_items"]
    assert items["total"] == 2 and items["by_status"]["open"] == 2 and items["overdue"] == 1
    outside = client.get("/api/v1/metrics?since=2026-11-21", headers=auth).get_json()
    assert outside["incidents"] == 0 and outside["retrospectives"]["total"] == 0 and outside["action_items"]["total"] == 0


def test_private_incidents_count_only_for_those_who_see_them(factory, auth, client):
    _resolved(factory, auth, client, visibility="private")
    _resolved(factory, auth, client)
    _, outsider = factory.user(email="outsider@example.com")
    assert client.get("/api/v1/metrics", headers=auth).get_json()["incidents"] == 2
    assert client.get("/api/v1/metrics", headers=outsider).get_json()["incidents"] == 1


def test_bad_periods_are_named(auth, client):
    bad = client.get("/api/v1/metrics?since=last-week", headers=auth)
    assert bad.status_code == 422 and "since" in bad.get_json()["error"]["fields"]
    reversed_ = client.get("/api/v1/metrics?since=2026-11-10&until=2026-11-01", headers=auth)
    assert reversed_.status_code == 422

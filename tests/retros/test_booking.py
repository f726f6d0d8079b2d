"""The retro booking rules of DESIGN.md, through the API."""

from datetime import datetime, timedelta, timezone

import pytest

UTC = timezone.utc
# A Friday afternoon, safely in the past.
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def settings_overrides():
    return {"retro": {"facilitator_pool": ["fran@example.com", "gus@example.com", "hal@example.com"]}}


def resolve(client, auth, incident_id, resolved_at=FRIDAY):
    response = client.patch(f"/api/v1/incidents/{incident_id}", json={"status": "resolved", "resolved_at": resolved_at.isoformat()}, headers=auth)
    assert response.status_code == 200, response.get_json()
    return client.get(f"/api/v1/incidents/{incident_id}/retrospective", headers=auth).get_json()


def test_resolving_books_the_retro_with_deadline_target_and_slot(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    assert client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).status_code == 404
    retro = resolve(client, auth, incident["id"])
    assert retro["status"] == "pending"
    assert retro["deadline_at"] == "2026-11-25T15:30:00Z"  # Fri + 3 working days = Wed, same time
    assert retro["target_at"] == "2026-11-24T15:30:00Z"
    # Prep time of 4 h ends after working hours: the first slot is Monday 09:00.
    assert retro["suggested_slot"] == "2026-11-23T09:00:00Z"
    assert retro["template"] == "standard"
    assert retro["scheduled_for"] is None


def test_resolving_twice_keeps_one_retro(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    first = resolve(client, auth, incident["id"])
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "contained"}, headers=auth)
    second = resolve(client, auth, incident["id"], FRIDAY + timedelta(hours=1))
    assert second["id"] == first["id"]


def test_participants_are_everyone_who_held_a_role_handoffs_included(factory, auth, client):
    first = factory.person(email="first@example.com")
    incident = factory.incident(auth, commander=first.email, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    factory.person(email="second@example.com")
    factory.person(email="scribe@example.com")
    handoff = client.post(f"/api/v1/incidents/{incident['id']}/roles", json={"email": "second@example.com", "role": "commander"}, headers=auth)
    assert handoff.status_code == 201
    client.post(f"/api/v1/incidents/{incident['id']}/roles", json={"email": "scribe@example.com", "role": "scribe"}, headers=auth)
    current = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth).get_json()
    assert current["commander"] == "second@example.com"
    ended = [r for r in current["roles"] if r["email"] == "first@example.com"][0]
    assert ended["ended_at"] is not None and ended["handed_to"] == "second@example.com"
    retro = resolve(client, auth, incident["id"])
    assert set(retro["participants"]) == {"first@example.com", "second@example.com", "scribe@example.com"}


def test_facilitator_is_suggested_round_robin_skipping_responders(factory, auth, client):
    for email in ("fran@example.com", "gus@example.com", "hal@example.com"):
        factory.person(email=email)
    start = (FRIDAY - timedelta(hours=3)).isoformat()
    first = factory.incident(auth, commander="fran@example.com", started_at=start)
    assert resolve(client, auth, first["id"])["facilitator"] == "gus@example.com"
    second = factory.incident(auth, started_at=start)
    assert resolve(client, auth, second["id"])["facilitator"] == "hal@example.com"
    third = factory.incident(auth, started_at=start)
    assert resolve(client, auth, third["id"])["suggested_facilitator"] == "fran@example.com"


def test_scheduling_within_the_deadline(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    response = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": "2026-11-24T10:00:00+01:00"}, headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scheduled_for"] == "2026-11-24T09:00:00Z"
    assert body["status"] == "scheduled"


def test_scheduling_past_the_deadline_is_refused_unless_overridden(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    late = {"scheduled_for": "2026-11-26T10:00:00Z"}
    refused = client.patch(f"/api/v1/retrospectives/{retro['id']}", json=late, headers=auth)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "retro_past_deadline"
    assert "scheduled_for" in refused.get_json()["error"]["fields"]
    unchanged = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert unchanged["scheduled_for"] is None
    allowed = client.patch(
        f"/api/v1/retrospectives/{retro['id']}",
        json=late | {"override_reason": "The commander is on leave until Thursday"}, headers=auth,
    )
    assert allowed.status_code == 200
    override = allowed.get_json()["overrides"][0]
    assert override["rule"] == "retro_past_deadline"
    assert override["reason"] == "The commander is on leave until Thursday"
    assert override["by"] == "admin@example.com"


def test_spectators_are_refused_unless_overridden(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    factory.person(email="curious@example.com")
    everyone = [incident["commander"], "curious@example.com"]
    refused = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"participants": everyone}, headers=auth)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "spectator_not_allowed"
    assert "curious@example.com" in refused.get_json()["error"]["fields"]["participants"]
    allowed = client.patch(
        f"/api/v1/retrospectives/{retro['id']}",
        json={"participants": everyone, "override_reason": "Owns the payments service the fix touches"}, headers=auth,
    )
    assert allowed.status_code == 200
    assert allowed.get_json()["participants"] == everyone
    assert allowed.get_json()["overrides"][0]["rule"] == "spectator_not_allowed"


def test_facilitator_who_held_a_role_is_refused(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    refused = client.patch(
        f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": incident["commander"], "override_reason": "nobody else"}, headers=auth
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "facilitator_involved"
    outsider = factory.person(email="neutral@example.com")
    ok = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": outsider.email}, headers=auth)
    assert ok.status_code == 200 and ok.get_json()["facilitator"] == "neutral@example.com"


def test_sev0_warns_until_an_executive_sponsor_is_on_the_team(factory, auth, client):
    incident = factory.incident(auth, severity="SEV0", started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    assert any("Executive Sponsor" in w for w in retro["warnings"])
    sponsor = factory.person(email="vp@example.com")
    client.post(f"/api/v1/incidents/{incident['id']}/roles", json={"email": sponsor.email, "role": "executive_sponsor"}, headers=auth)
    retro = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert not any("Executive Sponsor" in w for w in retro["warnings"])
    assert "vp@example.com" in retro["participants"]


def test_sev2_gets_the_lightweight_template(factory, auth, client):
    incident = factory.incident(auth, severity="SEV2", started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    assert resolve(client, auth, incident["id"])["template"] == "lightweight"


def test_resolved_at_in_the_future_is_refused(factory, auth, client):
    incident = factory.incident(auth)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "resolved", "resolved_at": future}, headers=auth)
    assert response.status_code == 422
    assert "resolved_at" in response.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=auth).get_json()["status"] == "investigating"


def test_a_role_given_after_resolution_needs_a_reason_to_join_the_retro(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    factory.person(email="late@example.com")
    factory.person(email="analyst@example.com")
    roles = f"/api/v1/incidents/{incident['id']}/roles"
    refused = client.post(roles, json={"email": "late@example.com", "role": "subject_matter_expert"}, headers=auth)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "spectator_not_allowed"
    assert "late@example.com" not in client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()["participants"]
    # A role held during the incident, recorded late, is a fact: no reason needed.
    during = client.post(roles, json={"email": "analyst@example.com", "role": "data_analyst", "started_at": (FRIDAY - timedelta(hours=1)).isoformat()}, headers=auth)
    assert during.status_code == 201
    allowed = client.post(roles, json={"email": "late@example.com", "role": "subject_matter_expert", "override_reason": "owns the fix"}, headers=auth)
    assert allowed.status_code == 201
    after = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert {"late@example.com", "analyst@example.com"} <= set(after["participants"])
    assert [(o["rule"], o["reason"]) for o in after["overrides"]] == [("spectator_not_allowed", "owns the fix")]


def test_the_facilitator_may_not_take_a_role(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(hours=3)).isoformat())
    retro = resolve(client, auth, incident["id"])
    factory.person(email="neutral@example.com")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "neutral@example.com"}, headers=auth)
    refused = client.post(f"/api/v1/incidents/{incident['id']}/roles", json={"email": "neutral@example.com", "role": "scribe", "override_reason": "short-handed"}, headers=auth)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "facilitator_involved"


def test_correcting_the_resolution_time_moves_a_pending_retro(factory, auth, client):
    incident = factory.incident(auth, started_at=(FRIDAY - timedelta(days=2)).isoformat())
    retro = resolve(client, auth, incident["id"])
    assert retro["deadline_at"] == "2026-11-25T15:30:00Z"
    earlier = (FRIDAY - timedelta(days=1)).isoformat()  # Thursday
    assert client.patch(f"/api/v1/incidents/{incident['id']}", json={"resolved_at": earlier}, headers=auth).status_code == 200
    moved = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert moved["deadline_at"] == "2026-11-24T15:30:00Z"

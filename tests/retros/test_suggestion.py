"""Who the service suggests as facilitator when the configured pool is empty or all of it responded."""

from datetime import datetime, timezone

import pytest

FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)


@pytest.fixture
def settings_overrides():
    return {"retro": {"facilitator_pool": []}}


def _retro(client, auth, retro_id):
    return client.get(f"/api/v1/retrospectives/{retro_id}", headers=auth).get_json()


def test_with_no_pool_someone_who_held_no_role_is_suggested_but_not_assigned(factory, auth, client):
    factory.person(name="Rita Responder", email="rita@example.com")
    factory.person(name="Bea Bystander", email="bea@example.com")
    incident, retro = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="rita@example.com")
    # Ada Admin (the caller) and Bea held no role; Ada comes first by name.
    assert retro["suggested_facilitator"] == "admin@example.com"
    assert retro["suggested_facilitator"] not in [role["email"] for role in incident["roles"]]
    # Only the pool volunteered: the fallback is asked, not assigned.
    assert retro["facilitator"] is None


def test_the_fallback_spreads_the_work_to_whoever_facilitated_least(factory, auth, client):
    factory.person(name="Aaron Often", email="aaron@example.com")
    factory.person(name="Zoe Seldom", email="zoe@example.com")
    factory.person(name="Rita Responder", email="rita@example.com")
    _incident, first = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="rita@example.com")
    for person in ("aaron@example.com", "admin@example.com"):
        # Aaron and Ada facilitated a retro each; Zoe none.
        _other, retro = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="rita@example.com")
        patched = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": person}, headers=auth)
        assert patched.status_code == 200, patched.get_json()
    assert first["suggested_facilitator"] == "aaron@example.com"  # before anyone facilitated: by name
    _incident, latest = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="rita@example.com")
    assert latest["suggested_facilitator"] == "zoe@example.com"


def test_the_fallback_never_suggests_a_responder(factory, auth, client):
    factory.person(name="Aaron Aardvark", email="aaron@example.com")
    incident, retro = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="aaron@example.com")
    # Aaron comes first by name but commanded the incident: Ada is suggested instead.
    assert retro["suggested_facilitator"] == "admin@example.com"
    # And the suggestion may really be set: the facilitator_involved rule does not refuse it.
    patched = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": retro["suggested_facilitator"]},
                           headers=auth)
    assert patched.status_code == 200, patched.get_json()


def test_nobody_is_suggested_when_everyone_held_a_role(factory, auth, client):
    factory.person(name="Rita Responder", email="rita@example.com")
    incident = factory.incident(auth, commander="rita@example.com", started_at="2026-11-20T13:30:00Z")
    added = client.post(f"/api/v1/incidents/{incident['id']}/roles", json={"email": "admin@example.com", "role": "scribe"},
                        headers=auth)
    assert added.status_code == 201, added.get_json()
    resolved = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "resolved",
                                                                         "resolved_at": FRIDAY.isoformat()}, headers=auth)
    assert resolved.status_code == 200, resolved.get_json()
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert retro["suggested_facilitator"] is None and retro["facilitator"] is None


@pytest.mark.parametrize("settings_overrides", [{"retro": {"facilitator_pool": ["pat@example.com"]}}])
def test_when_the_whole_pool_responded_the_fallback_is_used(factory, auth, client, settings_overrides):
    factory.person(name="Pat Pool", email="pat@example.com")
    incident, retro = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="pat@example.com")
    assert retro["suggested_facilitator"] == "admin@example.com"
    assert retro["facilitator"] is None


@pytest.mark.parametrize("settings_overrides", [{"retro": {"facilitator_pool": ["pat@example.com"]}}])
def test_the_pool_comes_first_and_is_assigned(factory, auth, client, settings_overrides):
    factory.person(name="Aaron Aardvark", email="aaron@example.com")
    incident, retro = factory.resolved_incident(auth, resolved_at=FRIDAY, commander="aaron@example.com")
    assert retro["suggested_facilitator"] == "pat@example.com" and retro["facilitator"] == "pat@example.com"

"""What the retro page tests share: a private incident resolved on a known Friday, in Berlin's time zone."""

from datetime import UTC, datetime

import pytest

# A Friday afternoon in the past: the deadline is Wednesday 2026-11-25 15:30 UTC, 16:30 in Berlin.
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def settings_overrides():
    return {"timezone": "Europe/Berlin", "retro": {"ground_rules": ["Blame <b>systems</b>, not people."]}}


@pytest.fixture
def team(app, factory, admin):
    """A private incident resolved on FRIDAY: responder commands it, fran facilitates, outsider is neither."""
    factory.user(email="responder@example.com", name="Rita Responder")
    factory.user(email="fran@example.com", name="Fran Facilitator")
    factory.user(email="outsider@example.com", name="Otto Outsider")
    incident, retro = factory.resolved_incident(
        admin[1], resolved_at=FRIDAY, visibility="private", commander="responder@example.com",
        title="Payments <script>alert(1)</script> outage",
    )
    web = app.test_client()
    assert web.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "fran@example.com"},
                     headers=admin[1]).status_code == 200
    return incident, retro

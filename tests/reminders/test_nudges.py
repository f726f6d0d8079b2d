"""Retro nudges: unscheduled a day after resolution, then past the deadline; each sent once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.db import job_session
from app.reminders.jobs import nudge_job


def nudge(app) -> dict:  # type: ignore[no-untyped-def]
    with job_session(app) as session:
        return nudge_job(session, settings=app.extensions["hindsight.settings"])


def ago(**delta: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def test_a_retro_unscheduled_a_day_after_resolution_nudges_its_commander_once(app, factory, auth, smtp_server):
    incident, retro = factory.resolved_incident(auth, resolved_at=ago(hours=25), title="Checkout errors")
    factory.resolved_incident(auth, resolved_at=ago(hours=2))  # too recent

    assert nudge(app) == {"queued": 1}
    assert nudge(app) == {"queued": 0}

    (mail,) = smtp_server.messages()
    assert mail.to == incident["commander"]
    assert "Schedule the retrospective" in mail.subject and "Checkout errors" in mail.subject
    for body in (mail.part("text/plain"), mail.part("text/html")):
        assert f"http://hindsight.test/incidents/{incident['id']}" in body
        assert "not scheduled yet" in body


def test_a_scheduled_retro_is_not_nudged(app, client, factory, auth, smtp_server):
    _, retro = factory.resolved_incident(auth, resolved_at=ago(hours=30))
    response = client.patch(f"/api/v1/retrospectives/{retro['id']}",
                            json={"scheduled_for": retro["deadline_at"]}, headers=auth)
    assert response.status_code == 200, response.get_json()
    smtp_server.clear()
    assert nudge(app) == {"queued": 0}
    assert smtp_server.messages() == []


def test_past_deadline_sev0_nudges_commander_and_executive_sponsor_once(app, client, factory, auth, smtp_server):
    sponsor = factory.person(name="Erin Exec", email="erin@example.com")
    incident = factory.incident(auth, severity="SEV0", title="Total outage", started_at=ago(days=12).isoformat())
    added = client.post(f"/api/v1/incidents/{incident['id']}/roles",
                        json={"email": sponsor.email, "role": "executive_sponsor"}, headers=auth)
    assert added.status_code == 201
    resolved = client.patch(f"/api/v1/incidents/{incident['id']}",
                            json={"status": "resolved", "resolved_at": ago(days=10).isoformat()}, headers=auth)
    assert resolved.status_code == 200, resolved.get_json()
    sev1, _ = factory.resolved_incident(auth, resolved_at=ago(days=10), severity="SEV1")

    assert nudge(app) == {"queued": 3}
    assert nudge(app) == {"queued": 0}

    past = [m for m in smtp_server.messages() if "past its deadline" in m.subject]
    assert sorted(m.to for m in past) == sorted([incident["commander"], sponsor.email, sev1["commander"]])
    # Past the deadline, the "unscheduled" nudge would say less than this one: only this one goes.
    assert len(smtp_server.messages()) == 3
    assert "has not been scheduled" in past[0].part("text/plain")


def test_private_incident_nudges_leave_the_title_out(app, factory, auth, smtp_server):
    factory.resolved_incident(auth, resolved_at=ago(hours=25), title="Payroll leak", visibility="private")
    assert nudge(app) == {"queued": 1}
    (mail,) = smtp_server.messages()
    assert "private incident" in mail.subject
    assert "Payroll" not in mail.subject + mail.part("text/plain") + mail.part("text/html")


def test_smtp_refusing_a_nudge_keeps_it_for_the_outbox_job(app, factory, auth, smtp_server):
    from app.reminders.jobs import outbox_job

    factory.resolved_incident(auth, resolved_at=ago(hours=25))
    smtp_server.refuse("421 4.7.0 Too busy")
    assert nudge(app) == {"queued": 1}
    assert nudge(app) == {"queued": 0}
    assert smtp_server.messages() == []
    smtp_server.accept()
    with job_session(app) as session:
        assert outbox_job(session, settings=app.extensions["hindsight.settings"]) == {"sent": 1, "failed": 0}
    assert len(smtp_server.messages()) == 1

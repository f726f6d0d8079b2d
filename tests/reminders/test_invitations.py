"""Calendar invitations: scheduling, rescheduling and cancelling a retro email an iCalendar event."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar
from sqlalchemy import select

from app.db import get_session, job_session, utcnow
from app.reminders.jobs import outbox_job
from app.reminders.mail import deliver_outbox
from app.reminders.models import EmailOutbox
from tests.reminders.conftest import GROUND_RULES


def scheduled_retro(client, auth, factory, **incident):  # type: ignore[no-untyped-def]
    """A resolved incident with two responders and a facilitator from the pool; its retro."""
    commander = factory.person(name="Maya Chen", email="maya@example.com")
    scribe = factory.person(name="Dev Patel", email="dev@example.com")
    resolved_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    started_at = (resolved_at - timedelta(hours=2)).isoformat()
    created = factory.incident(auth, commander=commander.email, started_at=started_at, **incident)
    added = client.post(f"/api/v1/incidents/{created['id']}/roles", json={"email": scribe.email, "role": "scribe"},
                        headers=auth)
    assert added.status_code == 201, added.get_json()
    response = client.patch(f"/api/v1/incidents/{created['id']}",
                            json={"status": "resolved", "resolved_at": resolved_at.isoformat()}, headers=auth)
    assert response.status_code == 200, response.get_json()
    retro = client.get(f"/api/v1/incidents/{created['id']}/retrospective", headers=auth).get_json()
    assert retro["facilitator"] == "facilitator@example.com"
    assert sorted(retro["participants"]) == ["dev@example.com", "maya@example.com"]
    return created, retro


def schedule(client, auth, retro, when):  # type: ignore[no-untyped-def]
    body = {"scheduled_for": when.isoformat() if when else None}
    response = client.patch(f"/api/v1/retrospectives/{retro['id']}", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def calendar_of(mail) -> icalendar.Calendar:  # type: ignore[no-untyped-def]
    inline = icalendar.Calendar.from_ical(mail.part("text/calendar"))
    attached = icalendar.Calendar.from_ical(mail.attachment("invite.ics"))
    assert inline.to_ical() == attached.to_ical()
    return inline


def event_of(calendar: icalendar.Calendar) -> icalendar.Event:
    (event,) = calendar.walk("VEVENT")
    return event


def attendees(event: icalendar.Event) -> list[str]:
    found = event.get("attendee")
    found = found if isinstance(found, list) else [found]
    return sorted(str(a).removeprefix("mailto:") for a in found)


def slot(retro) -> datetime:  # type: ignore[no-untyped-def]
    deadline = datetime.fromisoformat(retro["deadline_at"])
    return (deadline - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)


def test_scheduling_invites_participants_and_facilitator_with_an_ics(client, auth, factory, smtp_server):
    incident, retro = scheduled_retro(client, auth, factory, title="Checkout errors")
    when = slot(retro)
    schedule(client, auth, retro, when)

    mails = smtp_server.messages()
    assert sorted(m.to for m in mails) == ["dev@example.com", "facilitator@example.com", "maya@example.com"]
    for mail in mails:
        calendar = calendar_of(mail)
        assert str(calendar["method"]) == "REQUEST"
        assert 'method="REQUEST"' in mail.message.get_body(("calendar",))["Content-Type"] or \
            "method=REQUEST" in str(mail.message)
        event = event_of(calendar)
        assert str(event["uid"]) == f"retro-{retro['id']}@hindsight.test"
        assert int(event["sequence"]) == 0
        assert event.decoded("dtstart") == when
        assert event.decoded("dtstart").tzinfo is not None and event.decoded("dtstart").utcoffset() == timedelta(0)
        assert event.decoded("dtend") == when + timedelta(minutes=60)
        assert str(event["organizer"]) == "mailto:hindsight@example.com"
        assert attendees(event) == ["dev@example.com", "facilitator@example.com", "maya@example.com"]
        assert "dtstamp" in event
        doc_url = f"http://hindsight.test/retrospectives/{retro['id']}/document"
        text, html = mail.part("text/plain"), mail.part("text/html")
        assert doc_url in text and doc_url in html
        for rule in GROUND_RULES:
            assert rule in text
        assert "Everyone &lt;speaks&gt; &amp; listens." in html
        assert "Checkout errors" in mail.subject
    facilitator_mail = smtp_server.messages(to="facilitator@example.com")[0]
    assert "CHAIR" in facilitator_mail.part("text/calendar")


def test_rescheduling_updates_the_same_event_and_unscheduling_cancels_it(client, auth, factory, smtp_server):
    _, retro = scheduled_retro(client, auth, factory)
    first = slot(retro)
    schedule(client, auth, retro, first)
    schedule(client, auth, retro, first - timedelta(hours=1))
    schedule(client, auth, retro, None)

    mails = smtp_server.messages(to="maya@example.com")
    assert len(mails) == 3
    events = [event_of(calendar_of(m)) for m in mails]
    methods = [str(calendar_of(m)["method"]) for m in mails]
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert len({str(e["uid"]) for e in events}) == 1
    assert [int(e["sequence"]) for e in events] == [0, 1, 2]
    assert events[1].decoded("dtstart") == first - timedelta(hours=1)
    assert str(events[2]["status"]) == "CANCELLED"
    assert mails[1].subject.startswith("Updated:") and mails[2].subject.startswith("Cancelled:")
    assert "cancelled" in mails[2].part("text/plain")

    # Scheduling again after a cancel continues the same event with a higher SEQUENCE.
    schedule(client, auth, retro, first)
    again = event_of(calendar_of(smtp_server.messages(to="maya@example.com")[-1]))
    assert int(again["sequence"]) == 3 and str(again["uid"]) == str(events[0]["uid"])


def test_someone_dropped_from_the_retro_gets_a_cancel_on_the_next_change(client, auth, factory, smtp_server):
    _, retro = scheduled_retro(client, auth, factory)
    when = slot(retro)
    schedule(client, auth, retro, when)
    changed = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={
        "participants": ["maya@example.com"], "scheduled_for": (when - timedelta(hours=1)).isoformat(),
    }, headers=auth)
    assert changed.status_code == 200, changed.get_json()
    last_to_dev = smtp_server.messages(to="dev@example.com")[-1]
    calendar = calendar_of(last_to_dev)
    assert str(calendar["method"]) == "CANCEL"
    assert attendees(event_of(calendar)) == ["dev@example.com"]
    assert "no longer invited" in last_to_dev.part("text/plain")
    update = event_of(calendar_of(smtp_server.messages(to="maya@example.com")[-1]))
    assert attendees(update) == ["facilitator@example.com", "maya@example.com"]


def test_private_incident_invitations_leave_the_title_out(client, auth, factory, smtp_server):
    _, retro = scheduled_retro(client, auth, factory, title="Payroll leak", visibility="private")
    schedule(client, auth, retro, slot(retro))
    for mail in smtp_server.messages():
        assert "Payroll" not in mail.subject + mail.part("text/plain") + mail.part("text/html") + \
            mail.part("text/calendar")


def test_smtp_refusing_loses_no_invitation_and_sends_each_once_after_recovery(
    app, client, auth, factory, smtp_server
):
    _, retro = scheduled_retro(client, auth, factory)
    smtp_server.refuse("450 4.2.1 Mailbox unavailable, try again")
    when = slot(retro)
    saved = schedule(client, auth, retro, when)
    assert datetime.fromisoformat(saved["scheduled_for"]) == when
    assert smtp_server.messages() == []

    failures = client.get("/api/v1/reminders/failures", headers=auth).get_json()["items"]
    assert sorted(f["recipient"] for f in failures) == ["dev@example.com", "facilitator@example.com",
                                                         "maya@example.com"]
    assert all(f["kind"] == "invitation" and "450" in f["last_error"] and f["attempts"] == 1 for f in failures)

    smtp_server.accept()
    settings = app.extensions["hindsight.settings"]
    with job_session(app) as session:
        assert outbox_job(session, settings=settings) == {"sent": 3, "failed": 0}
    with job_session(app) as session:
        assert outbox_job(session, settings=settings) == {"sent": 0, "failed": 0}
    assert sorted(m.to for m in smtp_server.messages()) == ["dev@example.com", "facilitator@example.com",
                                                            "maya@example.com"]
    assert client.get("/api/v1/reminders/failures", headers=auth).get_json()["items"] == []
    with app.app_context():
        rows = get_session().scalars(select(EmailOutbox)).all()
        assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}


def test_failed_invitations_wait_for_their_retry_time(make_app, settings_overrides, auth, factory, smtp_server):
    patient = make_app(**(settings_overrides | {"reminders": {"retry_minutes": 30}}))
    client = patient.test_client()
    _, retro = scheduled_retro(client, auth, factory)
    smtp_server.stop()
    schedule(client, auth, retro, slot(retro))
    smtp_server.start()
    settings = patient.extensions["hindsight.settings"]

    with job_session(patient) as session:
        assert deliver_outbox(session, settings=settings) == {"sent": 0, "failed": 0}
    assert smtp_server.messages() == []
    with job_session(patient) as session:
        later = utcnow() + timedelta(minutes=31)
        assert deliver_outbox(session, settings=settings, now=later) == {"sent": 3, "failed": 0}
    with patient.app_context():
        rows = get_session().scalars(select(EmailOutbox)).all()
        assert [(r.status, r.attempts) for r in rows] == [("sent", 2)] * 3


def test_a_call_without_changes_sends_nothing_and_a_new_attendee_gets_the_update(
    app, client, auth, factory, smtp_server
):
    from app.reminders.service import retro_schedule_changed
    from app.retros.models import RetroParticipant, Retrospective

    _, retro = scheduled_retro(client, auth, factory)
    when = slot(retro)
    schedule(client, auth, retro, when)
    newcomer = factory.person(name="Sam Okafor", email="sam@example.com")
    settings = app.extensions["hindsight.settings"]
    with job_session(app) as session:
        found = session.get(Retrospective, retro["id"])
        retro_schedule_changed(session, retro=found, previous=found.scheduled_for, settings=settings)
    assert len(smtp_server.messages()) == 3
    with job_session(app) as session:
        found = session.get(Retrospective, retro["id"])
        found.participants.append(RetroParticipant(person_id=newcomer.id))
        session.flush()
        session.expire(found, ["participants"])
        retro_schedule_changed(session, retro=found, previous=found.scheduled_for, settings=settings)
    (invite,) = smtp_server.messages(to="sam@example.com")
    event = event_of(calendar_of(invite))
    assert int(event["sequence"]) == 1 and event.decoded("dtstart") == when
    assert "sam@example.com" in attendees(event)
    assert len(smtp_server.messages()) == 3 + 4

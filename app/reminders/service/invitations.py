"""Calendar invitations: a scheduled retro's meeting, updated or cancelled as it changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.people.models import Person
from app.reminders.mail import deliver_after_commit, enqueue, incident_label, mail_enabled, render
from app.reminders.models import RetroCalendarEvent
from app.retros.models import Retrospective
from config import Settings
from integrations.calendar import Attendee, Meeting, build_ics


def calendar_uid(retro_id: int, settings: Settings) -> str:
    """The retro's calendar UID: stable for its whole life, unique across Hindsight installs."""
    host = urlsplit(settings.base_url).hostname or "hindsight"
    return f"retro-{retro_id}@{host}"


def _locked_event(session: Session, retro: Retrospective, settings: Settings) -> RetroCalendarEvent:
    session.execute(
        dialect_insert(session, RetroCalendarEvent)
        .values(retrospective_id=retro.id, uid=calendar_uid(retro.id, settings), sequence=-1, attendees="",
                cancelled=False, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    # Two changes at once must not send the same SEQUENCE: the row lock orders them.
    return session.scalars(
        select(RetroCalendarEvent).where(RetroCalendarEvent.retrospective_id == retro.id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _attendees(retro: Retrospective) -> list[tuple[Person, bool]]:
    people: dict[str, tuple[Person, bool]] = {}
    if retro.facilitator is not None:
        people[retro.facilitator.email] = (retro.facilitator, True)
    for participant in retro.participants:
        people.setdefault(participant.person.email, (participant.person, False))
    return list(people.values())


def retro_schedule_changed(
    session: Session, *, retro: Retrospective, previous: datetime | None, settings: Settings
) -> None:
    """Queue the invitation, update or cancellation of the retro's meeting, sent after commit.

    Scheduling sends METHOD:REQUEST to the participants and the facilitator; every later
    call for the same retro (reschedule, or changed attendees) sends the same UID with a
    higher SEQUENCE, people no longer invited get METHOD:CANCEL, and unscheduling cancels.
    A call that changes neither the time nor the attendees sends nothing, so it may also be
    called after any change of participants or facilitator.
    """
    if not mail_enabled(settings):
        return
    event = _locked_event(session, retro, settings)
    invited = event.attendee_emails
    attendees = _attendees(retro)
    if retro.scheduled_for is None:
        start = event.starts_at or previous
        if event.sequence < 0 or event.cancelled or start is None:
            return
        event.sequence += 1
        event.cancelled = True
        by_email = {person.email: (person, chair) for person, chair in attendees}
        cancelled = [by_email.get(email, (None, False)) for email in invited]
        ids = _queue_invitations(session, retro=retro, settings=settings, event=event, method="CANCEL",
                                 start=start, recipients=invited, attendees=cancelled)
        event.attendees = ""
    else:
        emails = [person.email for person, _chair in attendees]
        if (event.sequence >= 0 and not event.cancelled and event.starts_at == retro.scheduled_for
                and emails == invited):
            return  # nothing a calendar shows has changed
        event.sequence += 1
        event.cancelled = False
        ids = _queue_invitations(session, retro=retro, settings=settings, event=event, method="REQUEST",
                                 start=retro.scheduled_for, recipients=emails,
                                 attendees=[(p, c) for p, c in attendees])
        removed = [email for email in invited if email not in emails]
        if removed:
            ids += _queue_invitations(session, retro=retro, settings=settings, event=event, method="CANCEL",
                                      start=retro.scheduled_for, recipients=removed,
                                      attendees=[(None, False)] * len(removed), removed=True)
        event.attendees = "\n".join(emails)
        event.starts_at = retro.scheduled_for
    session.flush()
    deliver_after_commit(session, ids)


def _queue_invitations(
    session: Session, *, retro: Retrospective, settings: Settings, event: RetroCalendarEvent, method: str,
    start: datetime | None, recipients: list[str], attendees: list[tuple[Person | None, bool]],
    removed: bool = False,
) -> list[int]:
    assert start is not None
    incident = retro.incident
    base = settings.base_url
    minutes = settings.retro.meeting_minutes
    end = start + timedelta(minutes=minutes)
    label = incident_label(incident)
    doc_url = f"{base}/retrospectives/{retro.id}/document"
    rules = list(settings.retro.ground_rules)
    meeting = _meeting(retro, settings, uid=event.uid, sequence=event.sequence, start=start,
                       recipients=recipients, attendees=attendees)
    ics = build_ics(meeting, method="CANCEL" if method == "CANCEL" else "REQUEST", stamp=utcnow())
    if method == "CANCEL":
        kind, verb = "cancellation", "Cancelled"
    elif event.sequence > 0:
        kind, verb = "invitation", "Updated"
    else:
        kind, verb = "invitation", "Invitation"
    facilitator = retro.facilitator
    context = {
        "label": label, "start": start, "end": end, "minutes": minutes, "doc_url": doc_url,
        "incident_url": f"{base}/incidents/{incident.id}", "ground_rules": rules,
        "facilitator": facilitator.name if facilitator else None, "method": method, "update": event.sequence > 0,
        "removed": removed,
    }
    ids = []
    for email, (person, _chair) in zip(recipients, attendees):
        row = enqueue(
            session, kind=kind, recipient=email,
            subject=f"{verb}: Retrospective of {label} on {start.astimezone(settings.zone):%a %d %b %Y %H:%M %Z}",
            text=render("invitation.txt", name=person.name if person else None, **context),
            html=render("invitation.html", name=person.name if person else None, **context),
            ics=ics, ics_method=method, retrospective_id=retro.id,
        )
        session.flush()
        ids.append(row.id)
    return ids


def _meeting(
    retro: Retrospective, settings: Settings, *, uid: str, sequence: int, start: datetime,
    recipients: list[str], attendees: list[tuple[Person | None, bool]],
) -> Meeting:
    """The retro's meeting as its invitations describe it."""
    label = incident_label(retro.incident)
    doc_url = f"{settings.base_url}/retrospectives/{retro.id}/document"
    rules = list(settings.retro.ground_rules)
    description = "\n".join(
        [f"Retrospective of {label}.", f"Read the document before the meeting: {doc_url}"]
        + (["", "Ground rules:"] + [f"- {rule}" for rule in rules] if rules else [])
    )
    meeting_attendees = tuple(
        Attendee(email=email, name=person.name if person else "", chair=chair)
        for email, (person, chair) in zip(recipients, attendees)
    )
    return Meeting(
        uid=uid, sequence=sequence, start=start, end=start + timedelta(minutes=settings.retro.meeting_minutes),
        summary=f"Retrospective: {label}", organizer_email=settings.mail_from, organizer_name="Hindsight",
        attendees=meeting_attendees, description=description, url=doc_url,
    )


def invitation_ics(session: Session, *, retro: Retrospective, settings: Settings) -> str:
    """The scheduled retro's invitation as the mail sends it (same UID, the SEQUENCE sent last), to download.

    Reading only: with mail off no invitation was ever sent, so the SEQUENCE is 0.
    """
    assert retro.scheduled_for is not None
    event = session.scalar(select(RetroCalendarEvent).where(RetroCalendarEvent.retrospective_id == retro.id))
    attendees = _attendees(retro)
    meeting = _meeting(
        retro, settings, uid=event.uid if event else calendar_uid(retro.id, settings),
        sequence=max(event.sequence, 0) if event else 0, start=retro.scheduled_for,
        recipients=[person.email for person, _chair in attendees], attendees=[(p, c) for p, c in attendees],
    )
    return build_ics(meeting, method="REQUEST", stamp=utcnow())

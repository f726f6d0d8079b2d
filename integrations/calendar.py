"""iCalendar (RFC 5545/5546) meeting invitations, built with the `icalendar` library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Hindsight//Retrospectives//EN"


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    chair: bool = False


@dataclass(frozen=True)
class Meeting:
    """One event as it stands now. `sequence` must grow on every change sent for the same `uid`."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    organizer_email: str
    attendees: tuple[Attendee, ...] = field(default_factory=tuple)
    description: str = ""
    url: str = ""
    organizer_name: str = ""


def build_ics(meeting: Meeting, *, method: Literal["REQUEST", "CANCEL"], stamp: datetime) -> str:
    """The VCALENDAR text: METHOD:REQUEST for an invitation or update, METHOD:CANCEL to cancel."""
    for moment in (meeting.start, meeting.end, stamp):
        if moment.tzinfo is None:
            raise ValueError("calendar times must be timezone-aware")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp.astimezone(timezone.utc))
    event.add("dtstart", meeting.start.astimezone(timezone.utc))
    event.add("dtend", meeting.end.astimezone(timezone.utc))
    event.add("summary", meeting.summary)
    if meeting.description:
        event.add("description", meeting.description)
    if meeting.url:
        event.add("url", meeting.url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{meeting.organizer_email}")
    if meeting.organizer_name:
        organizer.params["cn"] = vText(meeting.organizer_name)
    event.add("organizer", organizer)
    for attendee in meeting.attendees:
        address = vCalAddress(f"mailto:{attendee.email}")
        if attendee.name:
            address.params["cn"] = vText(attendee.name)
        address.params["role"] = vText("CHAIR" if attendee.chair else "REQ-PARTICIPANT")
        address.params["partstat"] = vText("NEEDS-ACTION")
        if method == "REQUEST":
            address.params["rsvp"] = vText("TRUE")
        event.add("attendee", address)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")

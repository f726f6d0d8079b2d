"""What each chat notice says: people by name, times in words in the organisation's zone, a link.

A private incident's notices say only that something happened to "a private incident's retro"
and link to its page, which shows more only to those who may see it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem
from app.core.dates import org_now
from app.core.templating import when_text
from app.documents.models import DocumentSection
from app.people.models import Person
from app.retros.models import Retrospective
from config import Settings
from integrations.chat import ChatMessage

DIGEST_LINES = 20
_MARKUP = re.compile(r"[*_`#>\[\]]+")


def when(settings: Settings, moment: datetime | None) -> str:
    """A moment in words in the organisation's zone: "Fri 4 Dec, 15:52"."""
    return when_text(moment, zone=settings.zone, current_year=org_now(settings).year)


def name_of(person: Person | None) -> str:
    return (person.name or person.email) if person is not None else ""


def incident_url(settings: Settings, retro: Retrospective) -> str:
    return f"{settings.base_url}/incidents/{retro.incident_id}#retrospective"


def schedule_url(settings: Settings, retro: Retrospective) -> str:
    return f"{settings.base_url}/retrospectives/{retro.id}/schedule"


def document_url(settings: Settings, retro: Retrospective) -> str:
    return f"{settings.base_url}/retrospectives/{retro.id}/document"


def _label(retro: Retrospective) -> str:
    incident = retro.incident
    return f"#{incident.id} {incident.title} ({incident.severity})"


def _private(what: str, link: str) -> ChatMessage:
    return ChatMessage(headline=f"A private incident's retro {what}.", link=link)


def booked(settings: Settings, retro: Retrospective, *, recurrence: str = "") -> ChatMessage:
    """A retro was booked: its deadline, the suggested time and facilitator, a link to schedule it, and
    `recurrence` ("This may have happened before: …", naming public incidents only) when there is one."""
    link = schedule_url(settings, retro)
    if retro.incident.is_private:
        return _private("was booked", link)
    lines = [f"It must be held by {when(settings, retro.deadline_at)}."]
    if retro.suggested_slot is not None:
        lines.append(f"Suggested time: {when(settings, retro.suggested_slot)}.")
    if retro.facilitator is not None:
        lines.append(f"Facilitator: {name_of(retro.facilitator)}.")
    elif retro.suggested_facilitator is not None:
        lines.append(f"Suggested facilitator: {name_of(retro.suggested_facilitator)} (not asked yet).")
    else:
        lines.append("No facilitator yet.")
    if recurrence:
        lines.append(f"{recurrence}.")
    return ChatMessage(headline=f"Retro booked for {_label(retro)}", lines=tuple(lines), link=link,
                       link_label="Schedule the retro")


def scheduled(settings: Settings, retro: Retrospective, *, moved: bool) -> ChatMessage:
    """A retro was scheduled (or moved): its time, facilitator and participants."""
    link = incident_url(settings, retro)
    if retro.incident.is_private:
        return _private("was moved" if moved else "was scheduled", link)
    verb = "moved to" if moved else "scheduled for"
    lines = [f"Facilitator: {name_of(retro.facilitator)}." if retro.facilitator else "No facilitator yet."]
    names = [name_of(p.person) for p in retro.participants]
    if names:
        lines.append(f"Participants: {', '.join(names)}.")
    return ChatMessage(headline=f"Retro for {_label(retro)} {verb} {when(settings, retro.scheduled_for)}",
                       lines=tuple(lines), link=link, link_label="Open the incident")


def at_risk(settings: Settings, retro: Retrospective) -> ChatMessage:
    """An unscheduled retro whose deadline is a working day away."""
    link = schedule_url(settings, retro)
    if retro.incident.is_private:
        return _private("is due within a working day and is not scheduled yet", link)
    return ChatMessage(
        headline=f"Retro for {_label(retro)} is not scheduled yet",
        lines=(f"It must be held by {when(settings, retro.deadline_at)}, a working day from now.",),
        link=link, link_label="Schedule the retro",
    )


def completed(session: Session, settings: Settings, retro: Retrospective) -> ChatMessage:
    """A retro was held: its summary's first line, how many action items, a link to the document."""
    link = document_url(settings, retro)
    if retro.incident.is_private:
        return _private("was completed", link)
    count = session.scalar(select(func.count(ActionItem.id)).where(ActionItem.retrospective_id == retro.id)) or 0
    lines = []
    summary = _summary_line(session, retro)
    if summary:
        lines.append(summary)
    lines.append(f"{count} action item{'s' if count != 1 else ''}." if count else "No action items.")
    return ChatMessage(headline=f"Retro completed for {_label(retro)}", lines=tuple(lines), link=link,
                       link_label="Read the document")


def digest(settings: Settings, items: Sequence[ActionItem]) -> ChatMessage:
    """The week's overdue action items, by owner name and due date; a private incident's items by link only."""
    link = f"{settings.base_url}/action-items?overdue=true"
    count = len(items)
    lines = []
    for item in items[:DIGEST_LINES]:
        item_link = f"{settings.base_url}/action-items/{item.id}"
        if item.retrospective.incident.is_private:
            lines.append(f"An action item of a private incident: {item_link}")
            continue
        lines.append(f"#{item.id} {item.title}: {name_of(item.owner)}, due {when_text(item.due_date, zone=settings.zone, current_year=org_now(settings).year)}")
    if count > DIGEST_LINES:
        lines.append(f"… and {count - DIGEST_LINES} more.")
    noun = "action item is" if count == 1 else "action items are"
    return ChatMessage(headline=f"This week, {count} {noun} overdue", lines=tuple(lines), link=link,
                       link_label="See the overdue items")


def test(settings: Settings) -> ChatMessage:
    """What "Send a test message" sends."""
    return ChatMessage(headline="Hindsight can post here.",
                       lines=("This is a test message from the Integrations page.",),
                       link=f"{settings.base_url}/admin/integrations", link_label="Open Integrations")


def _summary_line(session: Session, retro: Retrospective) -> str:
    body = session.scalar(
        select(DocumentSection.body).where(DocumentSection.retrospective_id == retro.id,
                                           DocumentSection.key == "summary")
    )
    for line in (body or "").splitlines():
        text = _MARKUP.sub("", line).strip(" -")
        if text:
            return text if len(text) <= 280 else text[:279] + "…"
    return ""

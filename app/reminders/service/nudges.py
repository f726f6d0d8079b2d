"""Retro nudges: a retro left unscheduled, or past its deadline, is pointed out once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.incidents.models import Incident, Severity
from app.people.models import Person
from app.reminders.mail import deliver_after_commit, incident_label, mail_enabled, render
from app.reminders.models import EmailOutbox
from app.retros.models import RetroStatus, Retrospective
from config import Settings


def _queue_once(session: Session, *, key: str, kind: str, person: Person, retro: Retrospective,
                subject: str, template: str, context: dict[str, Any]) -> int | None:
    """Queue an email unless one with `key` exists (the unique key decides, even across processes)."""
    context = context | {"name": person.name}
    insert = (
        dialect_insert(session, EmailOutbox)
        .values(
            kind=kind, dedupe_key=key, retrospective_id=retro.id, recipient=person.email, subject=subject,
            text_body=render(f"{template}.txt", **context), html_body=render(f"{template}.html", **context),
            status="pending", attempts=0, next_attempt_at=utcnow(), created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(EmailOutbox.id)
    )
    return session.scalar(insert)


def send_nudges(session: Session, *, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Queue the retro nudges that are due: unscheduled after `retro.nudge_after_hours`, and past deadline.

    Each goes once; they are sent right after the caller commits.
    """
    if not mail_enabled(settings):
        return {"queued": 0}
    now = now or utcnow()
    base = settings.base_url
    ids: list[int] = []

    def nudged(kind: str) -> Any:
        return exists().where(EmailOutbox.retrospective_id == Retrospective.id, EmailOutbox.kind == kind)

    unscheduled = session.scalars(
        select(Retrospective).join(Retrospective.incident).where(
            Retrospective.status == RetroStatus.PENDING, Retrospective.scheduled_for.is_(None),
            Incident.resolved_at <= now - timedelta(hours=settings.retro.nudge_after_hours),
            Retrospective.deadline_at > now, ~nudged("nudge_unscheduled"),
        )
    ).unique().all()
    for retro in unscheduled:
        commander = retro.incident.commander
        if commander is None:
            continue
        context = _nudge_context(retro, settings, base)
        queued = _queue_once(
            session, key=f"nudge:unscheduled:{retro.id}", kind="nudge_unscheduled", person=commander,
            retro=retro, subject=f"Schedule the retrospective of {context['incident_label']}",
            template="nudge_unscheduled", context=context,
        )
        if queued:
            ids.append(queued)

    overdue = session.scalars(
        select(Retrospective).join(Retrospective.incident).where(
            Retrospective.status.in_((RetroStatus.PENDING, RetroStatus.SCHEDULED)), Retrospective.deadline_at < now,
            or_(Retrospective.scheduled_for.is_(None), Retrospective.scheduled_for > Retrospective.deadline_at),
            ~nudged("nudge_deadline"),
        )
    ).unique().all()
    for retro in overdue:
        incident = retro.incident
        recipients = [incident.commander]
        if incident.severity == Severity.SEV0:
            recipients.append(incident.current_holder("executive_sponsor"))
        context = _nudge_context(retro, settings, base)
        seen: set[int] = set()
        for person in recipients:
            if person is None or person.id in seen:
                continue
            seen.add(person.id)
            queued = _queue_once(
                session, key=f"nudge:deadline:{retro.id}:{person.id}", kind="nudge_deadline", person=person,
                retro=retro, subject=f"The retrospective of {context['incident_label']} is past its deadline",
                template="nudge_deadline", context=context,
            )
            if queued:
                ids.append(queued)
    deliver_after_commit(session, ids)
    return {"queued": len(ids)}


def _nudge_context(retro: Retrospective, settings: Settings, base: str) -> dict[str, Any]:
    incident = retro.incident
    return {
        "incident_label": incident_label(incident),
        "severity": incident.severity,
        "resolved_at": incident.resolved_at,
        "deadline_at": retro.deadline_at,
        "scheduled_for": retro.scheduled_for,
        "suggested_slot": retro.suggested_slot,
        "incident_url": f"{base}/incidents/{incident.id}",
    }

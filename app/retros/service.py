"""Retrospectives: booked on resolution, scheduled within the deadline, with the right people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import NotFound, RuleViolation, ValidationFailed
from app.incidents.access import visible_incidents
from app.incidents.models import Incident
from app.people.models import Person
from app.people.service import get_or_create_person, require_people, require_person
from app.retros.calendar import WorkCalendar
from app.retros.models import (
    RetroOverride, RetroParticipant, RetroStatus, RetroStatusChange, Retrospective,
)
from app.retros.schemas import RetroUpdate
from config import Settings


def book_retrospective(session: Session, *, incident: Incident, settings: Settings) -> Retrospective:
    """Create the incident's retrospective if it has none: deadline, target, slot, people.

    A retro withdrawn when the incident was reopened is booked again, from the new resolution.
    """
    existing = incident.retrospective
    if existing is not None:
        if existing.status == RetroStatus.WITHDRAWN:
            existing.status = RetroStatus.PENDING
            rebook_if_pending(session, incident=incident, settings=settings)
        return existing
    assert incident.resolved_at is not None
    calendar = WorkCalendar.from_settings(settings)
    resolved_at = incident.resolved_at
    deadline_at = calendar.add_working_days(resolved_at, settings.retro.deadline_days)
    target_at = calendar.add_working_days(resolved_at, settings.retro.target_days)
    facilitator = suggest_facilitator(session, incident=incident, settings=settings)
    retro = Retrospective(
        incident=incident,
        deadline_at=deadline_at,
        target_at=target_at,
        suggested_slot=suggest_slot(calendar, settings, resolved_at=resolved_at, target_at=target_at),
        template=settings.documents.template_by_severity.get(incident.severity, "standard"),
        status=RetroStatus.PENDING,
        participants=[RetroParticipant(person=person) for person in incident.responders()],
        suggested_facilitator=facilitator,
        # Only the pool volunteered: anyone else suggested is asked first, not assigned.
        facilitator=facilitator if facilitator is not None and facilitator.email in settings.retro.facilitator_pool else None,
    )
    session.add(retro)
    session.flush()
    return retro


def rebook_if_pending(session: Session, *, incident: Incident, settings: Settings) -> None:
    """A corrected resolution time moves the deadline, target and suggested slot of a retro not yet scheduled."""
    retro = incident.retrospective
    if retro is None or retro.status != RetroStatus.PENDING or incident.resolved_at is None:
        return
    calendar = WorkCalendar.from_settings(settings)
    retro.deadline_at = calendar.add_working_days(incident.resolved_at, settings.retro.deadline_days)
    retro.target_at = calendar.add_working_days(incident.resolved_at, settings.retro.target_days)
    retro.suggested_slot = suggest_slot(calendar, settings, resolved_at=incident.resolved_at, target_at=retro.target_at)
    session.flush()


def withdraw_if_unscheduled(session: Session, *, incident: Incident) -> None:
    """A reopened incident's retro that was not scheduled yet is withdrawn (its deadline no longer holds).

    A scheduled retro is kept, with a warning: the meeting stands unless its facilitator moves it.
    """
    retro = incident.retrospective
    if retro is not None and retro.status == RetroStatus.PENDING:
        retro.status = RetroStatus.WITHDRAWN
        session.flush()


def suggest_slot(calendar: WorkCalendar, settings: Settings, *, resolved_at, target_at):  # type: ignore[no-untyped-def]
    """The earliest working-hours slot after the prep time that starts before the target."""
    minutes = settings.retro.meeting_minutes
    prepared = calendar.earliest_slot(resolved_at + timedelta(hours=settings.retro.prep_hours), minutes)
    if prepared <= target_at:
        return prepared
    # Too little time before the target to prepare fully: the earliest slot still beats none.
    return calendar.earliest_slot(resolved_at, minutes)


def suggest_facilitator(session: Session, *, incident: Incident, settings: Settings) -> Person | None:
    """Who should facilitate: the next person of the pool, round-robin after the last one suggested,
    who held no role; failing that (no pool, or all of it responded), anyone who held no role, the one
    who has facilitated fewest retros first, then by name, so the suggestion is stable and spread out.
    """
    pool = settings.retro.facilitator_pool
    responders = {person.email for person in incident.responders()}
    if pool:
        last = session.scalar(
            select(Person.email)
            .join(Retrospective, Retrospective.suggested_facilitator_id == Person.id)
            .where(Person.email.in_(pool))
            .order_by(Retrospective.id.desc())
            .limit(1)
        )
        start = pool.index(last) + 1 if last in pool else 0
        for offset in range(len(pool)):
            email = pool[(start + offset) % len(pool)]
            if email not in responders:
                return get_or_create_person(session, email=email)
    facilitated = func.count(Retrospective.id)
    return session.scalar(
        select(Person)
        .outerjoin(Retrospective, Retrospective.facilitator_id == Person.id)
        .where(Person.email.not_in(responders))
        .group_by(Person.id)
        .order_by(facilitated, Person.name, Person.email)
        .limit(1)
    )


def get_retrospective(session: Session, *, viewer: User, retro_id: int) -> Retrospective:
    retro = session.scalar(
        select(Retrospective).join(Retrospective.incident).where(
            Retrospective.id == retro_id, visible_incidents(viewer)
        )
    )
    if retro is None:
        raise NotFound(f"Retrospective {retro_id} does not exist.")
    return retro


def retro_for_incident(session: Session, *, incident: Incident) -> Retrospective:
    retro = incident.retrospective
    if retro is None:
        raise NotFound(
            f"Incident {incident.id} has no retrospective yet: it is booked when the incident is resolved.",
            code="no_retrospective",
        )
    return retro


def admit_responder(
    session: Session, *, incident: Incident, person: Person, role: str, started_at: datetime,
    override_reason: str | None, actor: User | None,
) -> None:
    """The retro's rules for a role given once the retro is booked; call it before adding the role.

    The facilitator may not take a role (`facilitator_involved`). Someone not yet on the team
    who is given a role starting after resolution would become a participant without anyone
    deciding it: that needs an `override_reason`, kept on the retro (`spectator_not_allowed`).
    A role held during the incident and an executive sponsor (a SEV0 retro asks for one) need none.
    """
    retro = incident.retrospective
    if retro is None or retro.status in RetroStatus.done():
        return
    if retro.facilitator_id == person.id:
        raise RuleViolation(
            f"{person.email} facilitates the retro and so may not hold a role; pick another facilitator first.",
            code="facilitator_involved", fields={"email": "is the retro's facilitator"},
        )
    team = {p.person_id for p in retro.participants} | {r.person_id for r in incident.roles}
    during_incident = incident.resolved_at is not None and started_at <= incident.resolved_at
    if person.id in team or role == "executive_sponsor" or during_incident:
        return
    if not override_reason:
        raise RuleViolation(
            f"{person.email} was not on the response team and the role starts after resolution; "
            "give an override_reason to add them to the retro anyway.",
            code="spectator_not_allowed", fields={"email": "not on the response team"},
        )
    _record_override(
        retro, rule="spectator_not_allowed", reason=override_reason,
        detail=f"{person.email} given the {role} role after resolution", actor=actor,
    )


def add_responder_to_retro(session: Session, *, incident: Incident, person: Person) -> None:
    """A role given after resolution makes its holder a participant of an open retro."""
    retro = incident.retrospective
    if retro is None or retro.status in RetroStatus.done():
        return
    if all(p.person_id != person.id for p in retro.participants):
        retro.participants.append(RetroParticipant(person=person))
        session.flush()


def update_retrospective(session: Session, *, retro: Retrospective, data: RetroUpdate, actor: User) -> Retrospective:
    """Apply the given fields, enforcing the deadline, no-spectator and facilitator rules.

    The status is not changed here: completing checks the retro's action items, so
    `flows.update_retrospective` applies it through `change_status`.

    A rule that allows it is set aside only with `override_reason`, which is kept.
    Raises RuleViolation with the rule's code otherwise.
    """
    if retro.status == RetroStatus.WITHDRAWN:
        raise RuleViolation(
            "This retro was withdrawn because its incident was reopened; "
            "it is booked again when the incident is resolved.",
            code="retro_withdrawn",
        )
    changes = data.model_dump(exclude_unset=True)
    if changes.get("status") is not None:
        raise ValueError("update_retrospective does not change the status: use flows.update_retrospective")
    reason = data.override_reason
    incident = retro.incident
    responders = {person.id for person in incident.responders()}

    if "facilitator" in changes:
        if data.facilitator is None:
            retro.facilitator = None
        else:
            facilitator = require_person(session, data.facilitator, field="facilitator")
            if facilitator.id in responders:
                raise RuleViolation(
                    f"{facilitator.email} held a role in the incident; the facilitator must not have.",
                    code="facilitator_involved", fields={"facilitator": "held a role in the incident"},
                )
            retro.facilitator = facilitator

    if "participants" in changes:
        if data.participants is None:
            raise ValidationFailed("participants must be a list.", fields={"participants": "must be a list of emails"})
        people = require_people(session, data.participants, field="participants")
        allowed = responders | ({retro.facilitator.id} if retro.facilitator else set())
        spectators = [p for p in people if p.id not in allowed]
        if spectators:
            emails = ", ".join(p.email for p in spectators)
            if not reason:
                raise RuleViolation(
                    f"{emails} held no role in the incident. Give an override_reason to invite them anyway.",
                    code="spectator_not_allowed",
                    fields={"participants": f"not on the response team: {emails}"},
                )
            _record_override(retro, rule="spectator_not_allowed", reason=reason, detail=emails, actor=actor)
        retro.participants = [
            next((p for p in retro.participants if p.person_id == person.id), None) or RetroParticipant(person=person)
            for person in people
        ]

    if "scheduled_for" in changes:
        when = data.scheduled_for
        if when is not None and when > retro.deadline_at:
            if not reason:
                raise RuleViolation(
                    f"The retro must happen by {retro.deadline_at.isoformat()}; give an override_reason to book it later.",
                    code="retro_past_deadline",
                    fields={"scheduled_for": f"is after the deadline {retro.deadline_at.isoformat()}"},
                )
            _record_override(retro, rule="retro_past_deadline", reason=reason, detail=when.isoformat(), actor=actor)
        retro.scheduled_for = when
        if when is not None and retro.status == RetroStatus.PENDING:
            retro.status = RetroStatus.SCHEDULED
        elif when is None and retro.status == RetroStatus.SCHEDULED:
            retro.status = RetroStatus.PENDING

    session.flush()
    return retro


def _record_override(retro: Retrospective, *, rule: str, reason: str, detail: str, actor: User | None) -> None:
    retro.overrides.append(
        RetroOverride(rule=rule, reason=reason, detail=detail, by_id=actor.person_id if actor else None)
    )


# -- completing and reopening ----------------------------------------------------------------

@dataclass(frozen=True)
class NotReady:
    """One reason a retro cannot be completed yet: a code, the field it concerns, and the facts to say it."""

    code: str
    field: str
    message: str
    scheduled_for: Optional[datetime] = None
    item_id: Optional[int] = None
    item_title: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.scheduled_for is not None:
            found["scheduled_for"] = self.scheduled_for.isoformat()
        if self.item_id is not None:
            found["item_id"] = self.item_id
        return found


def completion_refusals(retro: Retrospective, *, items: Sequence[Any], now: datetime) -> list[NotReady]:
    """Why `retro` cannot be completed at `now`: the meeting has not happened, or an action item
    (of `items`, the retro's; those marked won't do are left out) lacks an owner or a due date."""
    found: list[NotReady] = []
    when = retro.scheduled_for
    if when is None:
        found.append(NotReady("meeting_not_scheduled", "scheduled_for",
                              "The meeting has not been scheduled, so it has not happened."))
    elif when > now:
        found.append(NotReady("meeting_ahead", "scheduled_for",
                              f"The meeting is scheduled for {when.isoformat()}: it has not happened yet.",
                              scheduled_for=when))
    for item in items:
        if item.status == "wont_do":
            continue
        if item.owner_id is None:
            found.append(NotReady("item_without_owner", "action_items", f"Action item #{item.id} has no owner.",
                                  item_id=item.id, item_title=item.title))
        if item.due_date is None:
            found.append(NotReady("item_without_due_date", "action_items",
                                  f"Action item #{item.id} has no due date.", item_id=item.id, item_title=item.title))
    return found


def change_status(
    session: Session, *, retro: Retrospective, status: str, reason: str | None, actor: User | None,
    refusals: Sequence[NotReady],
) -> Retrospective:
    """Move the retro to `status`, keeping completions and reopenings in its history.

    Completing (to completed or published from an open status) is refused with `retro_not_ready`
    while `refusals` (from `completion_refusals`) has any; reopening a completed retro (back to
    pending or scheduled) needs a `reason`. Other moves are plain status changes.
    """
    previous = retro.status
    if status == previous:
        return retro
    if previous == RetroStatus.WITHDRAWN:
        raise RuleViolation(
            "This retro was withdrawn because its incident was reopened; "
            "it is booked again when the incident is resolved.",
            code="retro_withdrawn",
        )
    completing = status in RetroStatus.done() and previous not in RetroStatus.done()
    reopening = previous in RetroStatus.done() and status not in RetroStatus.done()
    if completing and refusals:
        fields: dict[str, str] = {}
        for refusal in refusals:
            fields[refusal.field] = f"{fields[refusal.field]} {refusal.message}" if refusal.field in fields \
                else refusal.message
        raise RuleViolation(
            "The retro cannot be completed yet: " + " ".join(r.message for r in refusals),
            code="retro_not_ready", fields=fields, extra={"reasons": [r.as_dict() for r in refusals]},
        )
    if reopening and not reason:
        raise ValidationFailed(
            "Give a reason to reopen a completed retro; it is kept in the retro's history.",
            fields={"reason": "say why the retro is reopened"},
        )
    if status == RetroStatus.SCHEDULED and retro.scheduled_for is None:
        raise ValidationFailed(
            "A retro is scheduled by giving scheduled_for.",
            fields={"status": "set scheduled_for to schedule the retro"},
        )
    retro.status = status
    if completing or reopening:
        retro.history.append(RetroStatusChange(
            previous=previous, status=status, reason=reason or "", by_id=actor.person_id if actor else None,
        ))
    session.flush()
    return retro


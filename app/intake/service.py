"""Intake's own records: events applied once, the incident of each sender incident, sender users' emails.

Two deliveries of one event, or two events of one new incident, may arrive at the same moment on two
workers: unique constraints decide, and the loser reads what the winner wrote (READ COMMITTED on
PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.incidents.models import Incident, IncidentLink, IncidentStatus, Severity, Visibility
from app.incidents.schemas import EventCreate
from app.incidents.service import add_events
from app.intake.events import Action, IntakeEvent
from app.intake.models import IntakeDelivery, IntakeIncident, Sender, SenderUser

SENDER_NAMES = {Sender.PAGERDUTY: "PagerDuty", Sender.ROOTLY: "Rootly", Sender.INCIDENTIO: "incident.io"}


def external_id(source: str, ref: str) -> str:
    """The incident's `external_id`: `<source>:<the sender's incident id>`."""
    return f"{source}:{ref}"


def claim_delivery(session: Session, *, event: IntakeEvent) -> bool:
    """Record that `event` is being applied; False if it was already (a redelivery changes nothing).

    An INSERT that does nothing on a conflict, not a SAVEPOINT: on PostgreSQL it waits for a concurrent
    delivery of the same event to commit or roll back; on SQLite it is the request's first write, which
    takes the write lock (waiting its turn) before anything else is read.
    """
    insert = dialect_insert(session, IntakeDelivery).values(
        source=event.source, event_id=event.event_id, event_type=event.event_type,
        incident_ref=event.ref, occurred_at=event.occurred_at, received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["source", "event_id"]).returning(IntakeDelivery.id)
    return session.execute(insert).scalar() is not None


def _linked(session: Session, *, source: str, ref: str) -> IntakeIncident | None:
    return session.scalar(select(IntakeIncident).where(IntakeIncident.source == source, IntakeIncident.ref == ref))


def incident_of(session: Session, *, event: IntakeEvent) -> tuple[IntakeIncident, Incident]:
    """The incident of the event's sender incident, made from what the event carries if it is the first.

    An event other than the opening one (a resolution that overtook its trigger) makes a placeholder
    from the incident data it carries; the opening event fills it in when it comes. An incident already
    holding the external id (made through the API) is adopted.
    """
    link = _linked(session, source=event.source, ref=event.ref)
    if link is None:
        try:
            with session.begin_nested():
                incident = _adoptable(session, event=event) or _new_incident(session, event=event)
                link = IntakeIncident(source=event.source, ref=event.ref, incident_id=incident.id)
                session.add(link)
                session.flush()
        except IntegrityError:
            # Another delivery of this sender incident made it first.
            link = _linked(session, source=event.source, ref=event.ref)
            if link is None:
                raise
    incident = session.get(Incident, link.incident_id)
    assert incident is not None  # the link's foreign key cascades
    return link, incident


def _adoptable(session: Session, *, event: IntakeEvent) -> Incident | None:
    wanted = external_id(event.source, event.ref)
    linked = select(IntakeIncident.incident_id)
    return session.scalar(
        select(Incident).where(Incident.external_id == wanted, Incident.id.not_in(linked)).order_by(Incident.id).limit(1)
    )


def _new_incident(session: Session, *, event: IntakeEvent) -> Incident:
    sender = SENDER_NAMES[Sender(event.source)]
    started_at = event.occurred_at if event.action == Action.OPEN else (event.started_at or event.occurred_at)
    incident = Incident(
        title=(event.title or f"{sender} incident {event.ref}")[:300],
        severity=event.severity or Severity.SEV2,
        visibility=Visibility.PRIVATE if event.private else Visibility.PUBLIC,
        external_id=external_id(event.source, event.ref), started_at=min(started_at, utcnow()),
        status=IncidentStatus.INVESTIGATING, description="",
    )
    if event.url:
        incident.links = [IncidentLink(title=f"{sender} incident", url=event.url)]
    session.add(incident)
    session.flush()
    return incident


def apply_details(*, link: IntakeIncident, incident: Incident, event: IntakeEvent) -> None:
    """Title, start, severity and link from the event, each only if no later event set it already."""
    if event.action == Action.OPEN:
        if not link.opened:
            link.opened = True
            start = event.occurred_at
            if incident.resolved_at is not None:
                start = min(start, incident.resolved_at)  # never after the resolution
            incident.started_at = min(start, utcnow())
    if event.title and (event.action in (Action.OPEN, Action.UPDATE) or not link.opened):
        incident.title = event.title[:300]
    # Severity follows the opening, a priority change and an update; other events' copies of the incident
    # may be older than a priority change that arrives after them.
    sets_severity = event.action in (Action.OPEN, Action.SEVERITY, Action.UPDATE)
    if sets_severity and event.severity is not None and (link.severity_at is None or event.occurred_at >= link.severity_at):
        incident.severity = event.severity
        link.severity_at = event.occurred_at
    if event.url and all(existing.url != event.url for existing in incident.links):
        incident.links.append(IncidentLink(title=f"{SENDER_NAMES[Sender(event.source)]} incident", url=event.url))


def status_is_newer(*, link: IntakeIncident, event: IntakeEvent) -> bool:
    """Whether a resolution or reopening is the latest one seen (an older one arriving late is not applied)."""
    if link.status_at is not None and event.occurred_at < link.status_at:
        return False
    link.status_at = event.occurred_at
    return True


def add_line(session: Session, *, incident: Incident, event: IntakeEvent, author: str | None) -> None:
    """The event's timeline line (by its event id, so never twice), with `source` the sender's name."""
    if not event.text:
        return
    line = EventCreate(
        occurred_at=event.occurred_at, text=event.text[:20_000], author=(author or None) and author[:320],
        kind=event.kind, external_id=event.event_id[:200],
    )
    add_events(session, incident=incident, events=[line], source=event.source)


def sender_user(session: Session, *, source: str, user_id: str) -> SenderUser | None:
    return session.scalar(select(SenderUser).where(SenderUser.source == source, SenderUser.user_id == user_id))


def remember_user(session: Session, *, source: str, user_id: str, email: str | None, looked_up: bool) -> None:
    """Store the email of a sender's user; a lookup never overwrites one stored meanwhile."""
    now = utcnow()
    values = {"source": source, "user_id": user_id, "email": email, "updated_at": now,
              "looked_up_at": now if looked_up else None}
    insert = dialect_insert(session, SenderUser).values(**values)
    if looked_up:
        insert = insert.on_conflict_do_nothing(index_elements=["source", "user_id"])
    else:
        insert = insert.on_conflict_do_update(index_elements=["source", "user_id"],
                                              set_={"email": email, "updated_at": now})
    session.execute(insert)
    session.flush()


def stored_users(session: Session, *, source: str) -> list[SenderUser]:
    return list(session.scalars(select(SenderUser).where(SenderUser.source == source).order_by(SenderUser.user_id)))


def when(event: IntakeEvent) -> datetime:
    """The event's time, never in the future (a sender's clock a little ahead must not refuse a resolution)."""
    return min(event.occurred_at, utcnow())

"""Intake's own records: events applied once, the incident of each sender incident, sender users' emails.

Two deliveries of one event, or two events of one new incident, may arrive at the same moment on two
workers: unique constraints decide, and the loser reads what the winner wrote (READ COMMITTED on
PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import dialect_insert, insert_for, utcnow
from app.incidents.models import Incident, IncidentLink, IncidentStatus, Severity, TimelineEvent, Visibility
from app.intake.events import Action, IntakeEvent
from app.intake.models import IntakeDelivery, IntakeIncident, Sender, SenderUser
from app.people.models import Person
from app.people.service import normalise_email

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
    claimed = session.execute(_claim_insert(_dialect(session)), {
        "source": event.source, "event_id": event.event_id, "event_type": event.event_type,
        "incident_ref": event.ref, "occurred_at": event.occurred_at, "received_at": utcnow(),
    })
    return claimed.scalar() is not None


# Every webhook runs the statements below; they are built once per database (building one takes longer
# than running it) and given their values as parameters.

def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@functools.cache
def _claim_insert(dialect: str) -> Any:
    table = IntakeDelivery.__table__
    return (insert_for(dialect, table).on_conflict_do_nothing(index_elements=["source", "event_id"])
            .returning(table.c.id))


@dataclass(frozen=True)
class Known:
    """What is known before applying an event: its incident (if any) and its author, in one query."""

    incident_id: int | None  # the Hindsight incident of the event's sender incident
    author: str | None  # the matched person's name
    sender_user_known: bool  # the PagerDuty user is stored (with or without an email)


def known(session: Session, *, event: IntakeEvent) -> Known:
    """The event's incident and its author's person, read in one round trip."""
    row = session.execute(_known_query(_author_by(event)), {
        "source": event.source, "ref": event.ref, "agent_id": event.agent_id,
        "email": normalise_email(event.agent_email) if event.agent_email else None,
    }).one()
    return Known(incident_id=row.incident_id, author=row.author, sender_user_known=row.sender_user is not None)


@functools.cache
def _known_query(author_by: str | None) -> Any:
    """`known`'s query; the author is found by the agent's email, by the sender user, or not at all."""
    incident_id = (select(IntakeIncident.incident_id).where(IntakeIncident.source == _SOURCE, IntakeIncident.ref == _REF)
                   .scalar_subquery())
    sender_user = _stored_user().scalar_subquery() if author_by is not None else null()
    return select(incident_id.label("incident_id"), _author(author_by).label("author"), sender_user.label("sender_user"))


_SOURCE, _REF, _AGENT_ID, _EMAIL = bindparam("source"), bindparam("ref"), bindparam("agent_id"), bindparam("email")


def _stored_user() -> Any:
    return select(SenderUser.id).where(SenderUser.source == _SOURCE, SenderUser.user_id == _AGENT_ID)


def _author(author_by: str | None) -> Any:
    if author_by == "email":
        return select(Person.name).where(Person.email == _EMAIL).scalar_subquery()
    if author_by == "user":
        return (select(Person.name).join(SenderUser, SenderUser.email == Person.email)
                .where(SenderUser.source == _SOURCE, SenderUser.user_id == _AGENT_ID).scalar_subquery())
    return null()


def _author_by(event: IntakeEvent) -> str | None:
    return "email" if event.agent_email else "user" if event.agent_id is not None else None


def add_known_line(session: Session, *, event: IntakeEvent, stored_user_only: bool) -> int | None:
    """A line-only event's line on the incident its sender incident already has, in one statement: that
    incident's id; None if nothing was added (no incident yet, the line is there already, or, with
    `stored_user_only`, the agent is not a stored sender user), for `known` and `add_line` to tell which.

    Its author is as `known` finds it, else the agent's name.
    """
    if not event.text:
        return None
    added = session.execute(_known_line_insert(_dialect(session), _author_by(event), stored_user_only), {
        "source": event.source, "ref": event.ref, "agent_id": event.agent_id,
        "email": normalise_email(event.agent_email) if event.agent_email else None,
        "agent_name": event.agent_name, "occurred_at": event.occurred_at, "text": event.text[:20_000],
        "kind": event.kind, "external_id": event.event_id[:200], "created_at": utcnow(),
    })
    return added.scalar()


@functools.cache
def _known_line_insert(dialect: str, author_by: str | None, stored_user_only: bool) -> Any:
    table = TimelineEvent.__table__
    link = IntakeIncident.__table__

    def value(name: str) -> Any:
        return bindparam(name, type_=table.c[name].type)

    author = func.coalesce(func.nullif(_author(author_by), ""), bindparam("agent_name", type_=table.c.author.type))
    line = select(
        link.c.incident_id, value("occurred_at"), value("text"), author, value("kind"),
        _SOURCE, value("external_id"), value("created_at"),
    ).where(link.c.source == _SOURCE, link.c.ref == _REF)
    if stored_user_only:
        line = line.where(_stored_user().exists())
    columns = ["incident_id", "occurred_at", "text", "author", "kind", "source", "external_id", "created_at"]
    return (insert_for(dialect, table).from_select(columns, line)
            .on_conflict_do_nothing(index_elements=["incident_id", "external_id"]).returning(table.c.incident_id))


def incident_of(session: Session, *, event: IntakeEvent, linked: bool) -> tuple[IntakeIncident, Incident]:
    """The incident of the event's sender incident (`linked`: `known` found it has one), its link row
    locked, with the event's details applied (`apply_details`); made from what the event carries if it
    is the first.

    An event other than the opening one (a resolution that overtook its trigger) makes a placeholder
    from the incident data it carries; the opening event fills it in when it comes. An incident already
    holding the external id (made through the API) is adopted.
    """
    if not linked:
        try:
            with session.begin_nested():
                incident = _adoptable(session, event=event) or _new_incident(session, event=event)
                link = IntakeIncident(source=event.source, ref=event.ref, incident_id=incident.id)
                apply_details(link=link, incident=incident, event=event)  # before the link's INSERT, not an UPDATE after it
                session.add(link)
                session.flush()
            return link, incident
        except IntegrityError:
            pass  # another delivery of this sender incident made it first: apply this one on it
    # Changes to one sender incident are applied one at a time, each on what the last one left.
    query = (
        select(IntakeIncident, Incident).join(Incident, Incident.id == IntakeIncident.incident_id)
        .where(IntakeIncident.source == event.source, IntakeIncident.ref == event.ref)
        .with_for_update(of=IntakeIncident).execution_options(populate_existing=True)
    )
    link, incident = session.execute(query).one()
    apply_details(link=link, incident=incident, event=event)
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
    if event.action == Action.OPEN and event.url and all(existing.url != event.url for existing in incident.links):
        incident.links.append(IncidentLink(title=f"{SENDER_NAMES[Sender(event.source)]} incident", url=event.url))


def status_is_newer(*, link: IntakeIncident, event: IntakeEvent) -> bool:
    """Whether a resolution or reopening is the latest one seen (an older one arriving late is not applied)."""
    if link.status_at is not None and event.occurred_at < link.status_at:
        return False
    link.status_at = event.occurred_at
    return True


def add_line(session: Session, *, incident_id: int, event: IntakeEvent, author: str | None) -> bool:
    """The event's timeline line, `external_id` its event id and `source` the sender's name; False if the
    incident has it already (the timeline's own unique key: a line-only event needs no other record)."""
    if not event.text:
        return True
    added = session.execute(_line_insert(_dialect(session)), {
        "incident_id": incident_id, "occurred_at": event.occurred_at, "text": event.text[:20_000],
        "author": author[:320] if author else None, "kind": event.kind, "source": event.source,
        "external_id": event.event_id[:200], "created_at": utcnow(),
    })
    return added.scalar() is not None


@functools.cache
def _line_insert(dialect: str) -> Any:
    table = TimelineEvent.__table__
    return (insert_for(dialect, table).on_conflict_do_nothing(index_elements=["incident_id", "external_id"])
            .returning(table.c.id))


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


def pagerduty_ids(session: Session, *, emails: list[str]) -> dict[str, str]:
    """The PagerDuty user id matched to each of these emails (the first by id when several are)."""
    rows = session.scalars(select(SenderUser).where(SenderUser.source == Sender.PAGERDUTY,
                                                    SenderUser.email.in_(emails)).order_by(SenderUser.user_id))
    found: dict[str, str] = {}
    for row in rows:
        if row.email:
            found.setdefault(row.email, row.user_id)
    return found


def pagerduty_holder(session: Session, *, user_id: str) -> str | None:
    """The email the PagerDuty user id is matched to, if any."""
    row = sender_user(session, source=Sender.PAGERDUTY, user_id=user_id)
    return row.email if row is not None else None


def match_pagerduty_user(session: Session, *, email: str, user_id: str | None, old_email: str | None = None) -> None:
    """Make `user_id` the one PagerDuty user matched to `email` (none when None), as an admin sets it.

    Other ids matched to `email` (or to `old_email`, the person's email before a change) are forgotten,
    so a later event of theirs is looked up afresh.
    """
    emails = [email] + ([old_email] if old_email and old_email != email else [])
    session.execute(delete(SenderUser).where(SenderUser.source == Sender.PAGERDUTY, SenderUser.email.in_(emails),
                                             SenderUser.user_id != (user_id or "")))
    if user_id:
        remember_user(session, source=Sender.PAGERDUTY, user_id=user_id, email=email, looked_up=False)
    session.flush()


def stored_users(session: Session, *, source: str) -> list[SenderUser]:
    return list(session.scalars(select(SenderUser).where(SenderUser.source == source).order_by(SenderUser.user_id)))


def when(event: IntakeEvent) -> datetime:
    """The event's time, never in the future (a sender's clock a little ahead must not refuse a resolution)."""
    return min(event.occurred_at, utcnow())

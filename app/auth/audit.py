"""The audit log: sign-ins, failed sign-ins, sign-outs and admins' changes, with who, when and from where.

A line is recorded in the same transaction as what it records, so a change that is rolled back leaves
no line and a line never names a change that did not happen. Pages and sign-in paths record through
`app.auth.context` (which knows the request's address and clock); this module never reads the request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from app.auth.models import AuditEvent, AuditKind, User

PER_PAGE = 50
SUBJECT_LENGTH = 300
DETAIL_LENGTH = 500
ACTOR_NAME_LENGTH = 320
ADDRESS_LENGTH = 64


def _cut(text: str | None, length: int) -> str | None:
    if not text:
        return None
    return text if len(text) <= length else text[: length - 1] + "…"


def record(
    session: Session, *, kind: AuditKind, at: datetime, actor: User | None = None, actor_name: str | None = None,
    address: str | None = None, subject: str | None = None, detail: str | None = None,
) -> AuditEvent:
    """Add one line to the log. `actor_name` defaults to the actor's name (the email typed for an
    unknown account's failed sign-in); `subject` is what was acted on, in words."""
    if actor_name is None and actor is not None:
        actor_name = actor.person.name
    event = AuditEvent(
        occurred_at=at, kind=AuditKind(kind), actor=actor, actor_name=_cut(actor_name, ACTOR_NAME_LENGTH),
        address=_cut(address, ADDRESS_LENGTH), subject=_cut(subject, SUBJECT_LENGTH),
        detail=_cut(detail, DETAIL_LENGTH),
    )
    session.add(event)
    session.flush()
    return event


def prune(session: Session, *, before: datetime) -> int:
    """Forget the lines older than `before`; returns how many went."""
    result = session.execute(delete(AuditEvent).where(AuditEvent.occurred_at < before))
    return result.rowcount or 0


@dataclass(frozen=True)
class AuditFilter:
    """What the log is narrowed to: one actor (a user id), one kind, a period [since, until)."""

    actor_id: int | None = None
    kind: AuditKind | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor_id is not None:
            found.append(AuditEvent.actor_id == self.actor_id)
        if self.kind is not None:
            found.append(AuditEvent.kind == self.kind)
        if self.since is not None:
            found.append(AuditEvent.occurred_at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.occurred_at < self.until)
        return found


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first."""

    items: list[AuditEvent]
    total: int
    page: int
    pages: int


def search(session: Session, *, where: AuditFilter, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    """The lines that match `where`, newest first, `per_page` at a time; a page past the end is the last."""
    conditions = where.conditions()
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    query = (select(AuditEvent).where(*conditions).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
             .offset((page - 1) * per_page).limit(per_page))
    return AuditPage(items=list(session.scalars(query)), total=total, page=page, pages=pages)

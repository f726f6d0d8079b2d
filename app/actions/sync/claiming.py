"""Claiming due outbox rows: a lease per row, safe with several workers at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from app.actions.models import JiraOutbox
from app.actions.sync.mapping import SessionFactory
from app.db import utcnow
from config import Settings


@dataclass(frozen=True)
class Claim:
    outbox_id: int
    item_id: int
    version: int
    attempts: int
    uncertain: bool
    token: str


def claim(
    factory: SessionFactory, *, settings: Settings, force: bool, limit: int,
    item_ids: Iterable[int] | None = None, exclude: Iterable[int] = (),
) -> list[Claim]:
    """Lease up to `limit` due outbox rows to this worker; safe with several workers at once."""
    now = utcnow()
    token = str(uuid.uuid4())
    with factory() as session, session.begin():
        query = select(JiraOutbox).where(or_(JiraOutbox.claimed_until.is_(None), JiraOutbox.claimed_until < now))
        if not force:
            query = query.where(JiraOutbox.next_attempt_at <= now)
        if item_ids is not None:
            query = query.where(JiraOutbox.action_item_id.in_(list(item_ids)))
        excluded = list(exclude)
        if excluded:
            query = query.where(JiraOutbox.id.not_in(excluded))
        query = query.order_by(JiraOutbox.next_attempt_at, JiraOutbox.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claims = []
        for row in session.scalars(query).all():
            # Compare-and-set: on SQLite two workers may read the same row; only one update wins.
            taken = session.execute(
                update(JiraOutbox)
                .where(JiraOutbox.id == row.id, or_(JiraOutbox.claimed_until.is_(None), JiraOutbox.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=settings.jira.claim_seconds), claim_token=token)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:
                continue
            # A lease that ran out means a worker died mid-push: its create may have gone through.
            uncertain = row.uncertain or row.claimed_until is not None
            claims.append(Claim(row.id, row.action_item_id, row.version, row.attempts, uncertain, token))
    return claims


def renew(factory: SessionFactory, taken: Claim, *, settings: Settings) -> bool:
    """Extend this worker's lease on a claimed row just before pushing it; False if the lease was lost.

    A batch is claimed at once but pushed one row after another: with a slow Jira the last rows'
    leases may run out while earlier ones are pushed, and another worker may claim them. Pushing
    such a row too could create its issue twice, so a lost lease means skipping the row.
    """
    now = utcnow()
    with factory() as session, session.begin():
        kept = session.execute(
            update(JiraOutbox)
            .where(JiraOutbox.id == taken.outbox_id, JiraOutbox.claim_token == taken.token,
                   JiraOutbox.claimed_until >= now)
            .values(claimed_until=now + timedelta(seconds=settings.jira.claim_seconds))
            .execution_options(synchronize_session=False)
        ).rowcount
    return kept == 1

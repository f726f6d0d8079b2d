"""Sync runs: the scheduled or forced run, and the attempt right after a request's commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.actions.models import ActionItem, JiraOutbox, JiraSyncState, JiraWebhookDelivery, SyncStatus
from app.actions.sync.mapping import (
    LAST_PULL_ERROR, SessionFactory, SyncRun, jira_config, log_off_once, set_state,
)
from app.actions.sync.pulling import reconcile
from app.actions.sync.pushing import push_due
from app.db import database, utcnow
from app.extensions import settings as app_settings
from config import Settings
from integrations.jira import JiraClient, JiraFailure

log = logging.getLogger(__name__)


def run_sync(factory: SessionFactory, *, settings: Settings, force: bool = False, pull: bool = True) -> SyncRun:
    """One push of the outbox (every pending row if `force`), then one reconcile pull."""
    if not settings.jira.enabled:
        log_off_once()
        return SyncRun(enabled=False)
    _housekeeping(factory, settings=settings)
    with JiraClient(jira_config(settings)) as client:
        counts = push_due(factory, settings=settings, client=client, force=force)
        if pull and counts.stopped is None:
            try:
                counts.pulled = reconcile(factory, client=client, settings=settings)
                error = None
            except JiraFailure as failure:
                log.warning("Jira reconcile failed: %s", failure)
                error = failure.message
            with factory() as session, session.begin():
                set_state(session, LAST_PULL_ERROR, error)
    return counts


def push_now(factory: SessionFactory, *, settings: Settings, item_ids: Iterable[int]) -> SyncRun:
    """Push these items now, because a person asked: backoff timers and the immediate-push pause ignored.

    Only rows no other worker holds are pushed (the lease stands); nothing is pulled.
    """
    if not settings.jira.enabled:
        log_off_once()
        return SyncRun(enabled=False)
    with JiraClient(jira_config(settings)) as client:
        return push_due(factory, settings=settings, client=client, force=True, item_ids=list(item_ids))


WEBHOOK_MEMORY = timedelta(days=2)  # Jira retries a delivery for about 30 minutes


def _housekeeping(factory: SessionFactory, *, settings: Settings) -> None:
    """Queue items made while Jira sync was off; forget webhook deliveries too old to be retried."""
    with factory() as session, session.begin():
        waiting = session.scalars(
            select(ActionItem).where(ActionItem.sync_status == SyncStatus.OFF, ActionItem.jira_key.is_(None))
            .order_by(ActionItem.id).limit(1000)
        ).all()
        for item in waiting:
            if session.scalar(select(JiraOutbox.id).where(JiraOutbox.action_item_id == item.id)) is None:
                session.add(JiraOutbox(action_item_id=item.id, version=1, attempts=0, next_attempt_at=utcnow(),
                                       uncertain=False))
            item.sync_status = SyncStatus.PENDING
        session.execute(
            delete(JiraWebhookDelivery).where(JiraWebhookDelivery.received_at < utcnow() - WEBHOOK_MEMORY)
        )


IMMEDIATE_PUSH_LIMIT = 3

# After Jira failed for every item (down, timing out, throttling), requests stop waiting on it
# for this long; the sync job keeps pushing on its own schedule.
IMMEDIATE_PUSH_PAUSE = timedelta(seconds=60)
PUSH_PAUSED_UNTIL = "immediate_push_paused_until"
JIRA_DOWN = ("unreachable", "timeout", "rate_limited", "server_error")


def _immediate_push_paused(factory: SessionFactory) -> bool:
    with factory() as session:
        row = session.get(JiraSyncState, PUSH_PAUSED_UNTIL)
        if row is None or not row.value:
            return False
        try:
            return datetime.fromisoformat(row.value) > utcnow()
        except ValueError:
            return False


def _pause_immediate_pushes(factory: SessionFactory) -> None:
    with factory() as session, session.begin():
        set_state(session, PUSH_PAUSED_UNTIL, (utcnow() + IMMEDIATE_PUSH_PAUSE).isoformat())


def push_soon(app: Flask, item_ids: Iterable[int]) -> None:
    """The attempt right after a commit: push these items now, in a fresh session, never raising.

    Skipped for a minute after Jira failed as a whole, so that a Jira that does not answer
    costs one request one timeout, not every request its own.
    """
    ids = set(item_ids)
    if not ids:
        return
    with app.app_context():
        settings = app_settings(app)
        if not settings.jira.enabled:
            return
        factory = database(app).session_factory
        assert factory is not None
        if _immediate_push_paused(factory):
            return
        try:
            with JiraClient(jira_config(settings)) as client:
                # The request waits on this: a few items, one at a time, and none after the first
                # failure (a hung Jira costs one timeout, not one per item). The sync job does the rest.
                for item_id in sorted(ids)[:IMMEDIATE_PUSH_LIMIT]:
                    counts = push_due(factory, settings=settings, client=client, force=False, item_ids=[item_id])
                    if counts.last_failure in JIRA_DOWN:
                        _pause_immediate_pushes(factory)
                    if counts.failed:
                        break
        except Exception:  # noqa: BLE001 - the request already succeeded; the outbox keeps the change
            log.exception("Pushing action items %s to Jira right after the commit failed; the sync job retries", sorted(ids))
            try:
                _pause_immediate_pushes(factory)
            except SQLAlchemyError:
                log.exception("could not record the pause of immediate Jira pushes")


def session_factory_for(session: Session) -> sessionmaker[Session]:
    """Sessions on the same database as `session`, for the short transactions of a sync run."""
    return sessionmaker(bind=session.get_bind(), expire_on_commit=False)

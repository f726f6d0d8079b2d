"""Workflows of the actions domain: a change to action items, then their push to Jira after the commit.

A service queues what Jira must receive in an outbox row, in the change's transaction. The flows
here add the attempt right after the edge commits (`push_after_commit`); the sync job pushes
whatever that attempt leaves.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from app.actions import service
from app.actions.models import ActionItem
from app.actions.schemas import ActionItemCreate, ActionItemSplit, ActionItemUpdate
from app.actions.sync import SyncRun, handle_webhook as _handle_webhook, push_now, push_soon, run_sync, session_factory_for
from app.auth.models import User
from app.core.errors import Forbidden, RuleViolation
from app.db import AFTER_COMMIT_KEY, after_commit, call_outside
from app.incidents.models import Incident
from app.retros.models import Retrospective
from config import Settings


class _PushAfterCommit:
    """The after-commit attempt of one transaction: pushes every item it queued, once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.item_ids: set[int] = set()

    def __call__(self) -> None:
        push_soon(self.app, self.item_ids)


def push_after_commit(session: Session) -> None:
    """Once the edge commits `session`, try at once to push the items it queued for Jira."""
    queued = service.take_queued(session)
    if not queued:
        return
    registered = [cb for cb in session.info.get(AFTER_COMMIT_KEY, []) if isinstance(cb, _PushAfterCommit)]
    if registered:
        callback = registered[0]
    else:
        callback = _PushAfterCommit(current_app._get_current_object())  # type: ignore[attr-defined]
        after_commit(session, callback)
    callback.item_ids |= queued


def create_item(
    session: Session, *, retro: Retrospective, data: ActionItemCreate, actor: User | None, via: str, settings: Settings,
) -> tuple[ActionItem, list[str]]:
    """Add an action item to a retro (`service.create_item`), pushed to Jira after the commit."""
    item, warnings = service.create_item(session, retro=retro, data=data, actor=actor, via=via, settings=settings)
    push_after_commit(session)
    return item, warnings


def update_item(
    session: Session, *, item: ActionItem, data: ActionItemUpdate, actor: User | None, via: str, settings: Settings,
) -> list[str]:
    """Change an action item (`service.update_item`), pushed to Jira after the commit."""
    warnings = service.update_item(session, item=item, data=data, actor=actor, via=via, settings=settings)
    push_after_commit(session)
    return warnings


def split_item(
    session: Session, *, item: ActionItem, data: ActionItemSplit, actor: User | None, via: str, settings: Settings,
) -> tuple[list[ActionItem], list[list[str]]]:
    """Split an action item (`service.split_item`); the new items and the closed original pushed after the commit."""
    created, warnings = service.split_item(session, item=item, data=data, actor=actor, via=via, settings=settings)
    push_after_commit(session)
    return created, warnings


def requeue_incident_items(session: Session, *, incident: Incident, settings: Settings) -> None:
    """Push again the Jira issues of the incident's action items (its title or visibility changed)."""
    service.requeue_incident_items(session, incident=incident, settings=settings)
    push_after_commit(session)


def handle_webhook(session: Session, *, payload: Any, identifier: str | None, settings: Settings) -> str:
    """Apply a Jira webhook delivery (`sync.handle_webhook`); a value refused is pushed back after the commit."""
    outcome = _handle_webhook(session, payload=payload, identifier=identifier, settings=settings)
    push_after_commit(session)
    return outcome


def _require_jira(settings: Settings) -> None:
    if not settings.jira.enabled:
        raise RuleViolation("Jira is not configured: set HINDSIGHT_JIRA_URL and HINDSIGHT_JIRA_PROJECT.", code="jira_off")


def retry_push(session: Session, *, item: ActionItem, settings: Settings) -> SyncRun:
    """Push the item to Jira now, backoff ignored; what is pending is committed first (`call_outside`).

    The item is queued with its current state (joining any pending push), so a push always
    happens: an existing issue is updated in place, never created twice. The outcome is recorded
    on the item in the push's own short transactions; `item` is read again afterwards.
    Raises RuleViolation `jira_off` when Jira is not configured.
    """
    _require_jira(settings)
    service.enqueue_push(session, item=item, settings=settings)
    service.take_queued(session)  # pushed here and now, not again after the commit
    factory = session_factory_for(session)
    item_id = item.id
    run = call_outside(session, lambda: push_now(factory, settings=settings, item_ids=[item_id]))
    session.refresh(item)
    return run


def sync_now(session: Session, *, actor: User, settings: Settings) -> SyncRun:
    """The whole Jira sync now (every pending push, backoff ignored, then a pull), for admins only.

    Raises Forbidden `admins_only` for anyone else and RuleViolation `jira_off` when Jira is not configured.
    """
    if not actor.is_admin:
        raise Forbidden("Only admins can run the whole Jira sync.", code="admins_only")
    _require_jira(settings)
    factory = session_factory_for(session)
    return call_outside(session, lambda: run_sync(factory, settings=settings, force=True))

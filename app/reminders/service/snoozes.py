"""Snoozes: no reminders for an action item until a day its owner (or an admin) picks."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionStatus
from app.auth.models import User
from app.core.dates import org_today
from app.core.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from app.db import utcnow
from app.incidents.access import visible_incidents
from app.incidents.models import Incident
from app.reminders.models import ReminderSnooze
from app.retros.models import Retrospective
from config import Settings


def _visible_item(session: Session, *, viewer: User, item_id: int) -> ActionItem:
    item = session.scalar(
        select(ActionItem)
        .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(ActionItem.id == item_id, visible_incidents(viewer))
    )
    if item is None:
        raise NotFound(f"Action item {item_id} does not exist.")
    return item


def _require_owner_or_admin(item: ActionItem, viewer: User) -> None:
    if not (viewer.is_admin or viewer.person_id == item.owner_id):
        raise Forbidden("Only the item's owner or an admin can snooze its reminders.", code="not_owner")


def get_snooze(session: Session, *, item_id: int) -> ReminderSnooze | None:
    return session.scalar(select(ReminderSnooze).where(ReminderSnooze.action_item_id == item_id))


def snooze_item(
    session: Session, *, viewer: User, item_id: int, until: date, reason: str, settings: Settings,
) -> tuple[ActionItem, ReminderSnooze, date | None]:
    """No reminders for the item before `until`; returns the item, the snooze and the end it replaced.

    `app.reminders.flows.snooze_item` keeps it in the item's history.

    Raises NotFound (not visible), Forbidden (not the owner or an admin), ValidationFailed
    (`until` not after today or too far away) and RuleViolation (the item is closed).
    """
    item = _visible_item(session, viewer=viewer, item_id=item_id)
    _require_owner_or_admin(item, viewer)
    today = org_today(settings)
    limit = today + timedelta(days=settings.reminders.max_snooze_days)
    if until <= today:
        raise ValidationFailed("A snooze ends after today.", fields={"until": f"must be after {today.isoformat()}"})
    if until > limit:
        raise ValidationFailed(
            f"Reminders can be snoozed for {settings.reminders.max_snooze_days} days at most.",
            fields={"until": f"must be on or before {limit.isoformat()}"},
        )
    if item.status not in ActionStatus.still_open():
        raise RuleViolation(f"Action item {item.id} is {item.status}: it gets no reminders to snooze.",
                            code="item_closed", fields={"status": f"is {item.status}"})
    snooze = get_snooze(session, item_id=item.id)
    previous = snooze.until if snooze else None
    if snooze is None:
        snooze = ReminderSnooze(action_item_id=item.id, until=until, reason=reason)
        session.add(snooze)
    snooze.until = until
    snooze.reason = reason
    snooze.by_id = viewer.person_id
    snooze.created_at = utcnow()
    session.flush()
    return item, snooze, previous


def end_snooze(session: Session, *, viewer: User, item_id: int) -> tuple[ActionItem, date]:
    """Reminders resume at once; returns the item and the end its snooze had."""
    item = _visible_item(session, viewer=viewer, item_id=item_id)
    _require_owner_or_admin(item, viewer)
    snooze = get_snooze(session, item_id=item.id)
    if snooze is None:
        raise NotFound(f"Action item {item.id} is not snoozed.", code="not_snoozed")
    until = snooze.until
    session.delete(snooze)
    session.flush()
    return item, until

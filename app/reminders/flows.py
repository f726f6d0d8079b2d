"""Workflows of the reminders domain that touch action items: a snooze is kept in the item's history."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.actions.service import record_change
from app.auth.models import User
from app.reminders import service
from app.reminders.models import ReminderSnooze
from config import Settings


def snooze_item(
    session: Session, *, viewer: User, item_id: int, until: date, reason: str, settings: Settings, via: str = "api",
) -> ReminderSnooze:
    """No reminders for the item before `until` (`service.snooze_item`); the snooze and its reason go into its history."""
    item, snooze, previous = service.snooze_item(
        session, viewer=viewer, item_id=item_id, until=until, reason=reason, settings=settings,
    )
    record_change(session, item=item, field="snoozed_until", old=previous, new=until, via=via, actor=viewer,
                  note=reason)
    return snooze


def end_snooze(session: Session, *, viewer: User, item_id: int, via: str = "api") -> None:
    """Reminders resume at once (`service.end_snooze`); the end is kept in the item's history."""
    item, until = service.end_snooze(session, viewer=viewer, item_id=item_id)
    record_change(session, item=item, field="snoozed_until", old=until, new=None, via=via, actor=viewer,
                  note="snooze ended")

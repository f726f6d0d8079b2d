"""The organisation's calendar: its "now", its "today" and where its days begin.

Every rule that speaks of a day (overdue, due soon, a digest's day, a metrics period)
asks this module, so that "today" is the same everywhere: the date in the organisation's
time zone (`timezone` setting), never the server's or UTC's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from app.db import utcnow
from config import Settings


def org_now(settings: Settings, now: datetime | None = None) -> datetime:
    """Now (or `now`) in the organisation's time zone."""
    return (now or utcnow()).astimezone(settings.zone)


def org_today(settings: Settings, now: datetime | None = None) -> date:
    """Today's date in the organisation's time zone."""
    return org_now(settings, now).date()


def day_start(settings: Settings, day: date) -> datetime:
    """The instant (in UTC) at which the organisation's `day` begins; clamped to the representable range."""
    if day >= date.max:
        return datetime.max.replace(tzinfo=timezone.utc)
    local = datetime.combine(day, time.min, tzinfo=settings.zone)
    return local.astimezone(timezone.utc)


def day_end(settings: Settings, day: date) -> datetime:
    """The instant (in UTC) at which the organisation's `day` ends (the next one begins)."""
    if day >= date.max - timedelta(days=1):
        return datetime.max.replace(tzinfo=timezone.utc)
    return day_start(settings, day + timedelta(days=1))

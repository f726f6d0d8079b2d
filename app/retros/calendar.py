"""Working days and working hours in the organisation's time zone, holidays included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays

from config import Settings

SLOT_GRID_MINUTES = 30
_SEARCH_DAYS = 400


@dataclass
class WorkCalendar:
    zone: ZoneInfo
    weekend: frozenset[int]
    day_start: time
    day_end: time
    extra_holidays: frozenset[date]
    public_holidays: holidays.HolidayBase | None

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkCalendar:
        wd = settings.working_days
        public = None
        if wd.country:
            public = holidays.country_holidays(wd.country, subdiv=wd.subdivision or None)
        return cls(
            zone=settings.zone,
            weekend=frozenset(wd.weekend),
            day_start=time.fromisoformat(wd.day_start),
            day_end=time.fromisoformat(wd.day_end),
            extra_holidays=frozenset(wd.extra_holidays),
            public_holidays=public,
        )

    def is_working_day(self, day: date) -> bool:
        if day.isoweekday() in self.weekend or day in self.extra_holidays:
            return False
        return not (self.public_holidays is not None and day in self.public_holidays)

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """`moment` plus `days` working days, at the same local time of day, in UTC."""
        local = moment.astimezone(self.zone)
        day = local.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        result = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.zone)
        return result.astimezone(timezone.utc)

    def earliest_slot(self, after: datetime, minutes: int) -> datetime:
        """The first meeting start at or after `after`, on the half hour, that fits in working hours."""
        local = after.astimezone(self.zone)
        length = timedelta(minutes=minutes)
        # Round up to the slot grid.
        rounded = local.replace(second=0, microsecond=0)
        if rounded < local:
            rounded += timedelta(minutes=1)
        extra = (-rounded.minute) % SLOT_GRID_MINUTES
        candidate = rounded + timedelta(minutes=extra)
        for _ in range(_SEARCH_DAYS):
            day = candidate.date()
            start = datetime.combine(day, self.day_start, tzinfo=self.zone)
            end = datetime.combine(day, self.day_end, tzinfo=self.zone)
            if self.is_working_day(day):
                if candidate < start:
                    candidate = start
                if candidate + length <= end:
                    return candidate.astimezone(timezone.utc)
            candidate = datetime.combine(day + timedelta(days=1), self.day_start, tzinfo=self.zone)
        raise ValueError("no working day within a year: check working_days settings")

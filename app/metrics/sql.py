"""SQL building blocks the metrics need on both databases: hours between two times, the organisation's
local date and month of a timestamp, and percentiles by window functions.

PostgreSQL converts time zones itself (`timezone(zone, ts)`). SQLite knows no zones: a timestamp's local
date there is `date(ts, '+N seconds')`, with N picked by a CASE over the zone's offset changes (daylight
saving) in the span of the data, computed once here from the zone database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Float, Integer, case, cast, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

UTC = timezone.utc
_STEP = timedelta(days=7)  # no zone changes its offset twice within a week


class hours_between(FunctionElement[float]):  # noqa: N801 - an SQL function reads as one
    """`later - earlier` in hours, as a float."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between)
def _hours_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"((julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_postgresql(element: hours_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})) / 3600.0)"


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@lru_cache(maxsize=64)
def zone_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[tuple[datetime | None, int], ...]:
    """The zone's UTC offsets (seconds) between `start` and `end`: ((None, first), (change_at, next), ...)."""
    changes: list[tuple[datetime | None, int]] = [(None, _offset(zone, start))]
    moment = start
    while moment < end:
        following = min(moment + _STEP, end)
        if _offset(zone, following) != changes[-1][1]:
            low, high = moment, following  # the change lies in (low, high]: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(microsecond=0), _offset(zone, following)))
        moment = following
    return tuple(changes)


class OrgCalendar:
    """Local dates and months of timestamps in the organisation's zone, for one dialect and one span of time."""

    def __init__(self, *, zone: ZoneInfo, dialect: str, start: datetime, end: datetime) -> None:
        self.zone = zone
        self.postgresql = dialect == "postgresql"
        # Whole days, so that requests in the same day share the cached offsets.
        day = lambda moment: datetime(moment.year, moment.month, moment.day, tzinfo=UTC)  # noqa: E731
        self.offsets = () if self.postgresql else zone_offsets(zone, day(start), day(end) + timedelta(days=1))

    def _modifier(self, column: ColumnElement[Any]) -> ColumnElement[str]:
        words = lambda seconds: f"{seconds:+d} seconds"  # noqa: E731
        first, *changes = self.offsets
        if not changes:
            return literal(words(first[1]))
        # Newest first: recent rows, the most common, match after few comparisons.
        return case(*[(column >= at, words(seconds)) for at, seconds in reversed(changes)], else_=words(first[1]))

    def date(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """The organisation's date of the timestamp `column`."""
        if self.postgresql:
            return cast(func.timezone(self.zone.key, column), Date)
        return func.date(column, self._modifier(column))

    def month(self, column: ColumnElement[Any]) -> ColumnElement[str]:
        """The organisation's month of the timestamp `column`, as `YYYY-MM` text."""
        if self.postgresql:
            return func.to_char(func.timezone(self.zone.key, column), "YYYY-MM")
        return func.strftime("%Y-%m", column, self._modifier(column))


def percentile_share(rank: ColumnElement[int], count: ColumnElement[int], value: ColumnElement[float], *,
                     numerator: int, denominator: int) -> ColumnElement[float]:
    """A row's part of the percentile `numerator/denominator` of `value` in its window, as percentile_cont has it:
    sum it over the window's rows. `rank` is the row's 1-based place in value order, `count` the window's rows.

    The percentile lies at 0-based place p·(n-1) = lo + rest/denominator: the row at lo weighs
    (denominator - rest)/denominator, the next rest/denominator. Integer division (the same on both databases).
    """
    scaled = literal(numerator, Integer) * (count - 1)
    low = scaled // denominator
    rest = scaled - low * denominator
    place = rank - 1
    return case(
        (place == low, value * (denominator - rest)),
        (place == low + 1, value * rest),
        else_=literal(0.0, Float),
    ) / float(denominator)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet `condition`."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

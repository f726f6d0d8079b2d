"""Shapes of the metrics answer."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import Field

from app.core.schemas import Day, RequestModel, ResponseModel


class MetricsQuery(RequestModel):
    """The period, both ends included; each end is a date between 1970 and 2999 (`since` <= `until` is
    checked by the route: the OpenAPI document cannot say it)."""

    since: Optional[Day] = None
    until: Optional[Day] = None


AGE_BUCKETS = ("0-7", "8-30", "31-90", "90+")


class RetroFigures(ResponseModel):
    """The retros of the incidents counted. "Held" is completed or published; its time is the meeting's (`scheduled_for`)."""

    total: int
    by_status: dict[str, int]
    scheduled_within_deadline: int
    scheduled_past_deadline: int
    unscheduled_past_deadline: int
    median_hours_resolution_to_retro: Optional[float]
    overrides: dict[str, int]
    held: int
    held_within_deadline: int
    held_past_deadline: int
    not_held_past_deadline: int
    share_held_within_deadline: Optional[float] = Field(
        description="held_within_deadline / (held_within_deadline + held_past_deadline + not_held_past_deadline); "
                    "null when that is 0")
    median_hours_resolution_to_held: Optional[float]
    p90_hours_resolution_to_held: Optional[float]


class ActionItemFigures(ResponseModel):
    """The action items of those retros, as of the organisation's today."""

    total: int
    by_status: dict[str, int]
    overdue: int
    oversized: int
    done_ratio: Optional[float]
    created: int
    completed: int
    completed_by_due_date: int = Field(description="done on or before the due date (organisation's day)")
    completed_late: int
    open_age_days: dict[str, int] = Field(
        description="open and in-progress items by days since their creation: 0-7, 8-30, 31-90, 90+ (91 or more)")


class Figures(ResponseModel):
    """Every figure, for the whole period or for one group of it."""

    incidents: int
    retrospectives: RetroFigures
    action_items: ActionItemFigures


class MonthFigures(Figures):
    month: str = Field(description="YYYY-MM, the month the incidents were resolved in the organisation's zone")


class Metrics(Figures):
    since: Optional[dt.date]
    until: Optional[dt.date]
    as_of: dt.date = Field(description="the organisation's today, against which overdue and ages count")
    timezone: str
    by_severity: dict[str, Figures]
    by_month: list[MonthFigures]

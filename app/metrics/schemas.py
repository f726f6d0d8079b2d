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


REPEAT_WINDOW_DAYS = 90


class FollowUpFigures(ResponseModel):
    """The action items filed against a service (or a team's services), of the incidents counted, as of the
    organisation's today."""

    total: int
    completed: int
    still_open: int = Field(description="open or in progress")
    overdue: int
    done_ratio: Optional[float] = Field(description="completed / total; null when there is none")
    open_age_days: dict[str, int] = Field(description="still-open items by days since their creation: 0-7, 8-30, 31-90, 90+")


class ServiceFigures(ResponseModel):
    """One service: the incidents counted that touched it, the hours they lasted, the repeats among them,
    and the action items filed against it."""

    service_id: int
    service: str
    team: Optional[str]
    incidents: int
    hours_lost: float = Field(description="sum of resolved_at - started_at over those incidents, in hours")
    repeat_incidents: int
    action_items: FollowUpFigures


class FactorFigures(ResponseModel):
    """One contributing-factor category: the incidents counted whose retro named it (or one of its kinds)."""

    category: str
    label: str
    incidents: int
    hours_lost: float
    repeat_incidents: int


class TeamFigures(ResponseModel):
    """One team: the incidents counted that touched any of its services (an incident of two teams' services
    counts for both), their retros against the deadline, and the action items filed against its services."""

    team_id: int
    team: str
    incidents: int
    hours_lost: float
    retros_held_within_deadline: int
    retros_held_past_deadline: int
    retros_not_held_past_deadline: int
    share_held_within_deadline: Optional[float]
    action_items: FollowUpFigures


class AcrossIncidents(ResponseModel):
    """Figures across incidents, by service, contributing factor and team. A repeat incident is one counted
    here that shares a service and a factor category with another incident the viewer may see, which started
    before it and at most 90 days (REPEAT_WINDOW_DAYS) before it (that earlier one may lie before the period)."""

    hours_lost: float = Field(description="sum of resolved_at - started_at over every incident counted, in hours")
    repeat_incidents: int
    by_service: list[ServiceFigures]
    by_factor: list[FactorFigures]
    by_team: list[TeamFigures]


class Metrics(Figures):
    since: Optional[dt.date]
    until: Optional[dt.date]
    as_of: dt.date = Field(description="the organisation's today, against which overdue and ages count")
    timezone: str
    by_severity: dict[str, Figures]
    by_month: list[MonthFigures]
    across: AcrossIncidents

"""Shapes of the metrics answer."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from app.core.schemas import Day, RequestModel, ResponseModel


class MetricsQuery(RequestModel):
    """The period, both ends included; each end is a date between 1970 and 2999 (`since` <= `until` is
    checked by the route: the OpenAPI document cannot say it)."""

    since: Optional[Day] = None
    until: Optional[Day] = None


class RetroFigures(ResponseModel):
    total: int
    by_status: dict[str, int]
    scheduled_within_deadline: int
    scheduled_past_deadline: int
    unscheduled_past_deadline: int
    median_hours_resolution_to_retro: Optional[float]
    overrides: dict[str, int]


class ActionItemFigures(ResponseModel):
    total: int
    by_status: dict[str, int]
    overdue: int
    oversized: int
    done_ratio: Optional[float]


class Metrics(ResponseModel):
    since: Optional[dt.date]
    until: Optional[dt.date]
    incidents: int
    retrospectives: RetroFigures
    action_items: ActionItemFigures

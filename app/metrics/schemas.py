"""Shapes of the metrics answer."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import model_validator

from app.core.schemas import RequestModel, ResponseModel


class MetricsQuery(RequestModel):
    since: Optional[dt.date] = None
    until: Optional[dt.date] = None

    @model_validator(mode="after")
    def _order(self) -> MetricsQuery:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


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

"""Retro and action-item figures over incidents resolved in a period, private ones included only for those who may see them."""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionStatus
from app.auth.models import User
from app.core.dates import day_end, day_start, org_today
from app.db import utcnow
from app.incidents.access import visible_incidents
from app.incidents.models import Incident
from app.metrics.schemas import ActionItemFigures, Metrics, RetroFigures
from app.retros.models import RetroOverride, RetroStatus, Retrospective
from config import Settings


def compute_metrics(
    session: Session, *, viewer: User, since: date | None, until: date | None, settings: Settings,
    now: datetime | None = None,
) -> Metrics:
    """Figures over the incidents resolved between `since` and `until` (inclusive, organisation-local days)
    that `viewer` may see. Retros of incidents reopened since count by status only."""
    now = now or utcnow()
    today = org_today(settings, now)

    def _period(query: Select, since: date | None, until: date | None) -> Select:
        if since:
            query = query.where(Incident.resolved_at >= day_start(settings, since))
        if until:
            query = query.where(Incident.resolved_at < day_end(settings, until))
        return query

    visible = visible_incidents(viewer)
    incidents = session.scalar(_period(select(func.count(Incident.id)).where(visible, Incident.resolved_at.is_not(None)), since, until)) or 0

    retro_rows = session.execute(
        _period(
            select(Retrospective.status, Retrospective.scheduled_for, Retrospective.deadline_at, Incident.resolved_at)
            .join(Incident, Incident.id == Retrospective.incident_id).where(visible),
            since, until,
        )
    ).all()
    by_status = {status.value: 0 for status in RetroStatus}
    within = past = unscheduled_late = 0
    hours = []
    for status, scheduled_for, deadline_at, resolved_at in retro_rows:
        by_status[status] = by_status.get(status, 0) + 1
        if status == RetroStatus.WITHDRAWN:
            continue  # its incident was reopened before the retro was scheduled
        if scheduled_for is None:
            unscheduled_late += deadline_at < now
            continue
        if scheduled_for <= deadline_at:
            within += 1
        else:
            past += 1
        if resolved_at is not None:  # None: the incident was reopened after its retro was booked
            hours.append((scheduled_for - resolved_at).total_seconds() / 3600)
    overrides = dict(
        session.execute(
            _period(
                select(RetroOverride.rule, func.count(RetroOverride.id))
                .join(Retrospective, Retrospective.id == RetroOverride.retrospective_id)
                .join(Incident, Incident.id == Retrospective.incident_id)
                .where(visible).group_by(RetroOverride.rule),
                since, until,
            )
        ).all()
    )

    def items(*columns: Any) -> Select:
        query = (
            select(*columns)
            .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
            .join(Incident, Incident.id == Retrospective.incident_id)
            .where(visible)
        )
        return _period(query, since, until)

    item_rows = session.execute(items(ActionItem.status, func.count(ActionItem.id)).group_by(ActionItem.status)).all()
    items_by_status = {status.value: 0 for status in ActionStatus} | {status: count for status, count in item_rows}
    base_items = items(func.count(ActionItem.id))
    overdue = session.scalar(base_items.where(ActionItem.is_overdue(today))) or 0
    oversized = session.scalar(base_items.where(ActionItem.oversized.is_(True))) or 0
    total_items = sum(items_by_status.values())
    return Metrics(
        since=since, until=until, incidents=incidents,
        retrospectives=RetroFigures(
            total=len(retro_rows), by_status=by_status, scheduled_within_deadline=within,
            scheduled_past_deadline=past, unscheduled_past_deadline=unscheduled_late,
            median_hours_resolution_to_retro=round(statistics.median(hours), 1) if hours else None,
            overrides=overrides,
        ),
        action_items=ActionItemFigures(
            total=total_items, by_status=items_by_status, overdue=overdue, oversized=oversized,
            done_ratio=round(items_by_status["done"] / total_items, 3) if total_items else None,
        ),
    )

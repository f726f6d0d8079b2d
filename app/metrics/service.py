"""Retro and action-item figures over the incidents resolved in a period, overall, by severity and by month.

Every figure is about the incidents resolved in the period (organisation-local days) that the viewer may
see (`visible_incidents`, the one rule for private incidents), their retros and their action items;
`by_month` groups them by the month their incident was resolved in, in the organisation's zone. "Today"
(overdue, ages) is the organisation's. The figures come from four aggregate queries on SQLite and
PostgreSQL alike: counts per (severity, month) cell, which are added up here into the groups (a few dozen
cells, never the rows), and the percentiles of each group: PostgreSQL's percentile_cont over grouping
sets, elsewhere the same interpolation by window functions (`app.metrics.sql.percentile_share`).

The figures across incidents (`across`: by service, contributing-factor category and team, repeats,
follow-ups) are in `app.metrics.across`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, func, literal, not_, select, tuple_, union_all
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionItemChange, ActionStatus
from app.auth.models import User
from app.core.dates import day_end, day_start, org_today
from app.db import utcnow
from app.incidents.access import visible_incidents
from app.incidents.models import Incident, Severity
from app.metrics.across import AcrossQueries, across_figures
from app.metrics.schemas import AGE_BUCKETS, ActionItemFigures, Figures, Metrics, MonthFigures, RetroFigures
from app.metrics.sql import OrgCalendar, count_if, hours_between, percentile_share
from app.retros.models import RetroOverride, RetroStatus, Retrospective
from config import Settings

# The first instant from which figures are kept in the organisation's zone when no period starts them.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
ALL, SEVERITY, MONTH = "all", "severity", "month"
RETRO_COUNTS = ("scheduled_within", "scheduled_past", "unscheduled_past", "held_within", "held_past", "not_held_past")
ITEM_COUNTS = ("oversized", "overdue", "on_time", "late", *(f"age {bucket}" for bucket in AGE_BUCKETS))


@dataclass
class _Tally:
    """One group's counts, added up from the cells that fall in it."""

    incidents: int = 0
    retros: Counter[str] = field(default_factory=Counter)
    retro_status: Counter[str] = field(default_factory=Counter)
    overrides: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    item_status: Counter[str] = field(default_factory=Counter)
    hours: dict[str, float | None] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        retros, items = self.retros, self.items
        decided = retros["held_within"] + retros["held_past"] + retros["not_held_past"]
        item_status = {status.value: 0 for status in ActionStatus} | dict(self.item_status)
        total_items = sum(item_status.values())
        return {
            "incidents": self.incidents,
            "retrospectives": RetroFigures(
                total=sum(self.retro_status.values()),
                by_status={status.value: 0 for status in RetroStatus} | dict(self.retro_status),
                scheduled_within_deadline=retros["scheduled_within"], scheduled_past_deadline=retros["scheduled_past"],
                unscheduled_past_deadline=retros["unscheduled_past"],
                median_hours_resolution_to_retro=self.hours.get("scheduled_p50"),
                overrides=dict(self.overrides),
                held=sum(self.retro_status[status] for status in RetroStatus.done()),
                held_within_deadline=retros["held_within"], held_past_deadline=retros["held_past"],
                not_held_past_deadline=retros["not_held_past"],
                share_held_within_deadline=round(retros["held_within"] / decided, 3) if decided else None,
                median_hours_resolution_to_held=self.hours.get("held_p50"),
                p90_hours_resolution_to_held=self.hours.get("held_p90"),
            ),
            "action_items": ActionItemFigures(
                total=total_items, by_status=item_status, overdue=items["overdue"], oversized=items["oversized"],
                done_ratio=round(item_status[ActionStatus.DONE] / total_items, 3) if total_items else None,
                created=total_items, completed=item_status[ActionStatus.DONE],
                completed_by_due_date=items["on_time"], completed_late=items["late"],
                open_age_days={bucket: items[f"age {bucket}"] for bucket in AGE_BUCKETS},
            ),
        }


class _Query(AcrossQueries):
    """The parts every query shares: the period, the viewer's incidents, the month of resolution."""

    def __init__(self, session: Session, *, viewer: User, since: date | None, until: date | None,
                 settings: Settings, now: datetime) -> None:
        self.session = session
        self.now = now
        self.today = org_today(settings, now)
        self.period: list[ColumnElement[bool]] = []
        if since:
            self.period.append(Incident.resolved_at >= day_start(settings, since))
        if until:
            self.period.append(Incident.resolved_at < day_end(settings, until))
        self.visible = visible_incidents(viewer)
        self.where: list[ColumnElement[bool]] = [self.visible, *self.period]
        dialect = session.get_bind().dialect.name
        start = day_start(settings, since) - timedelta(days=1) if since else EARLIEST
        self.calendar = OrgCalendar(zone=settings.zone, dialect=dialect, start=start, end=now)
        self.month = self.calendar.month(Incident.resolved_at).label("month")
        self.settings = settings

    def cells(self, query: Select) -> list[Any]:
        return list(self.session.execute(query.where(*self.where).group_by(*query.selected_columns[:3])))

    def retros(self) -> list[Any]:
        """Resolved incidents and their retros per (severity, month, retro status): the incidents count rides
        along (each has at most one retro), so the viewer's incidents are found once for both."""
        held = Retrospective.status.in_(RetroStatus.done())
        live = Retrospective.status != RetroStatus.WITHDRAWN
        met = Retrospective.scheduled_for <= Retrospective.deadline_at
        missed = Retrospective.scheduled_for > Retrospective.deadline_at
        gone = Retrospective.deadline_at < self.now
        query = (
            select(
                Incident.severity, self.month, Retrospective.status,
                count_if(Incident.resolved_at.is_not(None)).label("incidents"), func.count(Retrospective.id).label("total"),
                func.coalesce(func.sum(hours_between(Incident.resolved_at, Incident.started_at)), 0.0).label("hours_lost"),
                count_if(and_(live, met)).label("scheduled_within"),
                count_if(and_(live, missed)).label("scheduled_past"),
                count_if(and_(live, Retrospective.scheduled_for.is_(None), gone)).label("unscheduled_past"),
                count_if(and_(held, met)).label("held_within"),
                count_if(and_(held, missed)).label("held_past"),
                count_if(and_(live, not_(held), gone)).label("not_held_past"),
            )
            .select_from(Incident).outerjoin(Retrospective, Retrospective.incident_id == Incident.id)
        )
        return self.cells(query)

    def overrides(self) -> list[Any]:
        return self.cells(
            select(Incident.severity, self.month, RetroOverride.rule, func.count(RetroOverride.id))
            .join(Retrospective, Retrospective.id == RetroOverride.retrospective_id)
            .join(Incident, Incident.id == Retrospective.incident_id)
        )

    def items(self) -> list[Any]:
        """Counts per (severity, month): added up per retro first (an integer key), so that the month is
        worked out once per incident rather than once per item. A period's figures add up only the retros of
        the period's incidents and read only their items' history, not every item there is (who may see which
        is left to the outer query: in these subqueries it would cost more than it saves; and without a period
        nearly every retro counts, so none is picked first)."""
        in_scope: list[ColumnElement[bool]] = []
        if self.period:
            retros = select(Retrospective.id).join(Incident, Incident.id == Retrospective.incident_id).where(*self.period)
            in_scope.append(ActionItem.retrospective_id.in_(retros))
        done_changes = (
            select(ActionItemChange.action_item_id, func.max(ActionItemChange.at).label("at"))
            .where(ActionItemChange.field == "status", ActionItemChange.new == ActionStatus.DONE,
                   ActionItemChange.applied.is_(True))
            .group_by(ActionItemChange.action_item_id)
        )
        if in_scope:
            done_changes = done_changes.where(ActionItemChange.action_item_id.in_(select(ActionItem.id).where(*in_scope)))
        done = done_changes.subquery("done")
        is_done = ActionItem.status == ActionStatus.DONE
        done_on = self.calendar.date(done.c.at)
        still_open = ActionItem.status.in_(ActionStatus.still_open())
        recent, month_old, quarter_old = (day_start(self.settings, self.today - timedelta(days=days)) for days in (7, 30, 90))
        per_retro = (
            select(
                ActionItem.retrospective_id.label("retro_id"),
                *(count_if(ActionItem.status == status).label(f"status {status}") for status in ActionStatus),
                count_if(ActionItem.oversized.is_(True)).label("oversized"),
                count_if(ActionItem.is_overdue(self.today)).label("overdue"),
                count_if(and_(is_done, done_on <= ActionItem.due_date)).label("on_time"),
                count_if(and_(is_done, done_on > ActionItem.due_date)).label("late"),
                count_if(and_(still_open, ActionItem.created_at >= recent)).label("age 0-7"),
                count_if(and_(still_open, ActionItem.created_at < recent, ActionItem.created_at >= month_old)).label("age 8-30"),
                count_if(and_(still_open, ActionItem.created_at < month_old, ActionItem.created_at >= quarter_old))
                .label("age 31-90"),
                count_if(and_(still_open, ActionItem.created_at < quarter_old)).label("age 90+"),
            )
            .outerjoin(done, done.c.action_item_id == ActionItem.id)
            .where(*in_scope)
            .group_by(ActionItem.retrospective_id)
            .subquery("per_retro")
        )
        names = [*(f"status {status}" for status in ActionStatus), *ITEM_COUNTS]
        return list(self.session.execute(
            select(Incident.severity, self.month, *(cast(func.sum(per_retro.c[name]), Integer).label(name) for name in names))
            .join_from(per_retro, Retrospective, Retrospective.id == per_retro.c.retro_id)
            .join(Incident, Incident.id == Retrospective.incident_id)
            .where(*self.where).group_by(Incident.severity, self.month)
        ))

    def _meetings(self) -> Any:
        """Each retro with a meeting time: its incident's severity and month, the hours since resolution, held or not."""
        return (
            select(
                Incident.severity.label("severity"), self.month,
                hours_between(Retrospective.scheduled_for, Incident.resolved_at).label("hours"),
                Retrospective.status.in_(RetroStatus.done()).label("held"),
            )
            .join(Incident, Incident.id == Retrospective.incident_id)
            .where(*self.where, Retrospective.status != RetroStatus.WITHDRAWN,
                   Retrospective.scheduled_for.is_not(None), Incident.resolved_at.is_not(None))
        )

    def hours(self) -> list[tuple[str, str, str, float | None, float | None]]:
        """(measure, dimension, key, median, p90) for the hours from resolution to the retro's meeting:
        measure "scheduled" over every retro with a meeting time, "held" over held ones."""
        if self.calendar.postgresql:
            return self._hours_postgresql()
        base = self._meetings().cte("meetings")
        keys = {ALL: literal(""), SEVERITY: base.c.severity, MONTH: base.c.month}
        parts = []
        for measure in ("scheduled", "held"):
            for dimension, key in keys.items():
                part = select(literal(measure).label("measure"), literal(dimension).label("dimension"),
                              key.label("key"), base.c.hours)
                parts.append(part.where(base.c.held.is_(True)) if measure == "held" else part)
        rows = union_all(*parts).subquery("grouped")
        window = {"partition_by": (rows.c.measure, rows.c.dimension, rows.c.key)}
        ranked = select(
            rows.c.measure, rows.c.dimension, rows.c.key, rows.c.hours,
            func.row_number().over(order_by=rows.c.hours, **window).label("rank"),
            func.count().over(**window).label("n"),
        ).subquery("ranked")
        share = lambda numerator, denominator: percentile_share(  # noqa: E731
            ranked.c.rank, ranked.c.n, ranked.c.hours, numerator=numerator, denominator=denominator)
        return [tuple(row) for row in self.session.execute(  # type: ignore[misc]
            select(ranked.c.measure, ranked.c.dimension, ranked.c.key, func.sum(share(1, 2)), func.sum(share(9, 10)))
            .group_by(ranked.c.measure, ranked.c.dimension, ranked.c.key)
        )]

    def _hours_postgresql(self) -> list[tuple[str, str, str, float | None, float | None]]:
        """The same figures with PostgreSQL's own percentile_cont, over grouping sets: one pass."""
        base = self._meetings().subquery("meetings")
        held = base.c.held.is_(True)
        rows = self.session.execute(
            select(
                base.c.severity, base.c.month, func.grouping(base.c.severity, base.c.month),
                func.percentile_cont(0.5).within_group(base.c.hours),
                func.percentile_cont(0.5).within_group(base.c.hours).filter(held),
                func.percentile_cont(0.9).within_group(base.c.hours).filter(held),
            ).group_by(func.grouping_sets(tuple_(), base.c.severity, base.c.month))
        )
        found = []
        for severity, month, grouping, scheduled_p50, held_p50, held_p90 in rows:
            # GROUPING(severity, month) sets a bit for each column not grouped on.
            dimension, key = {3: (ALL, ""), 1: (SEVERITY, severity), 2: (MONTH, month)}[grouping]
            if scheduled_p50 is not None:  # (the grand total row comes even when there is no meeting at all)
                found.append(("scheduled", dimension, key, scheduled_p50, None))
            if held_p50 is not None:
                found.append(("held", dimension, key, held_p50, held_p90))
        return found


def compute_metrics(
    session: Session, *, viewer: User, since: date | None, until: date | None, settings: Settings,
    now: datetime | None = None,
) -> Metrics:
    """Figures over the incidents resolved between `since` and `until` (inclusive, organisation-local days)
    that `viewer` may see, overall, by severity and by month of resolution. Retros of incidents reopened
    since they were booked count overall and by severity, by status only (they have no month)."""
    now = now or utcnow()
    query = _Query(session, viewer=viewer, since=since, until=until, settings=settings, now=now)
    tallies: dict[tuple[str, str], _Tally] = {(ALL, ""): _Tally()}
    tallies.update({(SEVERITY, severity.value): _Tally() for severity in Severity})

    def groups(severity: str, month: str | None) -> list[_Tally]:
        found = [tallies[(ALL, "")], tallies.setdefault((SEVERITY, severity), _Tally())]
        if month is not None:
            found.append(tallies.setdefault((MONTH, month), _Tally()))
        return found

    hours_lost = 0.0  # over resolved incidents only: an unresolved one's hours are null, left out of the sum
    for row in query.retros():
        hours_lost += row.hours_lost
        for tally in groups(row.severity, row.month):
            tally.incidents += row.incidents
            if row.status is None:  # an incident without a retro
                continue
            tally.retro_status[row.status] += row.total
            tally.retros.update({name: row._mapping[name] for name in RETRO_COUNTS})
    for severity, month, rule, count in query.overrides():
        for tally in groups(severity, month):
            tally.overrides[rule] += count
    for row in query.items():
        for tally in groups(row.severity, row.month):
            tally.item_status.update({status.value: row._mapping[f"status {status}"] for status in ActionStatus})
            tally.items.update({name: row._mapping[name] for name in ITEM_COUNTS})
    for measure, dimension, key, median, p90 in query.hours():
        tally = tallies.setdefault((dimension, key), _Tally())
        tally.hours[f"{measure}_p50"] = round(median, 1)
        if measure == "held":
            tally.hours["held_p90"] = round(p90, 1)

    months = _every_month(sorted(key for dimension, key in tallies if dimension == MONTH))
    return Metrics(
        since=since, until=until, as_of=query.today, timezone=settings.timezone,
        **tallies[(ALL, "")].figures(),
        by_severity={key: Figures(**tally.figures()) for (dimension, key), tally in sorted(tallies.items())
                     if dimension == SEVERITY},
        by_month=[MonthFigures(month=month, **tallies.get((MONTH, month), _Tally()).figures()) for month in months],
        across=across_figures(query, hours_lost),
    )


def _every_month(months: list[str]) -> list[str]:
    """Every month from the first to the last given, gaps filled (a chart shows a month without incidents as 0)."""
    if not months:
        return []
    year, month = map(int, months[0].split("-"))
    last = tuple(map(int, months[-1].split("-")))
    found = []
    while (year, month) <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found

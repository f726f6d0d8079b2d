"""Retro and action-item figures over the incidents resolved in a period, overall, by severity and by month.

Every figure is about the incidents resolved in the period (organisation-local days) that the viewer may
see (`visible_incidents`, the one rule for private incidents), their retros and their action items;
`by_month` groups them by the month their incident was resolved in, in the organisation's zone. "Today"
(overdue, ages) is the organisation's. The figures come from four aggregate queries on SQLite and
PostgreSQL alike: counts per (severity, month) cell, which are added up here into the groups (a few dozen
cells, never the rows), and the percentiles of each group: PostgreSQL's percentile_cont over grouping
sets, elsewhere the same interpolation by window functions (`app.metrics.sql.percentile_share`).

The figures across incidents (`across`: by service, contributing-factor category and team, repeats, follow-ups)
are over the same incidents once resolved, each from one aggregate query per grouping; a team's follow-ups
are added up here from its services' (each item has one service, each service at most one team).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    ColumnElement, Integer, Select, String, and_, case, cast, func, literal, not_, null, select, tuple_, union_all,
)
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionItemChange, ActionStatus
from app.auth.models import User
from app.core.dates import day_end, day_start, org_today
from app.db import utcnow
from app.incidents.access import visible_incidents
from app.incidents.models import Incident, Severity
from app.metrics.schemas import (
    AGE_BUCKETS, REPEAT_WINDOW_DAYS, AcrossIncidents, ActionItemFigures, FactorFigures, Figures, FollowUpFigures,
    Metrics, MonthFigures, RetroFigures, ServiceFigures, TeamFigures,
)
from app.metrics.sql import OrgCalendar, hours_between, percentile_share
from app.retros.factors import choices as factor_choices
from app.retros.models import RetroFactor, RetroOverride, RetroStatus, Retrospective
from app.services.models import Service, Team, incident_services
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


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet `condition`."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class _Query:
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
                _count(Incident.resolved_at.is_not(None)).label("incidents"), func.count(Retrospective.id).label("total"),
                func.coalesce(func.sum(hours_between(Incident.resolved_at, Incident.started_at)), 0.0).label("hours_lost"),
                _count(and_(live, met)).label("scheduled_within"),
                _count(and_(live, missed)).label("scheduled_past"),
                _count(and_(live, Retrospective.scheduled_for.is_(None), gone)).label("unscheduled_past"),
                _count(and_(held, met)).label("held_within"),
                _count(and_(held, missed)).label("held_past"),
                _count(and_(live, not_(held), gone)).label("not_held_past"),
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
                *(_count(ActionItem.status == status).label(f"status {status}") for status in ActionStatus),
                _count(ActionItem.oversized.is_(True)).label("oversized"),
                _count(ActionItem.is_overdue(self.today)).label("overdue"),
                _count(and_(is_done, done_on <= ActionItem.due_date)).label("on_time"),
                _count(and_(is_done, done_on > ActionItem.due_date)).label("late"),
                _count(and_(still_open, ActionItem.created_at >= recent)).label("age 0-7"),
                _count(and_(still_open, ActionItem.created_at < recent, ActionItem.created_at >= month_old)).label("age 8-30"),
                _count(and_(still_open, ActionItem.created_at < month_old, ActionItem.created_at >= quarter_old))
                .label("age 31-90"),
                _count(and_(still_open, ActionItem.created_at < quarter_old)).label("age 90+"),
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


    # Across incidents: by service, contributing-factor category and team, over the resolved incidents counted.

    def _counted(self) -> Any:
        """The incidents counted across incidents (resolved in the period, visible) and the hours each lasted."""
        return (
            select(Incident.id.label("id"), hours_between(Incident.resolved_at, Incident.started_at).label("hours"))
            .where(*self.where, Incident.resolved_at.is_not(None))
            .subquery("counted")
        )

    def _tags(self, incidents: Any, name: str) -> Any:
        """(incident, start, service, factor category), once each, for the incidents of `incidents`."""
        return (
            select(Incident.id.label("incident_id"), Incident.started_at.label("started_at"),
                   incident_services.c.service_id.label("service_id"), RetroFactor.category.label("category"))
            .join(incidents, incidents.c.id == Incident.id)
            .join(incident_services, incident_services.c.incident_id == Incident.id)
            .join(Retrospective, Retrospective.incident_id == Incident.id)
            .join(RetroFactor, RetroFactor.retrospective_id == Retrospective.id)
            .distinct()
            .cte(name)
        )

    def by_service(self) -> list[Any]:
        """(service, incidents, hours) for every service a counted incident touched."""
        counted = self._counted()
        return list(self.session.execute(
            select(incident_services.c.service_id, func.count(), func.coalesce(func.sum(counted.c.hours), 0.0))
            .join(counted, counted.c.id == incident_services.c.incident_id)
            .group_by(incident_services.c.service_id)
        ))

    def by_factor(self) -> list[Any]:
        """(category, incidents, hours) for every factor category a counted incident's retro named."""
        counted = self._counted()
        named = (
            select(Retrospective.incident_id.label("incident_id"), RetroFactor.category.label("category"))
            .join(RetroFactor, RetroFactor.retrospective_id == Retrospective.id)
            .distinct().subquery("named")
        )
        return list(self.session.execute(
            select(named.c.category, func.count(), func.coalesce(func.sum(counted.c.hours), 0.0))
            .join(counted, counted.c.id == named.c.incident_id)
            .group_by(named.c.category)
        ))

    def by_team(self) -> list[Any]:
        """Per team: the counted incidents that touched its services, their hours and their retros against the
        deadline (an incident with services of two teams counts once for each)."""
        counted = self._counted()
        touched = (
            select(incident_services.c.incident_id.label("incident_id"), Service.team_id.label("team_id"))
            .join(Service, Service.id == incident_services.c.service_id)
            .where(Service.team_id.is_not(None))
            .distinct().subquery("touched")
        )
        held = Retrospective.status.in_(RetroStatus.done())
        live = Retrospective.status != RetroStatus.WITHDRAWN
        gone = Retrospective.deadline_at < self.now
        return list(self.session.execute(
            select(
                touched.c.team_id, func.count().label("incidents"),
                func.coalesce(func.sum(counted.c.hours), 0.0).label("hours"),
                _count(and_(held, Retrospective.scheduled_for <= Retrospective.deadline_at)).label("held_within"),
                _count(and_(held, Retrospective.scheduled_for > Retrospective.deadline_at)).label("held_past"),
                _count(and_(live, not_(held), gone)).label("not_held_past"),
            )
            .select_from(touched).join(counted, counted.c.id == touched.c.incident_id)
            .outerjoin(Retrospective, Retrospective.incident_id == touched.c.incident_id)
            .group_by(touched.c.team_id)
        ))

    def repeats(self) -> tuple[int, dict[int, int], dict[str, int]]:
        """Repeat incidents overall, by service and by category: a counted incident is a repeat of a service and
        a category when a visible incident that started before it, at most REPEAT_WINDOW_DAYS before, touched
        the same service and its retro named the same category."""
        later = self._tags(self._counted(), "later")
        visible = select(Incident.id.label("id")).where(self.visible, Incident.started_at.is_not(None)).subquery("visible")
        earlier = self._tags(visible, "earlier")
        pairs = (
            select(later.c.incident_id, later.c.service_id, later.c.category)
            .join(earlier, and_(earlier.c.service_id == later.c.service_id, earlier.c.category == later.c.category,
                                earlier.c.started_at < later.c.started_at,
                                hours_between(later.c.started_at, earlier.c.started_at) <= REPEAT_WINDOW_DAYS * 24))
            .distinct().cte("repeats")
        )
        # One statement: the pairs are found once for the three groupings.
        incidents = func.count(pairs.c.incident_id.distinct())
        no_service, no_category = cast(null(), Integer), cast(null(), String)
        rows = self.session.execute(union_all(
            select(literal(ALL).label("dimension"), no_service.label("service_id"), no_category.label("category"), incidents),
            select(literal("service"), pairs.c.service_id, no_category, incidents).group_by(pairs.c.service_id),
            select(literal("category"), no_service, pairs.c.category, incidents).group_by(pairs.c.category),
        ))
        overall, services, categories = 0, {}, {}
        for dimension, service_id, category, count in rows:
            if dimension == ALL:
                overall = count
            elif dimension == "service":
                services[service_id] = count
            else:
                categories[category] = count
        return overall, services, categories

    def follow_ups(self) -> list[Any]:
        """Per service: the action items filed against it, of the counted incidents' retros."""
        counted = self._counted()
        still_open = ActionItem.status.in_(ActionStatus.still_open())
        recent, month_old, quarter_old = (day_start(self.settings, self.today - timedelta(days=days)) for days in (7, 30, 90))
        return list(self.session.execute(
            select(
                ActionItem.service_id, func.count().label("total"),
                _count(ActionItem.status == ActionStatus.DONE).label("completed"),
                _count(still_open).label("still_open"),
                _count(ActionItem.is_overdue(self.today)).label("overdue"),
                _count(and_(still_open, ActionItem.created_at >= recent)).label("age 0-7"),
                _count(and_(still_open, ActionItem.created_at < recent, ActionItem.created_at >= month_old)).label("age 8-30"),
                _count(and_(still_open, ActionItem.created_at < month_old, ActionItem.created_at >= quarter_old))
                .label("age 31-90"),
                _count(and_(still_open, ActionItem.created_at < quarter_old)).label("age 90+"),
            )
            .join(Retrospective, Retrospective.id == ActionItem.retrospective_id)
            .join(counted, counted.c.id == Retrospective.incident_id)
            .where(ActionItem.service_id.is_not(None))
            .group_by(ActionItem.service_id)
        ))



FOLLOW_UP_COUNTS = ("total", "completed", "still_open", "overdue", *(f"age {bucket}" for bucket in AGE_BUCKETS))


def _follow_ups(counts: Counter[str]) -> FollowUpFigures:
    total = counts["total"]
    return FollowUpFigures(
        total=total, completed=counts["completed"], still_open=counts["still_open"], overdue=counts["overdue"],
        done_ratio=round(counts["completed"] / total, 3) if total else None,
        open_age_days={bucket: counts[f"age {bucket}"] for bucket in AGE_BUCKETS},
    )


def _across(query: _Query, hours_lost: float) -> AcrossIncidents:
    """The figures across incidents: a handful of aggregate queries, the teams' follow-ups added up from their
    services' (each item has one service, each service one team)."""
    session, settings = query.session, query.settings
    incidents = {service_id: (count, hours) for service_id, count, hours in query.by_service()}
    items = {row.service_id: Counter({name: row._mapping[name] for name in FOLLOW_UP_COUNTS}) for row in query.follow_ups()}
    repeat_total, repeat_services, repeat_categories = query.repeats()
    service_ids = set(incidents) | set(items)
    services = {row.id: row for row in session.execute(
        select(Service.id, Service.name, Service.team_id, Team.name.label("team"))
        .outerjoin(Team, Team.id == Service.team_id).where(Service.id.in_(service_ids)))} if service_ids else {}
    by_service = [
        ServiceFigures(service_id=service_id, service=services[service_id].name, team=services[service_id].team,
                       incidents=incidents.get(service_id, (0, 0.0))[0],
                       hours_lost=round(incidents.get(service_id, (0, 0.0))[1], 1),
                       repeat_incidents=repeat_services.get(service_id, 0),
                       action_items=_follow_ups(items.get(service_id, Counter())))
        for service_id in service_ids
    ]
    by_service.sort(key=lambda f: (-f.incidents, -f.hours_lost, f.service))
    labels = {key: choice.label for key, choice in factor_choices(settings).items() if choice.key == choice.category}
    by_factor = sorted(
        (FactorFigures(category=category, label=labels.get(category, category), incidents=count,
                       hours_lost=round(hours, 1), repeat_incidents=repeat_categories.get(category, 0))
         for category, count, hours in query.by_factor()),
        key=lambda f: (-f.incidents, -f.hours_lost, f.label))
    teams_items: dict[int, Counter[str]] = {}
    for service_id, counts in items.items():
        team_id = services[service_id].team_id
        if team_id is not None:
            teams_items.setdefault(team_id, Counter()).update(counts)
    team_rows = {row.team_id: row for row in query.by_team()}
    team_ids = set(team_rows) | set(teams_items)
    names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()) if team_ids else {}
    by_team = []
    for team_id in team_ids:
        row = team_rows.get(team_id)
        within, past, not_held = (row.held_within, row.held_past, row.not_held_past) if row else (0, 0, 0)
        decided = within + past + not_held
        by_team.append(TeamFigures(
            team_id=team_id, team=names[team_id], incidents=row.incidents if row else 0,
            hours_lost=round(row.hours, 1) if row else 0.0,
            retros_held_within_deadline=within, retros_held_past_deadline=past, retros_not_held_past_deadline=not_held,
            share_held_within_deadline=round(within / decided, 3) if decided else None,
            action_items=_follow_ups(teams_items.get(team_id, Counter())),
        ))
    by_team.sort(key=lambda f: (-f.incidents, f.team))
    return AcrossIncidents(hours_lost=round(hours_lost, 1), repeat_incidents=repeat_total,
                           by_service=by_service, by_factor=by_factor, by_team=by_team)


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
        across=_across(query, hours_lost),
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

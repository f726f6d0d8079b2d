"""The figures across incidents: by service, contributing-factor category and team, repeats and follow-ups.

Over the same incidents as the other figures once resolved, each from one aggregate query per grouping;
a team's follow-ups are added up from its services' (each item has one service, each service at most
one team). `AcrossQueries` is a part of `app.metrics.service._Query`, which gives it the session, the
viewer's incidents (`where`), the period and today.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, cast, func, literal, not_, null, select, union_all
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionStatus
from app.core.dates import day_start
from app.incidents.models import Incident
from app.metrics.schemas import (
    AGE_BUCKETS, REPEAT_WINDOW_DAYS, AcrossIncidents, FactorFigures, FollowUpFigures, ServiceFigures, TeamFigures,
)
from app.metrics.sql import count_if, hours_between
from app.retros.factors import choices as factor_choices
from app.retros.models import RetroFactor, RetroStatus, Retrospective
from app.services.models import Service, Team, incident_services
from config import Settings

OVERALL = "all"  # the group of every incident, as the other figures name it


class AcrossQueries:
    """The queries across incidents, as methods of the metrics query."""

    session: Session
    settings: Settings
    where: list[ColumnElement[bool]]
    visible: ColumnElement[bool]
    today: date
    now: datetime

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
                count_if(and_(held, Retrospective.scheduled_for <= Retrospective.deadline_at)).label("held_within"),
                count_if(and_(held, Retrospective.scheduled_for > Retrospective.deadline_at)).label("held_past"),
                count_if(and_(live, not_(held), gone)).label("not_held_past"),
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
            select(literal(OVERALL).label("dimension"), no_service.label("service_id"), no_category.label("category"), incidents),
            select(literal("service"), pairs.c.service_id, no_category, incidents).group_by(pairs.c.service_id),
            select(literal("category"), no_service, pairs.c.category, incidents).group_by(pairs.c.category),
        ))
        overall, services, categories = 0, {}, {}
        for dimension, service_id, category, count in rows:
            if dimension == OVERALL:
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
                count_if(ActionItem.status == ActionStatus.DONE).label("completed"),
                count_if(still_open).label("still_open"),
                count_if(ActionItem.is_overdue(self.today)).label("overdue"),
                count_if(and_(still_open, ActionItem.created_at >= recent)).label("age 0-7"),
                count_if(and_(still_open, ActionItem.created_at < recent, ActionItem.created_at >= month_old)).label("age 8-30"),
                count_if(and_(still_open, ActionItem.created_at < month_old, ActionItem.created_at >= quarter_old))
                .label("age 31-90"),
                count_if(and_(still_open, ActionItem.created_at < quarter_old)).label("age 90+"),
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


def across_figures(query: AcrossQueries, hours_lost: float) -> AcrossIncidents:
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

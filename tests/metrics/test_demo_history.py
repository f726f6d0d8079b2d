"""The demo's history: the promised counts, every retro state, and facts that agree with each other and with now."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app.actions.models import ActionItem, ActionItemChange, ActionStatus
from app.auth.models import User
from app.db import get_session
from app.demo import DEMO_EXTERNAL_ID, load_demo
from app.demo_history import HISTORY_PREFIX
from app.extensions import settings as app_settings
from app.incidents.models import Incident, TimelineEvent
from app.metrics.service import compute_metrics
from app.retros.models import RetroStatus, Retrospective


@pytest.fixture
def demo(app):
    with app.app_context():
        session = get_session()
        main, created = load_demo(session, settings=app_settings(app))
        session.commit()
        assert created
        return main.id, datetime.now(timezone.utc)


def test_the_main_demo_incident_is_unchanged_and_found_as_before(app, demo):
    main_id, _ = demo
    with app.app_context():
        session = get_session()
        main = session.scalar(select(Incident).where(Incident.external_id == DEMO_EXTERNAL_ID))
        assert main is not None and main.id == main_id and main.severity == "SEV1" and main.status == "resolved"
        assert session.scalar(select(func.count()).select_from(TimelineEvent).where(TimelineEvent.incident_id == main_id)) == 41
        assert main.retrospective is not None and main.retrospective.status == RetroStatus.PENDING
        items = session.scalar(select(func.count(ActionItem.id)).where(ActionItem.retrospective_id == main.retrospective.id))
        assert items == 5
        assert load_demo(session, settings=app_settings(app))[1] is False  # loaded once


def test_the_history_has_the_promised_counts_and_every_retro_state(app, demo):
    with app.app_context():
        session = get_session()
        history = session.scalars(select(Incident).where(Incident.external_id.startswith(HISTORY_PREFIX))).all()
        assert len(history) >= 30
        assert {incident.severity for incident in history} == {"SEV0", "SEV1", "SEV2"}
        assert any(incident.is_private for incident in history)
        states = Counter(session.scalars(select(Retrospective.status)))
        assert set(states) == set(RetroStatus)
        items = session.scalars(select(ActionItem)).all()
        assert len(items) >= 150
        figures = compute_metrics(session, viewer=session.scalar(select(User).where(User.is_admin.is_(True))),
                                  since=None, until=None, settings=app_settings(app))
    actions = figures.action_items
    assert actions.overdue > 0 and actions.completed_late > 0 and actions.completed_by_due_date > 0
    assert actions.by_status["wont_do"] > 0 and actions.by_status["in_progress"] > 0
    assert figures.retrospectives.held_past_deadline > 0 and figures.retrospectives.held_within_deadline > 0
    assert figures.retrospectives.overrides["retro_past_deadline"] == figures.retrospectives.scheduled_past_deadline
    assert len(figures.by_month) >= 4 and all(month.incidents > 0 for month in figures.by_month)
    assert all(figures.action_items.open_age_days[bucket] > 0 for bucket in ("0-7", "8-30", "31-90", "90+"))


def test_the_historys_facts_agree_with_each_other_and_with_now(app, demo):
    _, loaded_at = demo
    with app.app_context():
        session = get_session()
        for incident in session.scalars(select(Incident)):
            end = incident.resolved_at or loaded_at
            assert incident.started_at < end <= loaded_at, incident.title
            events = session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)).all()
            assert events and all(incident.started_at <= event.occurred_at <= end for event in events), incident.title
            retro = incident.retrospective
            assert retro is not None
            if incident.resolved_at is None:
                assert retro.status == RetroStatus.WITHDRAWN and incident.status != "resolved"
                continue
            assert incident.resolved_at <= retro.created_at and incident.resolved_at < retro.deadline_at
            if retro.status in RetroStatus.done():
                assert incident.resolved_at < retro.scheduled_for <= loaded_at
                # Its history says who completed it, after the meeting began.
                [completed] = [c for c in retro.history if c.status == RetroStatus.COMPLETED]
                assert completed.by is not None and retro.scheduled_for < completed.at <= loaded_at
            if retro.scheduled_for is not None and retro.scheduled_for > retro.deadline_at:
                assert [override.rule for override in retro.overrides] == ["retro_past_deadline"]
        for item in session.scalars(select(ActionItem)):
            retro = item.retrospective
            assert item.created_at <= loaded_at
            if retro.scheduled_for is not None:
                assert retro.scheduled_for <= item.created_at
            changes = session.scalars(
                select(ActionItemChange).where(ActionItemChange.action_item_id == item.id, ActionItemChange.field == "status")
                .order_by(ActionItemChange.at)
            ).all()
            assert all(item.created_at <= change.at <= loaded_at for change in changes)
            assert (changes[-1].new if changes else ActionStatus.OPEN) == item.status
            if item.status == ActionStatus.DONE:
                assert changes[-1].new == ActionStatus.DONE
            responders = {person.id for person in retro.incident.responders()}
            assert item.owner_id in responders or not retro.incident.is_private  # private: owners from the team
            if retro.incident.external_id.startswith(HISTORY_PREFIX):
                assert item.due_date > item.created_at.date()  # (the main demo's status-page item was due yesterday)


def test_the_demo_names_services_and_factors_consistently(app, demo):
    from app.retros.factors import choices
    from app.services.models import Service, Team

    _, loaded_at = demo
    known = choices(app_settings(app))
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count(Service.id))) == 12
        assert session.scalar(select(func.count(Team.id))) == 4
        assert all(service.team is not None for service in session.scalars(select(Service)))
        main = session.scalar(select(Incident).where(Incident.external_id == DEMO_EXTERNAL_ID))
        assert main.service_names == ["checkout-api", "orders-db"]
        named = 0
        for incident in session.scalars(select(Incident)):
            assert incident.services, incident.title
            retro = incident.retrospective
            factors = retro.factors
            if retro.status in RetroStatus.done():
                assert factors, incident.title
                named += len(factors)
                assert all(f.factor_key in known and f.category == known[f.factor_key].category for f in factors)
                assert all(retro.scheduled_for <= f.at <= loaded_at for f in factors)
            else:
                assert factors == [], incident.title
        assert named >= 20
        items = session.scalars(select(ActionItem)).all()
        filed = [item for item in items if item.service_id is not None]
        assert len(filed) > len(items) / 2
        assert all(item.service in item.retrospective.incident.services for item in filed)
    # Loading the demo again (its catalogue too) adds nothing.
    with app.app_context():
        session = get_session()
        assert load_demo(session, settings=app_settings(app))[1] is False
        assert session.scalar(select(func.count(Service.id))) == 12

"""Two deliveries at the same moment (two workers): one incident, one timeline line, on both databases."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.db import get_session
from app.incidents.models import Incident, TimelineEvent
from app.intake.models import IntakeDelivery
from tests.fakes import paging
from tests.intake.conftest import Senders

pytestmark = pytest.mark.committing
AT = datetime(2026, 11, 30, 8, tzinfo=timezone.utc)


def _all_at_once(app, payloads):
    barrier = threading.Barrier(len(payloads))
    answers = []

    def post(payload):
        client = app.test_client()
        barrier.wait()
        answers.append(Senders(client).pagerduty(payload))

    threads = [threading.Thread(target=post, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def _counts(app):
    with app.app_context():
        session = get_session()
        return (session.scalar(select(func.count()).select_from(Incident)),
                session.scalar(select(func.count()).select_from(TimelineEvent)),
                session.scalar(select(func.count()).select_from(IntakeDelivery)))


def test_the_same_event_twice_at_once_is_applied_once(app):
    event = paging.pd_event("incident.triggered", occurred_at=AT, data=paging.pd_incident(created_at=AT))
    answers = _all_at_once(app, [event, event, event])
    assert sorted(a.status_code for a in answers) == [200, 200, 200]
    assert sorted(a.get_json()["outcome"] for a in answers) == ["applied", "duplicate", "duplicate"]
    assert _counts(app) == (1, 1, 1)


def test_two_events_of_one_new_incident_at_once_make_one_incident(app):
    trigger = paging.pd_event("incident.triggered", occurred_at=AT, data=paging.pd_incident(created_at=AT))
    ack = paging.pd_event("incident.acknowledged", occurred_at=AT + timedelta(minutes=1),
                          data=paging.pd_incident(created_at=AT))
    answers = _all_at_once(app, [trigger, ack])
    assert [a.status_code for a in answers] == [200, 200]
    incidents, lines, _deliveries = _counts(app)
    assert (incidents, lines) == (1, 2)


def test_a_note_delivered_twice_at_once_to_a_known_incident_is_one_line(app):
    trigger = paging.pd_event("incident.triggered", occurred_at=AT, data=paging.pd_incident(created_at=AT))
    _all_at_once(app, [trigger])
    note = paging.pd_event("incident.annotated", occurred_at=AT + timedelta(minutes=2),
                           data=paging.pd_note("PGR0VU2", "Rolled back"))
    answers = _all_at_once(app, [note, note, note])
    assert sorted(a.get_json()["outcome"] for a in answers) == ["applied", "duplicate", "duplicate"]
    assert _counts(app)[:2] == (1, 2)

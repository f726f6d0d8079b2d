"""The insights figures against a fixture computed by hand, in a zone whose days and months differ from UTC's.

The organisation is in Europe/Berlin (UTC+2 until 25 Oct 2026, UTC+1 after) and "now" is Tue 1 Dec 2026,
10:00 UTC. Incidents (resolved, retro, meeting hours after resolution; deadline = resolution + 72 h):

  I0 SEV0 3 Aug    completed, no meeting time      a: open, oversized, made 6 Aug, due 30 Aug
  I1 SEV1 5 Oct    completed at +48 h (in time)   a: done 19 Oct (due 20 Oct), b: done 20 Oct 22:30 UTC =
                                                   21 Oct in Berlin (due 20 Oct: late), c: won't do,
                                                   d: open, made 7 Oct, due 1 Nov
  I2 SEV1 31 Oct 23:30 UTC = 1 Nov in Berlin     e: open, made 28 Nov; e2: made 23 Nov 23:00 UTC (24 Nov
     published at +120 h (late, overridden)      in Berlin: 7 days old); e3: made 23 Nov 22:30 UTC (8 days
                                                   old), due today; f: in progress, made 10 Nov, due 30 Nov;
                                                   g: done 12 Nov, due 5 Nov (late)
  I3 SEV0 10 Nov   scheduled at +24 h, not held, deadline gone
  I4 SEV2 20 Nov   pending, deadline gone
  I5 SEV2 30 Nov   pending, deadline ahead
  I6 SEV1 2 Nov    PRIVATE, completed at +72 h    j: done 18 Nov (due 20 Nov), k: open, made 5 Nov, due 25 Nov
  I7 SEV2 reopened: its retro withdrawn
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from app.actions.models import ActionItem, ActionItemChange
from app.db import get_session
from app.extensions import settings as app_settings
from app.incidents.models import Incident, IncidentRole
from app.metrics.export import metrics_csv
from app.metrics.service import compute_metrics
from app.retros.models import RetroOverride, Retrospective
from config import load_settings

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def settings_overrides():
    return {"timezone": "Europe/Berlin"}


def _incident(session, commander, *, title, severity, resolved, private=False, status="completed", meeting_after=None,
              override=False):
    resolved_at = at(resolved) if resolved else None
    incident = Incident(title=title, severity=severity, status="resolved" if resolved else "investigating",
                        visibility="private" if private else "public",
                        started_at=(resolved_at or at("2026-11-25T09:00")) - timedelta(hours=2), resolved_at=resolved_at)
    incident.roles.append(IncidentRole(person_id=commander.id, role="commander", started_at=incident.started_at))
    base = resolved_at or at("2026-11-25T11:00")
    retro = Retrospective(incident=incident, status=status, deadline_at=base + timedelta(hours=72),
                          target_at=base + timedelta(hours=48), created_at=base,
                          scheduled_for=base + timedelta(hours=meeting_after) if meeting_after is not None else None)
    if override:
        retro.overrides.append(RetroOverride(rule="retro_past_deadline", reason="team offsite", at=base))
    session.add_all([incident, retro])
    session.flush()
    return retro


def _item(session, retro, owner, *, made, due, status="open", done=None, oversized=False):
    item = ActionItem(retrospective=retro, title=f"Item made {made}", owner_id=owner.id, due_date=date.fromisoformat(due),
                      status=status, oversized=oversized, created_at=at(made), updated_at=at(done or made))
    session.add(item)
    session.flush()
    session.add(ActionItemChange(action_item_id=item.id, field="created", new=item.title, via="api", at=at(made)))
    if done:
        session.add(ActionItemChange(action_item_id=item.id, field="status", old="open", new="done", via="api", at=at(done)))


@pytest.fixture
def fixture(app, factory):
    """The incidents above; (the member who responded to the private one, an outsider): users with headers."""
    member, member_headers = factory.user(email="member@example.com")
    outsider, outsider_headers = factory.user(email="outsider@example.com")
    with app.app_context():
        session = get_session()
        boss = factory.person(email="boss@example.com")
        i0 = _incident(session, boss, title="I0", severity="SEV0", resolved="2026-08-03T08:00")
        _item(session, i0, boss, made="2026-08-06T10:00", due="2026-08-30", oversized=True)
        i1 = _incident(session, boss, title="I1", severity="SEV1", resolved="2026-10-05T08:00", meeting_after=48)
        _item(session, i1, boss, made="2026-10-07T10:00", due="2026-10-20", status="done", done="2026-10-19T09:00")
        _item(session, i1, boss, made="2026-10-07T10:00", due="2026-10-20", status="done", done="2026-10-20T22:30")
        _item(session, i1, boss, made="2026-10-07T10:00", due="2026-10-20", status="wont_do")
        _item(session, i1, boss, made="2026-10-07T10:00", due="2026-11-01")
        i2 = _incident(session, boss, title="I2", severity="SEV1", resolved="2026-10-31T23:30", status="published",
                       meeting_after=120, override=True)
        _item(session, i2, boss, made="2026-11-28T10:00", due="2026-12-15")
        _item(session, i2, boss, made="2026-11-23T23:00", due="2026-12-20")
        _item(session, i2, boss, made="2026-11-23T22:30", due="2026-12-01")
        _item(session, i2, boss, made="2026-11-10T10:00", due="2026-11-30", status="in_progress")
        _item(session, i2, boss, made="2026-11-05T10:00", due="2026-11-05", status="done", done="2026-11-12T10:00")
        _incident(session, boss, title="I3", severity="SEV0", resolved="2026-11-10T12:00", status="scheduled",
                  meeting_after=24)
        _incident(session, boss, title="I4", severity="SEV2", resolved="2026-11-20T12:00", status="pending")
        _incident(session, boss, title="I5", severity="SEV2", resolved="2026-11-30T12:00", status="pending")
        i6 = _incident(session, session.merge(member.person), title="I6", severity="SEV1", resolved="2026-11-02T09:00",
                       private=True, meeting_after=72)
        _item(session, i6, boss, made="2026-11-05T10:00", due="2026-11-20", status="done", done="2026-11-18T08:00")
        _item(session, i6, boss, made="2026-11-05T10:00", due="2026-11-25")
        _incident(session, boss, title="I7", severity="SEV2", resolved=None, status="withdrawn")
        session.commit()
    return {"member": (member, member_headers), "outsider": (outsider, outsider_headers)}


def _figures(app, user, *, since=None, until=None, settings=None):
    with app.app_context():
        return compute_metrics(get_session(), viewer=user, since=since, until=until,
                               settings=settings or app_settings(app), now=NOW)


def test_an_outsider_gets_the_hand_computed_figures_without_the_private_incident(app, fixture):
    figures = _figures(app, fixture["outsider"][0])
    assert figures.as_of == date(2026, 12, 1) and figures.timezone == "Europe/Berlin"
    assert figures.incidents == 6
    retros = figures.retrospectives
    assert retros.by_status == {"pending": 2, "scheduled": 1, "completed": 2, "published": 1, "withdrawn": 1}
    assert (retros.total, retros.held, retros.held_within_deadline, retros.held_past_deadline,
            retros.not_held_past_deadline) == (7, 3, 1, 1, 2)
    assert retros.share_held_within_deadline == 0.25
    assert (retros.scheduled_within_deadline, retros.scheduled_past_deadline, retros.unscheduled_past_deadline) == (2, 1, 2)
    assert retros.overrides == {"retro_past_deadline": 1}
    assert retros.median_hours_resolution_to_retro == 48.0  # 24, 48, 120
    assert (retros.median_hours_resolution_to_held, retros.p90_hours_resolution_to_held) == (84.0, 112.8)  # 48, 120
    items = figures.action_items
    assert items.by_status == {"open": 5, "in_progress": 1, "done": 3, "wont_do": 1}
    assert (items.total, items.created, items.completed, items.completed_by_due_date, items.completed_late) == (10, 10, 3, 1, 2)
    assert (items.overdue, items.oversized, items.done_ratio) == (3, 1, 0.3)
    assert items.open_age_days == {"0-7": 2, "8-30": 2, "31-90": 1, "90+": 1}


def test_a_member_of_the_private_incident_sees_it_counted(app, fixture):
    figures = _figures(app, fixture["member"][0])
    retros, items = figures.retrospectives, figures.action_items
    assert figures.incidents == 7 and retros.total == 8 and retros.held == 4
    assert (retros.held_within_deadline, retros.share_held_within_deadline) == (2, 0.4)
    assert retros.median_hours_resolution_to_retro == 60.0  # 24, 48, 72, 120
    assert (retros.median_hours_resolution_to_held, retros.p90_hours_resolution_to_held) == (72.0, 110.4)
    assert (items.total, items.completed, items.completed_by_due_date, items.overdue) == (12, 4, 2, 4)
    assert items.open_age_days == {"0-7": 2, "8-30": 3, "31-90": 1, "90+": 1}
    assert figures.by_severity["SEV1"].incidents == 3


def test_groups_by_severity_and_by_the_organisations_month(app, fixture):
    figures = _figures(app, fixture["outsider"][0])
    assert {key: group.incidents for key, group in figures.by_severity.items()} == {"SEV0": 2, "SEV1": 2, "SEV2": 2}
    sev1 = figures.by_severity["SEV1"]
    assert (sev1.retrospectives.median_hours_resolution_to_held, sev1.action_items.total) == (84.0, 9)
    assert figures.by_severity["SEV2"].retrospectives.by_status["withdrawn"] == 1  # reopened: a severity, no month
    months = {group.month: group for group in figures.by_month}
    assert list(months) == ["2026-08", "2026-09", "2026-10", "2026-11"]  # September had none: shown as 0
    assert [months[m].incidents for m in months] == [1, 0, 1, 4]  # I2 was resolved on 1 Nov in Berlin
    november = months["2026-11"]
    assert (november.retrospectives.median_hours_resolution_to_held, november.retrospectives.p90_hours_resolution_to_held) \
        == (120.0, 120.0)
    assert (november.action_items.total, november.action_items.overdue) == (5, 1)
    assert months["2026-09"].retrospectives.median_hours_resolution_to_held is None


def test_in_utc_the_same_rows_fall_on_other_days_and_months(app, fixture):
    utc = load_settings(overrides={"timezone": "UTC"}, environ={})
    figures = _figures(app, fixture["outsider"][0], settings=utc)
    assert [(g.month, g.incidents) for g in figures.by_month] == [("2026-08", 1), ("2026-09", 0), ("2026-10", 2), ("2026-11", 3)]
    # b was done at 22:30 UTC on its due date: on time in UTC, a day late in Berlin (UTC+2 in October).
    assert (figures.action_items.completed_by_due_date, figures.action_items.completed_late) == (2, 1)
    # e2 was made at 23:00 UTC on 23 Nov: 24 Nov in Berlin (7 days old), 23 Nov in UTC (8 days old).
    assert figures.action_items.open_age_days == {"0-7": 1, "8-30": 3, "31-90": 1, "90+": 1}


def test_a_period_counts_the_incidents_resolved_in_its_days(app, fixture):
    outsider = fixture["outsider"][0]
    november = _figures(app, outsider, since=date(2026, 11, 1), until=date(2026, 11, 30))
    assert november.incidents == 4 and [g.month for g in november.by_month] == ["2026-11"]
    assert november.retrospectives.by_status["withdrawn"] == 0  # a reopened incident is in no period
    assert _figures(app, outsider, since=date(2026, 11, 2), until=date(2026, 11, 30)).incidents == 3


def test_the_api_answers_the_same_figures_and_keeps_private_incidents_private(app, client, fixture, auth):
    from app.auth.models import User

    for who, expected in (("outsider", 6), ("member", 7)):
        user, headers = fixture[who]
        body = client.get("/api/v1/metrics", headers=headers).get_json()
        assert body["incidents"] == expected
        with app.app_context():
            viewer = get_session().get(User, user.id)
            now_figures = compute_metrics(get_session(), viewer=viewer, since=None, until=None, settings=app_settings(app))
        assert body == now_figures.model_dump(mode="json")
    admin = client.get("/api/v1/metrics", headers=auth).get_json()
    assert admin["incidents"] == 7 and admin["by_severity"]["SEV1"]["action_items"]["total"] == 11


def _parse(value: str):
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def test_the_csv_holds_the_same_figures_as_the_json(app, fixture):
    figures = _figures(app, fixture["member"][0])
    rows = list(csv.reader(io.StringIO(metrics_csv(figures))))
    assert rows[0] == ["section", "group", "figure", "value"]
    rebuilt: dict = {"by_severity": {}, "by_month": {}}
    for section, group, figure, value in rows[1:]:
        if section in ("across", "service", "factor", "team"):
            continue  # the figures across incidents: tests/metrics/test_across.py
        target = {"period": rebuilt, "overall": rebuilt}.get(section)
        if target is None:
            target = rebuilt["by_severity" if section == "severity" else "by_month"].setdefault(group, {})
        *path, last = figure.split(".")
        for key in path:
            target = target.setdefault(key, {})
        target[last] = _parse(value)
    expected = figures.model_dump(mode="json", exclude={"across"})
    expected["by_month"] = {group.pop("month"): group for group in expected["by_month"]}
    assert rebuilt == _without_empty(expected)  # no override of any rule: no row (the JSON's {})
    assert ["overall", "", "retrospectives.overrides.retro_past_deadline", "1"] in rows


def _without_empty(value):
    if isinstance(value, dict):
        return {key: _without_empty(inner) for key, inner in value.items() if inner != {}}
    return value


def test_today_is_the_organisations_when_its_date_is_ahead_of_utcs(app, fixture):
    outsider = fixture["outsider"][0]
    late_evening = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 Dec in Berlin
    with app.app_context():
        berlin = compute_metrics(get_session(), viewer=outsider, since=None, until=None, settings=app_settings(app),
                                 now=late_evening)
        utc = compute_metrics(get_session(), viewer=outsider, since=None, until=None,
                              settings=load_settings(overrides={"timezone": "UTC"}, environ={}), now=late_evening)
    assert (berlin.as_of, utc.as_of) == (date(2026, 12, 2), date(2026, 12, 1))
    # e3 was due on 1 Dec: overdue on Berlin's 2 Dec, not yet on UTC's 1 Dec.
    assert (berlin.action_items.overdue, utc.action_items.overdue) == (4, 3)
    assert berlin.action_items.open_age_days == {"0-7": 1, "8-30": 3, "31-90": 1, "90+": 1}

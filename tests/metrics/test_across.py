"""The figures across incidents (by service, contributing-factor category and team; repeats; follow-ups)
against a fixture computed by hand. Europe/Berlin, "now" Tue 1 Dec 2026 10:00 UTC; deadline = resolution + 72 h.

Teams: Payments owns api and ledger, Web owns frontend; batch has no team.

  A  1 Jul 08:00-10:00 (2 h)    api                factors change.deploy + change (one category)   held +24 h (in time)
  B 15 Aug 08:00-14:00 (6 h)    api, frontend      change                                          held +96 h (late)
  F  1 Sep 08:00-09:00 (1 h)    ledger             none                                            held +48 h (in time)
  E 10 Nov 08:00-18:00 (10 h)   frontend           change        PRIVATE (the member responded)   held +24 h (in time)
  C 20 Nov 08:00-11:00 (3 h)    api                capacity                                        pending, deadline gone
  D 25 Nov 08:00-26 Nov 08:00 (24 h)  frontend, batch  change                                      scheduled +24 h, not held, deadline gone

Repeats (an earlier visible incident, started at most 90 days before, sharing a service and a category):
B repeats A (api, change; 45 days). D started 102 days after B: no repeat for the outsider, but for the member
E (87 days after B) and D (15 days after E) repeat too, on frontend and change.

Action items (service): B: api done; frontend open, made 20 Aug, due 1 Sep (overdue, 90+ days old).
C: api open, made 28 Nov, due 15 Dec (0-7); ledger in progress, made 10 Nov, due 30 Nov (overdue, 8-30).
E: frontend done. D: one without a service (in no service's or team's figures).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from app.actions.models import ActionItem
from app.db import get_session
from app.extensions import settings as app_settings
from app.incidents.models import Incident, IncidentRole
from app.metrics.export import metrics_csv
from app.metrics.pages import hours_in_words
from app.metrics.service import compute_metrics
from app.retros.models import RetroFactor, Retrospective
from app.services.models import Service, Team
from tests.metrics.test_figures import NOW, at
from tests.web import Page, sign_in

@pytest.fixture
def settings_overrides():
    return {"timezone": "Europe/Berlin"}


def _incident(session, responder, title, *, started, hours, services, factors, status="completed", meeting_after=None,
              private=False):
    started_at = at(started)
    resolved_at = started_at + timedelta(hours=hours)
    incident = Incident(title=title, severity="SEV1", status="resolved", visibility="private" if private else "public",
                        started_at=started_at, resolved_at=resolved_at, services=services)
    incident.roles.append(IncidentRole(person_id=responder.id, role="commander", started_at=started_at))
    retro = Retrospective(incident=incident, status=status, deadline_at=resolved_at + timedelta(hours=72),
                          target_at=resolved_at + timedelta(hours=48), created_at=resolved_at,
                          scheduled_for=resolved_at + timedelta(hours=meeting_after) if meeting_after is not None else None)
    retro.factors.extend(RetroFactor(factor_key=key, category=key.partition(".")[0], note="") for key in factors)
    session.add_all([incident, retro])
    session.flush()
    return retro


def _item(session, retro, owner, service, *, made, due, status="open"):
    session.add(ActionItem(retrospective=retro, title=f"Item made {made}", owner_id=owner.id, service=service,
                           due_date=date.fromisoformat(due), status=status, created_at=at(made), updated_at=at(made)))


@pytest.fixture
def fixture(app, factory):
    member, _ = factory.user(email="member@example.com")
    outsider, _ = factory.user(email="outsider@example.com")
    with app.app_context():
        session = get_session()
        boss = factory.person(email="boss@example.com")
        payments, web = Team(name="Payments"), Team(name="Web")
        api, ledger = Service(name="api", team=payments), Service(name="ledger", team=payments)
        frontend, batch = Service(name="frontend", team=web), Service(name="batch")
        session.add_all([payments, web, api, ledger, frontend, batch])
        _incident(session, boss, "A", started="2026-07-01T08:00", hours=2, services=[api],
                  factors=["change.deploy", "change"], meeting_after=24)
        b = _incident(session, boss, "B", started="2026-08-15T08:00", hours=6, services=[api, frontend],
                      factors=["change"], status="published", meeting_after=96)
        _item(session, b, boss, api, made="2026-08-20T10:00", due="2026-09-01", status="done")
        _item(session, b, boss, frontend, made="2026-08-20T10:00", due="2026-09-01")
        _incident(session, boss, "F", started="2026-09-01T08:00", hours=1, services=[ledger], factors=[], meeting_after=48)
        e = _incident(session, session.merge(member.person), "E", started="2026-11-10T08:00", hours=10,
                      services=[frontend], factors=["change"], meeting_after=24, private=True)
        _item(session, e, boss, frontend, made="2026-11-11T10:00", due="2026-11-20", status="done")
        c = _incident(session, boss, "C", started="2026-11-20T08:00", hours=3, services=[api], factors=["capacity"],
                      status="pending")
        _item(session, c, boss, api, made="2026-11-28T10:00", due="2026-12-15")
        _item(session, c, boss, ledger, made="2026-11-10T10:00", due="2026-11-30", status="in_progress")
        d = _incident(session, boss, "D", started="2026-11-25T08:00", hours=24, services=[frontend, batch],
                      factors=["change"], status="scheduled", meeting_after=24)
        _item(session, d, boss, None, made="2026-11-26T10:00", due="2026-11-27")
        session.commit()
    return {"member": member, "outsider": outsider}


def _across(app, user, *, since=None, until=None):
    with app.app_context():
        return compute_metrics(get_session(), viewer=user, since=since, until=until, settings=app_settings(app),
                               now=NOW)


def _follow_ups(total, completed, still_open, overdue, ratio, **ages):
    return {"total": total, "completed": completed, "still_open": still_open, "overdue": overdue, "done_ratio": ratio,
            "open_age_days": {"0-7": 0, "8-30": 0, "31-90": 0, "90+": 0} | {k.replace("_", "-"): v for k, v in ages.items()}}


def _by(groups, key):
    return {getattr(group, key): group.model_dump(mode="json", exclude={key, "service_id", "team_id"}) for group in groups}


def test_an_outsider_gets_the_hand_computed_figures_by_service_factor_and_team(app, fixture):
    figures = _across(app, fixture["outsider"])
    across = figures.across
    assert (across.hours_lost, across.repeat_incidents) == (36.0, 1)  # 2 + 6 + 1 + 3 + 24; B
    assert [group.service for group in across.by_service] == ["api", "frontend", "batch", "ledger"]
    assert _by(across.by_service, "service") == {
        "api": {"team": "Payments", "incidents": 3, "hours_lost": 11.0, "repeat_incidents": 1,
                "action_items": _follow_ups(2, 1, 1, 0, 0.5, **{"0_7": 1})},
        "frontend": {"team": "Web", "incidents": 2, "hours_lost": 30.0, "repeat_incidents": 0,
                     "action_items": _follow_ups(1, 0, 1, 1, 0.0, **{"90+": 1})},
        "batch": {"team": None, "incidents": 1, "hours_lost": 24.0, "repeat_incidents": 0,
                  "action_items": _follow_ups(0, 0, 0, 0, None)},
        "ledger": {"team": "Payments", "incidents": 1, "hours_lost": 1.0, "repeat_incidents": 0,
                   "action_items": _follow_ups(1, 0, 1, 1, 0.0, **{"8_30": 1})},
    }
    assert _by(across.by_factor, "category") == {
        "change": {"label": "Change or deploy", "incidents": 3, "hours_lost": 32.0, "repeat_incidents": 1},  # A, B, D
        "capacity": {"label": "Capacity", "incidents": 1, "hours_lost": 3.0, "repeat_incidents": 0},
    }
    assert _by(across.by_team, "team") == {
        "Payments": {"incidents": 4, "hours_lost": 12.0, "retros_held_within_deadline": 2, "retros_held_past_deadline": 1,
                     "retros_not_held_past_deadline": 1, "share_held_within_deadline": 0.5,
                     "action_items": _follow_ups(3, 1, 2, 1, 0.333, **{"0_7": 1, "8_30": 1})},
        "Web": {"incidents": 2, "hours_lost": 30.0, "retros_held_within_deadline": 0, "retros_held_past_deadline": 1,
                "retros_not_held_past_deadline": 1, "share_held_within_deadline": 0.0,
                "action_items": _follow_ups(1, 0, 1, 1, 0.0, **{"90+": 1})},
    }


def test_a_member_of_the_private_incident_sees_it_counted_and_its_repeats(app, fixture):
    across = _across(app, fixture["member"]).across
    assert (across.hours_lost, across.repeat_incidents) == (46.0, 3)  # B, E, D
    frontend = _by(across.by_service, "service")["frontend"]
    assert (frontend["incidents"], frontend["hours_lost"], frontend["repeat_incidents"]) == (3, 40.0, 2)
    assert frontend["action_items"] == _follow_ups(2, 1, 1, 1, 0.5, **{"90+": 1})
    change = _by(across.by_factor, "category")["change"]
    assert (change["incidents"], change["hours_lost"], change["repeat_incidents"]) == (4, 42.0, 3)
    web = _by(across.by_team, "team")["Web"]
    assert (web["incidents"], web["retros_held_within_deadline"], web["share_held_within_deadline"]) == (3, 1, 0.333)


def test_a_period_counts_its_incidents_and_repeats_of_earlier_ones(app, fixture):
    november = _across(app, fixture["member"], since=date(2026, 11, 1), until=date(2026, 11, 30)).across
    # E, C, D: E's earlier B lies before the period and still makes it a repeat.
    assert (november.hours_lost, november.repeat_incidents) == (37.0, 2)
    assert {g.service: g.incidents for g in november.by_service} == {"frontend": 2, "api": 1, "batch": 1, "ledger": 0}
    assert {g.team: g.incidents for g in november.by_team} == {"Web": 2, "Payments": 1}


def test_the_csv_rows_across_incidents_are_the_json_figures_and_keep_private_incidents_out(app, fixture):
    for who in ("outsider", "member"):
        figures = _across(app, fixture[who])
        rows = [row for row in csv.reader(io.StringIO(metrics_csv(figures)))
                if row[0] in ("across", "service", "factor", "team")]
        rebuilt: dict = {"service": {}, "factor": {}, "team": {}}
        for section, group, figure, value in rows:
            target = rebuilt if section == "across" else rebuilt[section].setdefault(group, {})
            *path, last = figure.split(".")
            for key in path:
                target = target.setdefault(key, {})
            target[last] = value
        expected = figures.across.model_dump(mode="json")
        as_text = lambda value: "" if value is None else str(value)  # noqa: E731
        assert rebuilt["hours_lost"] == as_text(expected["hours_lost"])
        assert rebuilt["repeat_incidents"] == as_text(expected["repeat_incidents"])
        for section, key, field in (("service", "service", "by_service"), ("factor", "category", "by_factor"),
                                    ("team", "team", "by_team")):
            assert rebuilt[section] == {group.pop(key): _texts(group) for group in expected[field]}
        frontend = rebuilt["service"]["frontend"]
        assert frontend["incidents"] == ("3" if who == "member" else "2")
        assert frontend["repeat_incidents"] == ("2" if who == "member" else "0")


def _texts(value):
    if isinstance(value, dict):
        return {key: _texts(inner) for key, inner in value.items()}
    return "" if value is None else str(value)


def _table(html, chart_id):
    """One chart's table: {row label: [numbers]}."""
    section = html.split(f'id="{chart_id}-numbers"', 1)[1].split("</table>", 1)[0]
    return {label: [float(v) for v in re.findall(r'data-value="([\d.]+)"', cells)]
            for label, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', section)}


@pytest.mark.parametrize("who", ["outsider", "member"])
def test_the_page_and_its_json_download_show_the_api_figures(app, fixture, who):
    web = sign_in(app, f"{who}@example.com")
    query = "since=2026-01-01&until=2026-12-31"
    response = web.get(f"/insights?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    api = web.get(f"/api/v1/metrics?{query}").get_json()["across"]
    page = Page.of(response)
    assert page.find(id="repeats").text == str(api["repeat_incidents"]) == ("3" if who == "member" else "1")
    assert page.find(id="hours-lost").text == hours_in_words(api["hours_lost"])
    assert _table(html, "by-service") == {f["service"]: [f["incidents"], f["repeat_incidents"]] for f in api["by_service"]}
    assert _table(html, "hours-by-factor") == {f["label"]: [f["hours_lost"]] for f in api["by_factor"]}
    assert _table(html, "retros-by-team") == {
        f["team"]: [f["retros_held_within_deadline"], f["retros_held_past_deadline"], f["retros_not_held_past_deadline"]]
        for f in api["by_team"]}
    assert _table(html, "follow-ups-by-team")["Web"] == ([0, 1, 1] if who == "outsider" else [1, 1, 1])  # E's item done
    assert _table(html, "by-service")["frontend"] == ([2, 0] if who == "outsider" else [3, 2])
    assert "Payments" in _table(html, "ageing-by-team")
    download = web.get(page.find(id="download-json").attrs["href"])
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_json()["across"] == api

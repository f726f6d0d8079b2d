"""GET /api/v1/metrics and the insights page over 20,000 incidents and 100,000 action items on PostgreSQL, each
against one hand-written aggregate SQL query that computes the same figures (GROUPING SETS, percentile_cont,
JSON built by PostgreSQL), those across incidents too (by service, factor category and team; repeats; follow-ups):
incidents touch one or two of 40 services of 8 teams, held retros name 0-2 factor categories, items are filed
against one of their incident's services or none.

- the API: every incident (no period), as the API answers by default; the time of the call through the test client;
- the insights page (/insights): its default period, the last 90 days, signed in through the sign-in form; its
  server time (the WSGI call). The baseline query is the same with the period's bounds. The page's headline
  numbers (incidents, action items created) are checked to be the baseline's.
Both as an admin and as a member (the visibility rule applied). Samples are taken in turns (the machine is
shared); the baseline's best median counts, with PostgreSQL's JIT or without it (as the app runs its queries).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import tempfile
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert, text

from benchmarks.common import Outcome, make_app, median_seconds, scratch_postgres, timed_wsgi

NAME = "metrics"
DESCRIPTION = "metrics API and insights page over 20,000 incidents and 100,000 action items on PostgreSQL vs one hand-written query"
INCIDENTS = 20_000
ITEMS = 100_000
PEOPLE = 50
TARGET_RATIO = 2.0
ROUNDS = 11
ZONE = "Europe/Berlin"
NOW = datetime.now(timezone.utc)
PASSWORD = "bench horse battery staple"
PAGE_DAYS = 90  # the insights page's default period: the last 90 days, today included
TEAMS, SERVICES = 8, 40  # every tenth service has no team
CATEGORIES = ("change", "capacity", "dependency", "configuration", "monitoring", "process", "knowledge")

# The same figures as app/metrics/service.py, in one statement, as someone would write it by hand.
BASELINE = """
WITH vis AS (
  SELECT i.id, i.severity, i.started_at, i.resolved_at, to_char(timezone(:zone, i.resolved_at), 'YYYY-MM') AS month
  FROM incidents i
  WHERE {period} {visible}
),
seen AS (SELECT i.id, i.started_at FROM incidents i WHERE {visible}),
r AS (
  SELECT v.severity, v.month, r.status, r.deadline_at, r.scheduled_for, r.id,
         r.status IN ('completed', 'published') AS held, r.status <> 'withdrawn' AS live,
         EXTRACT(EPOCH FROM r.scheduled_for - v.resolved_at) / 3600.0 AS hours, v.resolved_at
  FROM retrospectives r JOIN vis v ON v.id = r.incident_id
),
retro_figures AS (
  SELECT severity, month, GROUPING(severity, month) AS grouping, count(*) AS total,
         count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'scheduled') AS scheduled,
         count(*) FILTER (WHERE status = 'completed') AS completed, count(*) FILTER (WHERE status = 'published') AS published,
         count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
         count(*) FILTER (WHERE live AND scheduled_for <= deadline_at) AS scheduled_within,
         count(*) FILTER (WHERE live AND scheduled_for > deadline_at) AS scheduled_past,
         count(*) FILTER (WHERE live AND scheduled_for IS NULL AND deadline_at < :now) AS unscheduled_past,
         count(*) FILTER (WHERE held AND scheduled_for <= deadline_at) AS held_within,
         count(*) FILTER (WHERE held AND scheduled_for > deadline_at) AS held_past,
         count(*) FILTER (WHERE live AND NOT held AND deadline_at < :now) AS not_held_past,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE live AND hours IS NOT NULL) AS scheduled_p50,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE held AND hours IS NOT NULL) AS held_p50,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) FILTER (WHERE held AND hours IS NOT NULL) AS held_p90
  FROM r GROUP BY GROUPING SETS ((), (severity), (month))
),
overrides AS (
  SELECT severity, month, rule, GROUPING(severity, month) AS grouping, count(*) AS n
  FROM retro_overrides o JOIN r ON r.id = o.retrospective_id
  GROUP BY GROUPING SETS ((rule), (severity, rule), (month, rule))
),
done AS (
  SELECT action_item_id, max(at) AS at FROM action_item_history
  WHERE field = 'status' AND new = 'done' AND applied GROUP BY action_item_id
),
item_figures AS (
  SELECT v.severity, v.month, GROUPING(v.severity, v.month) AS grouping, count(*) AS total,
         count(*) FILTER (WHERE a.status = 'open') AS open, count(*) FILTER (WHERE a.status = 'in_progress') AS in_progress,
         count(*) FILTER (WHERE a.status = 'done') AS done, count(*) FILTER (WHERE a.status = 'wont_do') AS wont_do,
         count(*) FILTER (WHERE a.oversized) AS oversized,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.due_date < :today) AS overdue,
         count(*) FILTER (WHERE a.status = 'done' AND timezone(:zone, d.at)::date <= a.due_date) AS on_time,
         count(*) FILTER (WHERE a.status = 'done' AND timezone(:zone, d.at)::date > a.due_date) AS late,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at >= :age7) AS age_0_7,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at < :age7 AND a.created_at >= :age30) AS age_8_30,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at < :age30 AND a.created_at >= :age90) AS age_31_90,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at < :age90) AS age_90
  FROM action_items a JOIN retrospectives r ON r.id = a.retrospective_id JOIN vis v ON v.id = r.incident_id
  LEFT JOIN done d ON d.action_item_id = a.id
  GROUP BY GROUPING SETS ((), (v.severity), (v.month))
),
incident_figures AS (
  SELECT severity, month, GROUPING(severity, month) AS grouping, count(*) AS n
  FROM vis WHERE resolved_at IS NOT NULL GROUP BY GROUPING SETS ((), (severity), (month))
),
lost AS (
  SELECT id, started_at, EXTRACT(EPOCH FROM resolved_at - started_at) / 3600.0 AS hours FROM vis WHERE resolved_at IS NOT NULL
),
service_figures AS (
  SELECT sv.id, sv.name, t.name AS team, count(*) AS incidents, sum(l.hours) AS hours
  FROM incident_services s JOIN lost l ON l.id = s.incident_id JOIN services sv ON sv.id = s.service_id
  LEFT JOIN teams t ON t.id = sv.team_id GROUP BY sv.id, sv.name, t.name
),
factor_figures AS (
  SELECT n.category, count(*) AS incidents, sum(l.hours) AS hours
  FROM (SELECT DISTINCT r.incident_id, f.category FROM retro_factors f JOIN retrospectives r ON r.id = f.retrospective_id) n
  JOIN lost l ON l.id = n.incident_id GROUP BY n.category
),
team_figures AS (
  SELECT t.id, t.name, count(*) AS incidents, sum(l.hours) AS hours,
         count(*) FILTER (WHERE r.status IN ('completed', 'published') AND r.scheduled_for <= r.deadline_at) AS held_within,
         count(*) FILTER (WHERE r.status IN ('completed', 'published') AND r.scheduled_for > r.deadline_at) AS held_past,
         count(*) FILTER (WHERE r.status IN ('pending', 'scheduled') AND r.deadline_at < :now) AS not_held_past
  FROM (SELECT DISTINCT s.incident_id, sv.team_id FROM incident_services s JOIN services sv ON sv.id = s.service_id
        WHERE sv.team_id IS NOT NULL) it
  JOIN lost l ON l.id = it.incident_id JOIN teams t ON t.id = it.team_id
  LEFT JOIN retrospectives r ON r.incident_id = it.incident_id GROUP BY t.id, t.name
),
tags AS (
  SELECT DISTINCT i.id, i.started_at, s.service_id, f.category
  FROM seen i JOIN incident_services s ON s.incident_id = i.id JOIN retrospectives r ON r.incident_id = i.id
  JOIN retro_factors f ON f.retrospective_id = r.id
),
repeats AS (
  SELECT DISTINCT later.id, later.service_id, later.category
  FROM tags later JOIN lost l ON l.id = later.id
  JOIN tags earlier ON earlier.service_id = later.service_id AND earlier.category = later.category
   AND earlier.started_at < later.started_at AND earlier.started_at >= later.started_at - interval '90 days'
),
repeat_figures AS (
  SELECT service_id, category, GROUPING(service_id, category) AS grouping, count(DISTINCT id) AS n
  FROM repeats GROUP BY GROUPING SETS ((), (service_id), (category))
),
follow_ups AS (
  SELECT sv.team_id, a.service_id, GROUPING(sv.team_id, a.service_id) AS grouping, count(*) AS total,
         count(*) FILTER (WHERE a.status = 'done') AS done,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress')) AS still_open,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.due_date < :today) AS overdue,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at >= :age7) AS age_0_7,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at < :age7 AND a.created_at >= :age30) AS age_8_30,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at < :age30 AND a.created_at >= :age90) AS age_31_90,
         count(*) FILTER (WHERE a.status IN ('open', 'in_progress') AND a.created_at < :age90) AS age_90
  FROM action_items a JOIN retrospectives r ON r.id = a.retrospective_id JOIN lost l ON l.id = r.incident_id
  JOIN services sv ON sv.id = a.service_id
  GROUP BY GROUPING SETS ((a.service_id), (sv.team_id))
)
SELECT json_build_object(
  'incidents', (SELECT json_agg(x) FROM incident_figures x), 'retros', (SELECT json_agg(x) FROM retro_figures x),
  'overrides', (SELECT json_agg(x) FROM overrides x), 'items', (SELECT json_agg(x) FROM item_figures x),
  'hours_lost', (SELECT sum(hours) FROM lost), 'services', (SELECT json_agg(x) FROM service_figures x),
  'factors', (SELECT json_agg(x) FROM factor_figures x), 'teams', (SELECT json_agg(x) FROM team_figures x),
  'repeats', (SELECT json_agg(x) FROM repeat_figures x), 'follow_ups', (SELECT json_agg(x) FROM follow_ups x))::text
"""
VISIBLE = """(:admin OR i.visibility = 'public'
     OR EXISTS (SELECT 1 FROM incident_roles ro WHERE ro.incident_id = i.id AND ro.person_id = :person)
     OR EXISTS (SELECT 1 FROM retrospectives rr WHERE rr.incident_id = i.id AND rr.facilitator_id = :person)
     OR EXISTS (SELECT 1 FROM retro_participants pa JOIN retrospectives rp ON rp.id = pa.retrospective_id
                WHERE rp.incident_id = i.id AND pa.person_id = :person))"""
# The insights page's figures are those of a period: {period} in BASELINE.
PERIOD = "i.resolved_at >= :since AND i.resolved_at < :until AND"


def _rows(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Incidents over two years, their commanders, retros (every state), participants, overrides, items and history."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in
                                             ("incidents", "roles", "retros", "participants", "overrides", "items", "history",
                                              "teams", "services", "incident_services", "factors")}
    rows["teams"] = [{"id": t, "name": f"team-{t}"} for t in range(1, TEAMS + 1)]
    rows["services"] = [{"id": s, "name": f"service-{s}", "team_id": None if s % 10 == 0 else 1 + s % TEAMS, "description": ""}
                        for s in range(1, SERVICES + 1)]
    item_id = 0
    for n in range(1, INCIDENTS + 1):
        started = NOW - timedelta(days=730 * (INCIDENTS - n) / INCIDENTS + 1, minutes=rng.randint(0, 600))
        resolved = started + timedelta(minutes=rng.randint(20, 600))
        rows["incidents"].append({"id": n, "title": f"Incident {n}", "severity": rng.choice(("SEV0", "SEV1", "SEV1", "SEV2", "SEV2")),
                                  "status": "resolved", "visibility": "private" if n % 20 == 0 else "public",
                                  "description": "", "started_at": started, "resolved_at": resolved,
                                  "created_at": started, "updated_at": resolved})
        commander = rng.randint(1, PEOPLE)
        rows["roles"].append({"incident_id": n, "person_id": commander, "role": "commander", "started_at": started})
        status = rng.choices(("completed", "published", "scheduled", "pending", "withdrawn"), (50, 25, 8, 12, 5))[0]
        deadline = resolved + timedelta(days=3)
        meeting = resolved + timedelta(hours=rng.uniform(4, 130)) if status in ("completed", "published", "scheduled") else None
        rows["retros"].append({"id": n, "incident_id": n, "status": status, "deadline_at": deadline,
                               "target_at": resolved + timedelta(days=2), "scheduled_for": meeting, "template": "standard",
                               "created_at": resolved, "updated_at": resolved, "facilitator_id": PEOPLE + 1})
        rows["participants"] += [{"retrospective_id": n, "person_id": p} for p in {commander, rng.randint(1, PEOPLE)}]
        touched = sorted(rng.sample(range(1, SERVICES + 1), rng.choice((1, 1, 2))))
        rows["incident_services"] += [{"incident_id": n, "service_id": s} for s in touched]
        if status in ("completed", "published"):
            rows["factors"] += [{"retrospective_id": n, "category": c, "factor_key": c, "note": "", "at": resolved}
                                for c in rng.sample(CATEGORIES, rng.choice((0, 1, 1, 2)))]
        if meeting is not None and meeting > deadline:
            rows["overrides"].append({"retrospective_id": n, "rule": "retro_past_deadline", "reason": "offsite",
                                      "detail": "", "at": resolved})
        for _ in range(ITEMS // INCIDENTS):
            item_id += 1
            made = resolved + timedelta(days=2)
            due = (made + timedelta(days=rng.randint(3, 40))).date()
            state = rng.choices(("open", "in_progress", "done", "wont_do"), (30, 10, 50, 10))[0]
            rows["items"].append({"id": item_id, "retrospective_id": n, "title": f"Item {item_id}", "description": "",
                                  "owner_id": rng.randint(1, PEOPLE), "due_date": due, "status": state, "priority": "medium",
                                  "oversized": (due - made.date()).days > 28, "sync_status": "off",
                                  "service_id": rng.choice((None, *touched)),
                                  "created_at": made, "updated_at": made})
            rows["history"].append({"action_item_id": item_id, "field": "created", "new": f"Item {item_id}", "via": "api",
                                    "applied": True, "at": made})
            if state == "done":
                rows["history"].append({"action_item_id": item_id, "field": "status", "old": "open", "new": "done",
                                        "via": "api", "applied": True, "at": made + timedelta(days=rng.randint(1, 45))})
    return rows


def _compare(measured: Any, baseline: Any, server: list[float] | None = None) -> dict[str, float]:
    """Medians of `measured` and of the baseline query with JIT on and off, sampled in turns.

    `server`, when given, collects the measured call's own times (the server's, not the client's): those count."""
    if server is not None:
        server.clear()
    runs = {"measured": measured, "jit": lambda: baseline("on"), "off": lambda: baseline("off")}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, fn in runs.items():
            samples[name].append(median_seconds(fn, repeat=1, warmup=0))
    own = server if server is not None else samples["measured"]
    measured_s, base_jit_s = statistics.median(own), statistics.median(samples["jit"])
    base_s = min(base_jit_s, statistics.median(samples["off"]))
    return {"median_ms": round(measured_s * 1000, 1), "baseline_ms": round(base_s * 1000, 1),
            "baseline_jit_ms": round(base_jit_s * 1000, 1), "ratio": round(measured_s / base_s, 2)}


def run() -> dict[str, Outcome]:
    from app.actions.models import ActionItem, ActionItemChange
    from app.auth.service import create_token, create_user
    from app.core.dates import day_end, day_start, org_today
    from app.db import database, get_session
    from app.extensions import settings as app_settings
    from app.incidents.models import Incident, IncidentRole
    from app.people.models import Person
    from app.retros.models import RetroFactor, RetroOverride, RetroParticipant, Retrospective
    from app.services.models import Service, Team, incident_services
    from tests.web import sign_in

    outcomes: dict[str, Outcome] = {}
    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance, timezone=ZONE)
        rows = _rows(random.Random(5))
        with app.app_context():
            session = get_session()
            session.execute(insert(Person), [{"id": p, "name": f"Person {p}", "email": f"p{p}@example.com", "timezone": "UTC"}
                                             for p in range(1, PEOPLE + 2)])
            session.execute(text("SELECT setval('people_id_seq', :n)"), {"n": PEOPLE + 1})
            for model, name in ((Team, "teams"), (Service, "services"), (Incident, "incidents"), (IncidentRole, "roles"),
                                (incident_services, "incident_services"), (Retrospective, "retros"), (RetroFactor, "factors"),
                                (RetroParticipant, "participants"), (RetroOverride, "overrides"), (ActionItem, "items"),
                                (ActionItemChange, "history")):
                for start in range(0, len(rows[name]), 20_000):
                    session.execute(insert(model), rows[name][start:start + 20_000])
            session.commit()
            for table in ("teams", "services"):
                session.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
            session.execute(text("ANALYZE"))
            admin = create_user(session, email="admin@example.com", is_admin=True, password=PASSWORD)
            member = create_user(session, email="p7@example.com", password=PASSWORD)
            tokens = {"admin": create_token(session, user=admin), "member": create_token(session, user=member)}
            viewers = {"admin": (True, admin.person_id), "member": (False, member.person_id)}
            session.commit()
            settings = app_settings(app)
            today = org_today(settings)
            ages = {f"age{days}": day_start(settings, today - timedelta(days=days)) for days in (7, 30, 90)}
            period = {"since": day_start(settings, today - timedelta(days=PAGE_DAYS - 1)), "until": day_end(settings, today)}
        engine = database(app).engine
        client = app.test_client()
        client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"})  # warm up
        server: list[float] = []
        timed_wsgi(app, server)
        whole, in_period = (text(BASELINE.format(period=period, visible=VISIBLE)) for period in ("", PERIOD))
        for who, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            is_admin, person = viewers[who]
            params = {"zone": ZONE, "admin": is_admin, "person": person, "now": NOW, "today": today, **ages}

            def api() -> None:
                response = client.get("/api/v1/metrics", headers=headers)
                assert response.status_code == 200 and response.get_json()["across"]["repeat_incidents"] > 0

            def baseline(jit: str, query: Any = whole, bound: dict[str, Any] = params) -> str:
                with engine.begin() as conn:
                    conn.execute(text(f"SET LOCAL jit = {jit}"))
                    body = conn.execute(query, bound).scalar()
                assert body and '"total"' in body
                return body

            figures = _compare(api, baseline)
            outcomes[f"metrics_api_{who}"] = Outcome(
                metrics=figures, target=TARGET_RATIO, ok=figures["ratio"] <= TARGET_RATIO,
                notes=[f"{INCIDENTS} incidents, {len(rows['items'])} action items, {len(rows['history'])} history rows; "
                       f"as {'an admin' if is_admin else 'a member (the visibility rule applied)'}"],
            )
            print(f"   api as {who:<7} {figures['median_ms']:7.1f} ms  baseline {figures['baseline_ms']:7.1f} ms"
                  f"  ratio {figures['ratio']:.2f}", flush=True)

            web = sign_in(app, "admin@example.com" if is_admin else "p7@example.com", PASSWORD)

            def page() -> str:
                response = web.get("/insights")
                assert response.status_code == 200, response.status_code
                return response.get_data(as_text=True)

            bound = params | period
            html = page()
            figures_sql = json.loads(baseline("off", in_period, bound))
            overall = {name: next(row for row in figures_sql[name] if row["grouping"] == 3) for name in ("incidents", "items")}
            shown = {key: int(re.search(rf'<dd id="{key}">(\d+)</dd>', html).group(1)) for key in ("incidents", "created")}
            assert shown == {"incidents": overall["incidents"]["n"], "created": overall["items"]["total"]}, (shown, overall)
            repeats = next((row["n"] for row in figures_sql["repeats"] or [] if row["grouping"] == 3), 0)
            shown_repeats = int(re.search(r'<dd id="repeats">(\d+)</dd>', html).group(1))
            assert shown_repeats == repeats, (shown_repeats, repeats)
            figures = _compare(page, lambda jit: baseline(jit, in_period, bound), server)
            outcomes[f"insights_page_{who}"] = Outcome(
                metrics=figures, target=TARGET_RATIO, ok=figures["ratio"] <= TARGET_RATIO,
                notes=[f"GET /insights (the last {PAGE_DAYS} days: {shown['incidents']} incidents, "
                       f"{shown['created']} action items) as {'an admin' if is_admin else 'a member'}"],
            )
            print(f"   page as {who:<6} {figures['median_ms']:7.1f} ms  baseline {figures['baseline_ms']:7.1f} ms"
                  f"  ratio {figures['ratio']:.2f}", flush=True)
        engine.dispose()
    return outcomes

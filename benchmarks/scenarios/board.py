"""The action-item board's first page on PostgreSQL with 20,000 incidents and 100,000 action items.

The data is bulk-inserted (SQLAlchemy Core executemany, then ANALYZE): 300 people, 20,000
resolved incidents across severities (one in ten private) with a commander and a scribe each, a
retro each, five action items each in every status and Jira state, due from four months ago to
two months ahead. The viewer is a member (not an admin) who responded to some incidents, private
ones included, so the visibility rule is part of every query.

For each filter, measured in one run with page and baseline samples interleaved (the machine is shared):
- the page: GET /action-items?<filter> through the Flask test client, signed in through the real
  sign-in form; server time is the WSGI call;
- the baseline: one hand-written SQL query for the same 50 rows (the same visibility rule, filter
  and order, the owner and incident joined in) and a bare Jinja loop (autoescape on, no filters)
  printing them. The page's rows are checked to be the baseline's, in the same order.
Target: median page / median baseline <= 2 for each filter. The page's query count is printed, and,
for a view of what the ORM and the template add, the page's own row query run raw with the same
bare loop (`own_sql_ms`, `ratio_own_sql`): the page reads overdue-first as walks of an index in due-date
order (overdue, open, closed), and counts the matching items (up to 1,000) in the same query, which the
plain baseline query does not.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from benchmarks.common import Outcome, make_app, p90, scratch_postgres, timed_wsgi

NAME = "board"
DESCRIPTION = "action-item board's first page (20,000 incidents, 100,000 items) with each filter vs raw SQL + Jinja loop"

INCIDENTS = 20_000
ITEMS_PER_INCIDENT = 5
PEOPLE = 300
WARMUP = 2
RUNS = 11
TARGET_RATIO = 2.0
PAGE_SIZE = 50
PASSWORD = "bench horse battery staple"
VIEWER = "viewer@example.com"
_FIRST = ("Alex", "Sam", "Priya", "Jordan", "Mei", "Omar", "Lena", "Diego", "Ines", "Tomas")
_LAST = ("Rivera", "Chen", "Okafor", "Novak", "Haddad", "Larsen", "Moreau", "Silva", "Kowalski", "Tanaka")
_WHAT = ("Add a canary for", "Alert on error budget of", "Cap retries in", "Write the runbook of",
         "Load-test", "Rotate the keys of", "Add a circuit breaker to", "Document the failover of")
_SERVICES = ("checkout", "search", "payments", "orders-db", "auth", "cdn", "queue", "billing_v2")
STATUSES = ("open", "open", "in_progress", "done", "done", "wont_do", "open", "done")
SYNCS = ("synced", "synced", "synced", "pending", "failed", "off", "synced", "synced")

# The board's rows as one hand-written query: {where} and {order} per filter.
BASELINE_SQL = """
SELECT a.id, a.title, a.due_date, a.status, a.jira_key, a.sync_status, a.oversized,
       p.name AS owner_name, p.email AS owner_email, i.id AS incident_id, i.title AS incident_title, i.severity,
       (a.status IN ('open', 'in_progress') AND a.due_date < :today) AS overdue
  FROM action_items a
  JOIN retrospectives r ON r.id = a.retrospective_id
  JOIN incidents i ON i.id = r.incident_id
  JOIN people p ON p.id = a.owner_id
 WHERE (i.visibility = 'public'
        OR EXISTS (SELECT 1 FROM incident_roles x WHERE x.incident_id = i.id AND x.person_id = :me)
        OR EXISTS (SELECT 1 FROM retrospectives f WHERE f.incident_id = i.id AND f.facilitator_id = :me)
        OR EXISTS (SELECT 1 FROM retro_participants rp JOIN retrospectives rr ON rr.id = rp.retrospective_id
                    WHERE rr.incident_id = i.id AND rp.person_id = :me)
        OR EXISTS (SELECT 1 FROM users u WHERE u.person_id = :me AND u.is_admin))
   {where}
 ORDER BY {order}
 LIMIT 50
"""
LATE_FIRST = "CASE WHEN a.status IN ('open', 'in_progress') AND a.due_date < :today THEN 0 ELSE 1 END"
MINE_INCIDENTS = """AND (r.facilitator_id = :me
     OR EXISTS (SELECT 1 FROM incident_roles y WHERE y.incident_id = i.id AND y.person_id = :me)
     OR EXISTS (SELECT 1 FROM retro_participants z WHERE z.retrospective_id = r.id AND z.person_id = :me))"""

BASELINE_TEMPLATE = """<table>{% for r in rows %}<tr id="item-{{ r.id }}"><td><input type="checkbox" value="{{ r.id }}"></td>
<td><a href="/action-items/{{ r.id }}">{{ r.title }}</a></td><td>#{{ r.incident_id }} {{ r.incident_title }} {{ r.severity }}</td>
<td title="{{ r.owner_email }}">{{ r.owner_name }}</td><td>{{ r.due_date }}{% if r.overdue %} overdue{% endif %}</td>
<td>{{ r.status }}</td><td>{{ r.jira_key or "" }} {{ r.sync_status }}</td></tr>
{% endfor %}</table>"""


def _filters(today: date, ids: dict[str, Any]) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
    """name: (the page's query, the baseline's WHERE additions, its ORDER BY, its parameters)."""
    default = f"{LATE_FIRST}, a.due_date, a.id"
    return {
        "none": ("", "", default, {}),
        "mine": ("scope=mine", "AND a.owner_id = :me", default, {}),
        "my_incidents": ("scope=incidents", MINE_INCIDENTS, default, {}),
        "owner": ("owner=Novak", "AND (p.name ILIKE :owner OR p.email = 'novak')", default, {"owner": "%Novak%"}),
        "status": ("status=in_progress", "AND a.status = 'in_progress'", default, {}),
        "severity": ("severity=SEV0", "AND i.severity = 'SEV0'", default, {}),
        "incident": (f"incident={ids['incident']}", "AND r.incident_id = :incident", default,
                     {"incident": ids["incident"]}),
        "due_before": (f"due_before={today - timedelta(days=30)}", "AND a.due_date < :before", default,
                       {"before": today - timedelta(days=30)}),
        "sync_failed": ("sync=failed", "AND a.sync_status = 'failed'", default, {}),
        "search": ("q=breaker", "AND a.title ILIKE '%breaker%'", default, {}),
        "overdue": ("overdue=true", "AND a.status IN ('open', 'in_progress') AND a.due_date < :today", default, {}),
        "sort_owner": ("sort=owner", "", f"p.name, p.id, {LATE_FIRST}, a.due_date, a.id", {}),
        "sort_updated": ("sort=updated", "", "a.updated_at DESC, a.id DESC", {}),
    }


def _seed(app: Any) -> dict[str, Any]:
    from sqlalchemy import text

    from app.actions.models import ActionItem
    from app.auth.service import create_user
    from app.db import database, job_session
    from app.incidents.models import Incident, IncidentRole
    from app.people.models import Person
    from app.retros.models import Retrospective

    with job_session(app) as session:
        create_user(session, email="admin@example.com", name="Ada Admin", is_admin=True)
        viewer = create_user(session, email=VIEWER, name="Vera Viewer", password=PASSWORD)
        viewer_person = viewer.person_id
    engine = database(app).engine
    assert engine is not None
    now = datetime.now(timezone.utc)
    today = date.today()
    with engine.begin() as conn:
        first = conn.execute(text("SELECT max(id) FROM people")).scalar_one() + 1
        people = [viewer_person] + list(range(first, first + PEOPLE))
        conn.execute(Person.__table__.insert(), [
            {"id": first + n, "name": f"{_FIRST[n % 10]} {_LAST[(n // 10) % 10]} {n}", "email": f"person{n}@example.com"}
            for n in range(PEOPLE)])
        incidents, roles, retros, items = [], [], [], []
        for n in range(1, INCIDENTS + 1):
            resolved = now - timedelta(days=n % 400, hours=n % 24)
            private = n % 10 == 0
            commander = people[(n * 7) % len(people)] if n % 50 else viewer_person  # the viewer responded to 1 in 50
            scribe = people[(n * 13 + 1) % len(people)]
            incidents.append({
                "id": n, "title": f"{_SERVICES[n % 8]} degraded in region {n % 5}", "severity": ("SEV0", "SEV1", "SEV2", "SEV2")[n % 4],
                "status": "resolved", "visibility": "private" if private else "public", "started_at": resolved - timedelta(hours=3),
                "resolved_at": resolved, "created_at": resolved - timedelta(hours=3), "updated_at": resolved,
            })
            roles += [{"incident_id": n, "person_id": commander, "role": "commander", "started_at": resolved},
                      {"incident_id": n, "person_id": scribe, "role": "scribe", "started_at": resolved}]
            retros.append({"id": n, "incident_id": n, "status": ("pending", "scheduled", "completed", "published")[n % 4],
                           "deadline_at": resolved + timedelta(days=3), "target_at": resolved + timedelta(days=2),
                           "facilitator_id": people[(n * 31 + 5) % len(people)]})
            for k in range(ITEMS_PER_INCIDENT):
                m = (n - 1) * ITEMS_PER_INCIDENT + k + 1
                owner = (commander, scribe)[k % 2] if private else people[(m * 17) % len(people)]
                sync = SYNCS[m % 8]
                items.append({
                    "id": m, "retrospective_id": n, "title": f"{_WHAT[m % 8]} {_SERVICES[(m // 8) % 8]} ({m})",
                    "owner_id": owner, "due_date": today + timedelta(days=(m * 37) % 180 - 120),
                    "status": STATUSES[(m // 3) % 8], "priority": ("low", "medium", "high", "critical")[m % 4],
                    "sync_status": sync, "jira_key": f"HS-{m}" if sync in ("synced", "pending") else None,
                    "last_sync_error": "Jira did not answer" if sync == "failed" else None,
                    "created_at": now - timedelta(days=m % 400), "updated_at": now - timedelta(minutes=m),
                })
        conn.execute(Incident.__table__.insert(), incidents)
        conn.execute(IncidentRole.__table__.insert(), roles)
        conn.execute(Retrospective.__table__.insert(), retros)
        for start in range(0, len(items), 20_000):
            conn.execute(ActionItem.__table__.insert(), items[start:start + 20_000])
        for table in ("people", "incidents", "incident_roles", "retrospectives", "action_items"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    # A public incident the viewer did not respond to, for the incident filter.
    return {"viewer": viewer_person, "incident": 4_001}


def run() -> dict[str, Outcome]:
    import jinja2
    from sqlalchemy import event, text

    from app.db import database
    from tests.web import sign_in

    outcomes: dict[str, Outcome] = {}
    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance, action_items={"page_size": PAGE_SIZE})
        seeded_at = time.perf_counter()
        ids = _seed(app)
        seed_s = time.perf_counter() - seeded_at
        client = sign_in(app, VIEWER, PASSWORD)
        engine = database(app).engine
        assert engine is not None
        queries: list[tuple[str, Any]] = []
        counting = {"on": False}

        @event.listens_for(engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            if counting["on"]:
                queries.append((statement, parameters))

        server: list[float] = []
        timed_wsgi(app, server)
        bare = jinja2.Environment(autoescape=True).from_string(BASELINE_TEMPLATE)
        today = date.today()
        print(f"   seeded {INCIDENTS} incidents and {INCIDENTS * ITEMS_PER_INCIDENT} items in {seed_s:.1f} s", flush=True)
        for name, (query, where, order, params) in _filters(today, ids).items():
            path = f"/action-items?{query}"
            sql = text(BASELINE_SQL.format(where=where, order=order))
            bound = {"me": ids["viewer"], "today": today} | params

            def page() -> str:
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                return response.get_data(as_text=True)

            def baseline() -> tuple[str, list[int]]:
                with engine.connect() as conn:
                    rows = conn.execute(sql, bound).all()
                return bare.render(rows=rows), [row.id for row in rows]

            for _ in range(WARMUP):
                html = page()
                _, expected = baseline()
            shown = [int(n) for n in re.findall(r'<tr id="item-(\d+)"', html)]
            assert shown == expected, f"{name}: the page's rows are not the baseline's"
            queries.clear()
            counting["on"] = True
            page()
            counting["on"] = False
            query_count = len(queries)
            # The page's own row query, run raw: what the ORM, the page and its template add beyond it.
            own_sql, own_params = next((q, p) for q, p in queries if "action_items.title" in q and "LIMIT" in q)

            def own() -> str:
                with engine.connect() as conn:
                    rows = conn.exec_driver_sql(own_sql, own_params).all()
                return bare.render(rows=rows)
            server.clear()
            base_samples: list[float] = []
            own_samples: list[float] = []
            for _ in range(RUNS):
                page()
                started = time.perf_counter()
                baseline()
                base_samples.append(time.perf_counter() - started)
                started = time.perf_counter()
                own()
                own_samples.append(time.perf_counter() - started)
            page_samples = list(server)
            page_s, base_s = statistics.median(page_samples), statistics.median(base_samples)
            own_s = statistics.median(own_samples)
            ratio = page_s / base_s
            paired = statistics.median(p / b for p, b in zip(page_samples, base_samples))
            outcomes[f"board_{name}"] = Outcome(
                metrics={"median_ms": round(page_s * 1000, 1), "p90_ms": round(p90(page_samples) * 1000, 1),
                         "baseline_ms": round(base_s * 1000, 1), "ratio": round(ratio, 2),
                         "own_sql_ms": round(own_s * 1000, 1), "ratio_own_sql": round(page_s / own_s, 2),
                         "paired_ratio": round(paired, 2), "rows": len(shown), "queries": query_count},
                target=TARGET_RATIO, ok=ratio <= TARGET_RATIO,
                notes=[f"GET {path}"],
            )
            print(f"   {name:<14} page {page_s * 1000:7.1f} ms  baseline {base_s * 1000:7.1f} ms  ratio {ratio:.2f}"
                  f"  (its own row SQL raw {own_s * 1000:6.1f} ms: ratio {page_s / own_s:.2f})"
                  f"  ({len(shown)} rows, {query_count} queries)", flush=True)
        engine.dispose()
    return outcomes

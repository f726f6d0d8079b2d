"""The facilitation page of a big retro (5,000 timeline events, 200 action items) on PostgreSQL, against a baseline.

The data is made through the real services and flows: users and responders, an incident with
its roles, its 5,000 events (`add_events`, one bulk call), resolved through the incident flow
(which books the retro and prepares its document), a facilitator from the pool, the meeting
scheduled, a section saved, 200 action items created and three in four moved on
(`create_item` / `update_item` flows).

Measured in one run, page and baseline samples interleaved (the machine is shared):
- the page: GET /retrospectives/<id>/facilitate through the Flask test client, signed in as a
  participant through the real sign-in form; server time is the WSGI call (middleware);
- the baseline: one raw SQL query fetching the rows the page shows (events with their authors,
  items with their owners, sections with who saved them, participants) and a bare Jinja loop
  (autoescape on, no filters) printing them.
Target: median page / median baseline <= 2 (`paired_ratio`, the median of each page sample over the
baseline sample next to it, is printed too: steadier when the load swings). The page's query
count is printed so an N+1 shows.
When the target is missed, a cProfile of a few requests is summed by where the time goes.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import Outcome, make_app, p90, scratch_postgres, timed_wsgi

NAME = "facilitation_page"
DESCRIPTION = "facilitation page of a retro with 5,000 timeline events and 200 action items vs raw SQL + Jinja loop"

EVENTS = 5_000
ACTION_ITEMS = 200
RESPONDERS = 10
WARMUP = 2
RUNS = 21
PROFILED_RUNS = 3
TARGET_RATIO = 2.0
PASSWORD = "bench horse battery staple"
FACILITATOR = "facilitator@example.com"
ZONE = "Europe/Berlin"
ROOT = str(Path(__file__).resolve().parents[2]) + "/"

BASELINE_SQL = """
SELECT 'event' AS part, e.occurred_at AS at, NULL::date AS due, e.id AS id,
       e.kind AS a, e.text AS b, e.author AS who, NULL AS who_email, NULL AS c, NULL::boolean AS flag
  FROM timeline_events e WHERE e.incident_id = :incident
UNION ALL
SELECT 'item', NULL, i.due_date, i.id, i.status, i.title, p.name, p.email, i.priority, i.oversized
  FROM action_items i JOIN people p ON p.id = i.owner_id WHERE i.retrospective_id = :retro
UNION ALL
SELECT 'section', s.updated_at, NULL, s.position, s.key, s.title, u.name, u.email, s.body, NULL
  FROM document_sections s LEFT JOIN people u ON u.id = s.updated_by_id
 WHERE s.retrospective_id = :retro
UNION ALL
SELECT 'participant', NULL, NULL, rp.id, NULL, NULL, p.name, p.email, NULL, NULL
  FROM retro_participants rp JOIN people p ON p.id = rp.person_id WHERE rp.retrospective_id = :retro
ORDER BY part, at, due, id
"""

BASELINE_TEMPLATE = """<ul>{% for p in parts.participant %}<li>{{ p.who }} {{ p.who_email }}</li>{% endfor %}</ul>
<table>{% for e in parts.event %}<tr><td>{{ e.at }}</td><td>{{ e.a }} {{ e.b }}</td><td>{{ e.who }}</td></tr>
{% endfor %}</table>
{% for s in parts.section %}<section><h3>{{ s.b }} {{ s.who }} {{ s.at }}</h3><textarea>{{ s.c }}</textarea></section>
{% endfor %}
<table>{% for i in parts.item %}<tr><td>{{ i.b }}</td><td>{{ i.who }} {{ i.who_email }}</td><td>{{ i.due }}</td><td>{{ i.c }}</td><td>{{ i.a }}</td></tr>
{% endfor %}</table>"""

_KINDS = ("note", "detection", "escalation", "action", "communication")


def _event_text(n: int) -> str:
    texts = (
        f"Checkout error rate at {n % 50}% on eu-west-1 <checkout-{n % 7}> & rising",
        f"Ran kubectl rollout status deploy/checkout-{n % 7}",
        f"Paged database on-call for shard {n % 16}",
        f"Replica lag {n % 90} s on orders-db-{n % 3}; see runbook step {n % 9}",
        f"Connections {1000 + n % 900}, queue depth {n % 300}: holding the deploy",
    )
    return texts[n % len(texts)]


def _seed(app: Any) -> dict[str, Any]:
    from app.actions.flows import create_item, update_item
    from app.actions.schemas import ActionItemCreate, ActionItemUpdate
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.service import create_user
    from app.db import job_session
    from app.documents.service import save_section, sections_of
    from app.extensions import settings
    from app.incidents.flows import add_role, update_incident
    from app.incidents.schemas import EventCreate, IncidentCreate, IncidentUpdate
    from app.incidents.service import add_events, create_incident
    from app.retros.flows import update_retrospective
    from app.retros.schemas import RetroUpdate

    config = settings(app)
    # Started late in the evening two days ago, resolved three hours later: the timeline crosses midnight
    # and the resolution is in the past whatever the hour of the run.
    started = (datetime.now(timezone.utc) - timedelta(days=2)).replace(hour=21, minute=40, second=0, microsecond=0)
    resolved = started + timedelta(hours=3)
    with job_session(app) as session:
        admin = create_user(session, email="admin@example.com", name="Ada Admin", is_admin=True)
        responders = [
            create_user(session, email=f"responder{i}@example.com", name=f"Responder {i} Example",
                        password=PASSWORD if i == 1 else None)
            for i in range(RESPONDERS)
        ]
        create_user(session, email=FACILITATOR, name="Fay Facilitator")
        incident = create_incident(session, data=IncidentCreate(
            title="Checkout outage: orders DB connection pool exhausted", severity="SEV1",
            description="Customers could not pay for three hours.", commander=responders[0].email,
            started_at=started, detected_at=started + timedelta(minutes=4),
        ))
        roles = ("scribe", "communications_lead", "subject_matter_expert")
        for i, user in enumerate(responders[1:], start=1):
            add_role(session, incident=incident, email=user.email, role=roles[min(i - 1, 2)],
                     started_at=started + timedelta(minutes=5 + i), actor=admin)
        spacing = (resolved - started) / EVENTS
        add_events(session, incident=incident, events=[
            EventCreate(occurred_at=started + spacing * n + timedelta(milliseconds=(n * 7919) % 1000),
                        text=_event_text(n), author=f"Responder {n % RESPONDERS} Example", kind=_KINDS[n % len(_KINDS)],
                        external_id=f"chat-{n}")
            for n in range(EVENTS)
        ], source="api")
        update_incident(session, incident=incident, data=IncidentUpdate(status="resolved", resolved_at=resolved),
                        actor=admin, settings=config)
        retro = incident.retrospective
        assert retro is not None and retro.facilitator is not None and retro.facilitator.email == FACILITATOR
        slot = retro.suggested_slot or (resolved + timedelta(days=1))
        update_retrospective(session, retro=retro, data=RetroUpdate(scheduled_for=slot), actor=admin, settings=config)
        sections = {s.key: s for s in sections_of(session, retro.id)}
        facilitator_user = session.scalars(select(User).where(User.person_id == retro.facilitator.id)).one()
        for key, text in (("contributing_factors", "Every retry opened a **new** connection.\n\n- detection took 4 minutes"),
                          ("summary", "The pool ran dry; three hours without payments.")):
            if key in sections:
                save_section(session, viewer=facilitator_user, retro_id=retro.id, key=key, body=text,
                             version=sections[key].version)
        owners = [user.email for user in responders] + [FACILITATOR]
        today = date.today()
        statuses = (None, "in_progress", "done", "wont_do")
        priorities = ("low", "medium", "high", "critical")
        for n in range(ACTION_ITEMS):
            item, _warnings = create_item(session, retro=retro, data=ActionItemCreate(
                title=f"Follow-up {n}: cap retries per client of service {n % 13}", owner=owners[n % len(owners)],
                due_date=today + timedelta(days=(n % 40) - 5), priority=priorities[n % 4],
                description="Found in the retro.",
            ), actor=facilitator_user, via="web", settings=config)
            if statuses[n % 4] is not None:
                update_item(session, item=item, data=ActionItemUpdate(status=statuses[n % 4]), actor=facilitator_user,
                            via="web", settings=config)
        return {"retro_id": retro.id, "incident_id": incident.id, "participant": responders[1].email}


def _profile(client: Any, path: str) -> list[str]:
    """Where the page's time goes: the functions of the app, templates and libraries with the most time, summed."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(PROFILED_RUNS):
        client.get(path)
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt / PROFILED_RUNS  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.split("/site-packages/")[-1].removeprefix(ROOT)
        rows.append((cumtime / PROFILED_RUNS, tottime / PROFILED_RUNS, calls // PROFILED_RUNS, f"{short}:{line}({func})"))
    notes = [f"profile (cProfile, per request, {total * 1000:.0f} ms under the profiler): cumulative / own ms, calls"]
    interesting = [r for r in rows if any(k in r[3] for k in ("app/", "templates/", "jinja2/", "sqlalchemy/orm/loading",
                                                                  "sqlalchemy/engine/result", "psycopg/cursor"))]
    for cum, own, calls, where in sorted(interesting, reverse=True)[:18]:
        notes.append(f"  {cum * 1000:8.1f} / {own * 1000:7.1f}  {calls:>6}  {where}")
    notes.append("  top own time:")
    for cum, own, calls, where in sorted(rows, key=lambda r: r[1], reverse=True)[:10]:
        notes.append(f"  {cum * 1000:8.1f} / {own * 1000:7.1f}  {calls:>6}  {where}")
    return notes


def run() -> dict[str, Outcome]:
    import jinja2
    from sqlalchemy import event, text

    from app.db import database
    from tests.web import sign_in

    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance, timezone=ZONE, retro={"facilitator_pool": [FACILITATOR]})
        seeded_at = time.perf_counter()
        ids = _seed(app)
        seed_s = time.perf_counter() - seeded_at
        path = f"/retrospectives/{ids['retro_id']}/facilitate"
        client = sign_in(app, ids["participant"], PASSWORD)
        engine = database(app).engine
        assert engine is not None

        queries: list[str] = []
        counting = {"on": False}

        @event.listens_for(engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if counting["on"]:
                queries.append(statement)

        server: list[float] = []
        timed_wsgi(app, server)

        def page() -> str:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            return response.get_data(as_text=True)

        sql = text(BASELINE_SQL)
        bare = jinja2.Environment(autoescape=True).from_string(BASELINE_TEMPLATE)
        params = {"incident": ids["incident_id"], "retro": ids["retro_id"]}

        def baseline() -> str:
            parts: dict[str, list[Any]] = {"event": [], "item": [], "section": [], "participant": []}
            with engine.connect() as conn:
                for row in conn.execute(sql, params):
                    parts[row.part].append(row)
            assert len(parts["event"]) == EVENTS and len(parts["item"]) == ACTION_ITEMS
            return bare.render(parts=parts)

        for _ in range(WARMUP):
            html = page()
            baseline()
        counting["on"] = True
        page()
        counting["on"] = False
        query_count = len(queries)
        shown_events, shown_items = html.count('class="event"'), html.count("<tr data-id=")

        server.clear()
        base_samples: list[float] = []
        for _ in range(RUNS):  # interleaved: both see the same load on a shared machine
            page()
            started = time.perf_counter()
            baseline()
            base_samples.append(time.perf_counter() - started)
        page_samples = list(server)
        page_s, base_s = statistics.median(page_samples), statistics.median(base_samples)
        ratio = page_s / base_s
        # Each page sample against the baseline sample right after it: steadier when the load swings.
        paired = statistics.median(p / b for p, b in zip(page_samples, base_samples))
        notes = [
            f"page: {len(html) / 1024:.0f} KiB, {shown_events} event rows, {shown_items} item rows, "
            f"{query_count} queries; baseline: {len(baseline()) / 1024:.0f} KiB; seeding took {seed_s:.1f} s",
        ]
        if ratio > TARGET_RATIO:
            notes += _profile(client, path)
        engine.dispose()
    return {
        "facilitation_page_5000": Outcome(
            metrics={
                "median_ms": round(page_s * 1000, 1), "p90_ms": round(p90(page_samples) * 1000, 1),
                "baseline_ms": round(base_s * 1000, 1), "baseline_p90_ms": round(p90(base_samples) * 1000, 1),
                "ratio": round(ratio, 2), "paired_ratio": round(paired, 2), "queries": query_count,
            },
            target=TARGET_RATIO, ok=ratio <= TARGET_RATIO, notes=notes,
        )
    }

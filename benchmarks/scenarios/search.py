"""Search over a generated history, on SQLite and PostgreSQL: a search with two filters as a member sees it
(visibility, filters, ranking merged across kinds, snippets) against the bare full-text query it is built on
(the four indexes' best 20 by rank, nothing joined); "related incidents" for one incident against the bare
query its words are asked by (any of the words, against incidents, every match read); index build time, and
search latency while events are added. Each pair's samples are interleaved (the machine is shared).

Scale: HINDSIGHT_BENCH_SEARCH_INCIDENTS (default 5,000) incidents, 20 timeline events and 4 action items each;
PostgreSQL gets ten times as many unless HINDSIGHT_BENCH_SEARCH_PG_FACTOR says otherwise (the issue's figures:
50,000 incidents, 1,000,000 events, 200,000 items on PostgreSQL, a tenth of that on SQLite).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert, select, text

from benchmarks.common import Outcome, make_app, scratch_postgres

NAME = "search"
DESCRIPTION = "search with two filters vs the bare full-text query; index build; latency while events are added"
TARGET_RATIO = 2.0
ROUNDS = 21
NOW = datetime.now(timezone.utc)
WORDS = ("disk cache queue latency timeout deploy rollback replica lock index shard certificate dns route "
         "memory cpu thread pool socket retry backoff quota throttle schema migration cron backup restore token "
         "session cluster node pod container image registry webhook payment checkout invoice search export").split()
QUERY = "failover replica"  # 'failover' is in about 1 text in 50


def _text(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.02:
        chosen.insert(rng.randrange(len(chosen)), "failover")
    return " ".join(chosen)


def _rows(rng: random.Random, incidents: int) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {"incidents": [], "roles": [], "retros": [], "events": [], "items": []}
    for n in range(1, incidents + 1):
        started = NOW - timedelta(days=rng.randrange(720), minutes=rng.randrange(1440))
        rows["incidents"].append({
            "id": n, "title": _text(rng, 6), "severity": rng.choice(("SEV0", "SEV1", "SEV2")), "status": "resolved",
            "visibility": "private" if rng.random() < 0.1 else "public", "description": _text(rng, 40),
            "started_at": started, "resolved_at": started + timedelta(hours=2), "created_at": started,
            "updated_at": started})
        rows["roles"].append({"incident_id": n, "person_id": 1 + n % 40, "role": "commander", "started_at": started})
        rows["retros"].append({"id": n, "incident_id": n, "status": "completed", "deadline_at": started + timedelta(days=5),
                               "target_at": started + timedelta(days=3), "created_at": started, "updated_at": started})
        for e in range(20):
            rows["events"].append({"incident_id": n, "occurred_at": started + timedelta(minutes=e), "text": _text(rng, 12),
                                   "kind": "note", "source": "api", "created_at": started})
        for _i in range(4):
            rows["items"].append({"retrospective_id": n, "title": _text(rng, 6), "description": _text(rng, 20),
                                  "owner_id": 1 + n % 40, "due_date": (started + timedelta(days=30)).date(),
                                  "created_at": started, "updated_at": started})
    return rows


def _bare(sqlite: bool) -> str:
    """The four indexes' best 20 by rank, as one would query them by hand: nothing joined, no snippets."""
    if sqlite:
        parts = [f"SELECT '{kind}' AS kind, rowid AS id, -bm25({index}) AS score FROM {index} WHERE {index} MATCH :q"
                 for kind, index in (("incident", "search_incidents"), ("event", "search_events"),
                                     ("section", "search_sections"), ("action_item", "search_action_items"))]
    else:
        parts = [f"SELECT '{kind}' AS kind, id, ts_rank_cd(search_vector, websearch_to_tsquery('english', :q), 1) AS score "
                 f"FROM {table} WHERE search_vector @@ websearch_to_tsquery('english', :q)"
                 for kind, table in (("incident", "incidents"), ("event", "timeline_events"),
                                     ("section", "document_sections"), ("action_item", "action_items"))]
    return " UNION ALL ".join(parts) + " ORDER BY score DESC LIMIT 20"


def _timings(fn: Any, rounds: int = ROUNDS) -> list[float]:
    return _interleaved(fn, rounds=rounds)[0]


def _interleaved(*fns: Any, rounds: int = ROUNDS) -> list[list[float]]:
    """Each of `fns`' wall times over `rounds` rounds, one run of each a round (the order turning), after a warm-up."""
    for fn in fns:
        fn()
    samples: list[list[float]] = [[] for _ in fns]
    for n in range(rounds):
        for k in range(len(fns)):
            which = (n + k) % len(fns)
            started = time.perf_counter()
            fns[which]()
            samples[which].append(time.perf_counter() - started)
    return samples


def _bare_related(sqlite: bool) -> str:
    """Incidents holding any of the words, as one would query them by hand: every match read, nothing counted."""
    if sqlite:
        return "SELECT rowid FROM search_incidents WHERE search_incidents MATCH :q"
    return "SELECT id FROM incidents WHERE search_vector @@ websearch_to_tsquery('english', :q)"


def _p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]


def _scenario(url: str, incidents: int) -> Outcome:
    from app.auth.service import create_user
    from app.db import database, get_session
    from app.extensions import settings
    from app.incidents.models import Incident, IncidentRole, TimelineEvent
    from app.actions.models import ActionItem
    from app.people.models import Person
    from app.retros.models import Retrospective
    from app.search.related import related_incidents, words_of
    from app.search.service import Filters, search
    from app.search.terms import parse

    with tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance)
        engine = database(app).engine
        sqlite = engine.dialect.name == "sqlite"
        rows = _rows(random.Random(14), incidents)
        started = time.perf_counter()
        with app.app_context():
            session = get_session()
            session.execute(insert(Person), [{"id": p, "name": f"P {p}", "email": f"p{p}@example.com", "timezone": "UTC"}
                                             for p in range(1, 42)])
            for model, name in ((Incident, "incidents"), (IncidentRole, "roles"), (Retrospective, "retros"),
                                (TimelineEvent, "events"), (ActionItem, "items")):
                for start in range(0, len(rows[name]), 20_000):
                    session.execute(insert(model), rows[name][start:start + 20_000])
            session.commit()
            load_seconds = time.perf_counter() - started
            del rows  # a million dicts held would slow every collection the measured code triggers
            session.execute(text("ANALYZE"))
            member = create_user(session, email="p7@example.com")
            session.commit()

            terms = parse(QUERY)
            bare_sql = text(_bare(sqlite))
            bare_param = terms.fts5() if sqlite else terms.websearch()
            filters = Filters(severity="SEV1", since=(NOW - timedelta(days=365)).date())

            def bare() -> None:
                session.execute(bare_sql, {"q": bare_param}).all()

            def full() -> None:
                search(session, viewer=member, text=QUERY, filters=filters, settings=settings(app), counted=False)
                session.rollback()

            found = len(search(session, viewer=member, text=QUERY, filters=filters, settings=settings(app)).hits)
            bare_times, full_times = _interleaved(bare, full)

            incident = session.scalars(select(Incident).where(Incident.visibility == "public")
                                       .order_by(Incident.id).limit(1)).one()
            words = words_of(incident)
            bare_related_sql = text(_bare_related(sqlite))
            bare_related_param = (" OR " if sqlite else " or ").join(f'"{w}"' if sqlite else w for w in words)

            def bare_related() -> None:
                session.execute(bare_related_sql, {"q": bare_related_param}).all()

            def related() -> None:
                related_incidents(session, incident=incident, viewer=member, settings=settings(app))

            related_found = len(related_incidents(session, incident=incident, viewer=member, settings=settings(app)))
            bare_related_times, related_times = _interleaved(bare_related, related)

            # Reads while writing: another connection adds events in small committed batches.
            stop = threading.Event()
            added = [0]

            def write() -> None:
                n = 0
                while not stop.is_set():
                    with engine.begin() as conn:
                        conn.execute(insert(TimelineEvent), [
                            {"incident_id": 1 + (n + k) % incidents, "occurred_at": NOW, "text": "failover replica noted",
                             "kind": "note", "source": "api", "created_at": NOW} for k in range(50)])
                    n += 50
                    added[0] = n

            writer = threading.Thread(target=write)
            writer.start()
            try:
                time.sleep(0.2)
                busy_times = _timings(full)
            finally:
                stop.set()
                writer.join()

            started = time.perf_counter()
            _rebuild(session, sqlite)
            build_seconds = time.perf_counter() - started

    ratio_p50 = statistics.median(full_times) / statistics.median(bare_times)
    ratio_p95 = _p95(full_times) / _p95(bare_times)
    related_p50 = statistics.median(related_times) / statistics.median(bare_related_times)
    related_p95 = _p95(related_times) / _p95(bare_related_times)
    metrics = {
        "database": "sqlite" if sqlite else "postgresql", "incidents": incidents, "events": incidents * 20,
        "action_items": incidents * 4, "load_s": round(load_seconds, 1), "results": found,
        "bare_p50_ms": round(statistics.median(bare_times) * 1000, 2), "bare_p95_ms": round(_p95(bare_times) * 1000, 2),
        "search_p50_ms": round(statistics.median(full_times) * 1000, 2), "search_p95_ms": round(_p95(full_times) * 1000, 2),
        "ratio_p50": round(ratio_p50, 2), "ratio_p95": round(ratio_p95, 2),
        "related_words": len(words), "related_found": related_found,
        "bare_related_p50_ms": round(statistics.median(bare_related_times) * 1000, 2),
        "bare_related_p95_ms": round(_p95(bare_related_times) * 1000, 2),
        "related_p50_ms": round(statistics.median(related_times) * 1000, 2),
        "related_p95_ms": round(_p95(related_times) * 1000, 2),
        "related_ratio_p50": round(related_p50, 2), "related_ratio_p95": round(related_p95, 2),
        "while_writing_p50_ms": round(statistics.median(busy_times) * 1000, 2),
        "while_writing_p95_ms": round(_p95(busy_times) * 1000, 2), "events_added_meanwhile": added[0],
        "index_build_s": round(build_seconds, 1),
    }
    ok = max(ratio_p50, ratio_p95, related_p50, related_p95) <= TARGET_RATIO
    return Outcome(metrics, target=f"ratios <= {TARGET_RATIO}", ok=ok)


def _rebuild(session: Any, sqlite: bool) -> None:
    """Build the whole index again from the rows, as the migration does on an existing history."""
    if sqlite:
        for index in ("search_incidents", "search_events", "search_sections", "search_action_items"):
            session.execute(text(f"INSERT INTO {index}({index}) VALUES ('rebuild')"))
        session.commit()
        return
    for table in ("incidents", "timeline_events", "document_sections", "action_items"):
        session.execute(text(f"DROP INDEX ix_{table}_search_vector"))
        definition = session.execute(text(
            "SELECT generation_expression FROM information_schema.columns WHERE table_name = :t "
            "AND column_name = 'search_vector'"), {"t": table}).scalar_one()
        session.execute(text(f"ALTER TABLE {table} DROP COLUMN search_vector"))
        session.execute(text(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
                             f"({definition}) STORED"))
        session.execute(text(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)"))
    session.commit()


def run() -> dict[str, Outcome]:
    from app.migrations import upgrade

    incidents = int(os.environ.get("HINDSIGHT_BENCH_SEARCH_INCIDENTS", "5000"))
    factor = int(os.environ.get("HINDSIGHT_BENCH_SEARCH_PG_FACTOR", "10"))
    outcomes = {}
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/search.db"
        upgrade(url)
        outcomes["search_sqlite"] = _scenario(url, incidents)
    with scratch_postgres() as url:
        outcomes["search_postgresql"] = _scenario(url, incidents * factor)
    return outcomes

"""Reminder digests over 100,000 action items (10,000 due or overdue, 2,000 owners) on PostgreSQL.

The run is the real one (`send_digests`: claim, load, render text + HTML, send over SMTP)
against an SMTP sink on loopback in its own process that accepts and discards. The
baseline, measured in the same run, is one raw SQL query selecting the same due items
grouped by owner, plus one minimal email per owner over one SMTP connection to the same
sink: the least any digest run must do. The query alone is reported too.
"""

from __future__ import annotations

import resource
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

from sqlalchemy import event, text

from benchmarks.common import Outcome, make_app, scratch_postgres

NAME = "reminders"
DESCRIPTION = "reminder digests: 100k action items, 10k due across 2,000 owners, SMTP on loopback"

FULL = {"items": 100_000, "due": 10_000, "owners": 2_000}
SMALL = {"items": 20_000, "due": 2_000, "owners": 2_000}
REPEAT = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd's Sink handler in its own process (so it does not share our GIL); yields its port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _copy(raw: Any, table: str, columns: list[str], rows: Any) -> None:
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def populate(engine: Any, *, items: int, due: int, owners: int, today: date) -> None:
    """People, 1,000 resolved incidents with retros, and `items` action items, `due` of them due by today + 3."""
    now = datetime.now(timezone.utc)
    people = owners + 1_000
    incidents = 1_000
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        _copy(driver, "people", ["id", "name", "email", "created_at"],
              ((i, f"Person {i}", f"person{i}@example.com", now) for i in range(1, people + 1)))
        _copy(driver, "incidents",
              ["id", "title", "severity", "status", "visibility", "description", "started_at", "resolved_at",
               "created_at", "updated_at"],
              ((i, f"Incident {i}", "SEV1", "resolved", "private" if i % 50 == 0 else "public", "", now, now, now, now)
               for i in range(1, incidents + 1)))
        _copy(driver, "retrospectives",
              ["id", "incident_id", "status", "deadline_at", "target_at", "template", "created_at", "updated_at"],
              ((i, i, "completed", now, now, "standard", now, now) for i in range(1, incidents + 1)))
        # Every 50th incident is private; person k holds a role in private incident k.
        roles = ((k, k, k, "subject_matter_expert", now) for k in range(50, incidents + 1, 50))
        _copy(driver, "incident_roles", ["id", "incident_id", "person_id", "role", "started_at"], roles)

        def public_retro(i: int) -> int:
            retro = (i % incidents) + 1
            return retro - 1 if retro % 50 == 0 else retro

        def rows() -> Iterator[tuple[Any, ...]]:
            for i in range(1, items + 1):
                if i <= due:
                    owner = ((i - 1) % owners) + 1
                    due_date = today + timedelta(days=(i % 8) - 4)  # 4 days overdue .. 3 days ahead
                    status = "open" if i % 3 else "in_progress"
                    # Owners on a private incident's team get some of its items (they may see them).
                    retro = owner if owner % 50 == 0 and owner <= incidents and i % 2 else public_retro(i)
                else:
                    owner = (i % people) + 1
                    retro = public_retro(i)
                    far = i % 2 == 0
                    due_date = today + timedelta(days=10 + i % 60) if far else today - timedelta(days=1 + i % 30)
                    status = "open" if far else ("done" if i % 4 else "wont_do")
                jira_key = f"OPS-{i}" if i % 2 else None
                yield (i, retro, f"Action item {i}: fix the thing", "", owner, due_date, status, "medium", False,
                       jira_key, "off", now, now)

        _copy(driver, "action_items",
              ["id", "retrospective_id", "title", "description", "owner_id", "due_date", "status", "priority",
               "oversized", "jira_key", "sync_status", "created_at", "updated_at"], rows())
        with driver.cursor() as cursor:
            for table in ("people", "incidents", "retrospectives", "incident_roles", "action_items"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute("ANALYZE")
        driver.commit()
    finally:
        raw.close()


BASELINE_SQL = """
SELECT ai.owner_id, p.email, array_agg(ai.id ORDER BY ai.due_date, ai.id), array_agg(ai.title ORDER BY ai.due_date, ai.id)
FROM action_items ai JOIN people p ON p.id = ai.owner_id
WHERE ai.status IN ('open', 'in_progress') AND ai.due_date <= :horizon
GROUP BY ai.owner_id, p.email
"""


def baseline(engine: Any, port: int, today: date) -> tuple[float, float, int]:
    """(query seconds, query + minimal sends seconds, owners)."""
    started = time.perf_counter()
    with engine.connect() as conn:
        groups = conn.execute(text(BASELINE_SQL), {"horizon": today + timedelta(days=3)}).all()
    queried = time.perf_counter() - started
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as connection:
        for owner_id, email, ids, titles in groups:
            body = f"Subject: {len(ids)} items\r\n\r\n" + "\r\n".join(titles) + "\r\n"
            connection.sendmail("hindsight@example.com", [email], body.encode())
    return queried, time.perf_counter() - started, len(groups)


def _clear_log(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE reminder_log"))


def measure(size: dict[str, int], port: int) -> dict[str, Any]:
    from app.db import database, job_session
    from app.reminders.service import send_digests

    today = datetime.now(timezone.utc).date()
    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance, smtp={"host": "127.0.0.1", "port": port}, mail_from="hindsight@example.com")
        settings = app.extensions["hindsight.settings"]
        engine = database(app).engine
        started = time.perf_counter()
        populate(engine, today=today, **size)
        populate_s = time.perf_counter() - started

        queries: list[str] = []
        counting = False

        sql_seconds: list[float] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if counting:
                queries.append(statement)
                conn.info["bench_started"] = time.perf_counter()

        def timed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            started = conn.info.pop("bench_started", None)
            if counting and started is not None:
                sql_seconds.append(time.perf_counter() - started)

        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine, "after_cursor_execute", timed)

        def run_once() -> Any:
            _clear_log(engine)
            with job_session(app) as session:
                return send_digests(session, as_of=today, settings=settings)

        run_once()  # warm-up: templates compiled, connections open
        times, results, sql_per_run = [], [], []
        for _ in range(REPEAT):
            _clear_log(engine)
            counting = True
            queries.clear()
            sql_seconds.clear()
            t0 = time.perf_counter()
            with job_session(app) as session:
                results.append(send_digests(session, as_of=today, settings=settings))
            times.append(time.perf_counter() - t0)
            counting = False
            sql_per_run.append(sum(sql_seconds))
        query_count = len(queries)
        with job_session(app) as session:
            again = send_digests(session, as_of=today, settings=settings)

        _clear_log(engine)
        tracemalloc.start()
        with job_session(app) as session:
            send_digests(session, as_of=today, settings=settings)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

        base = [baseline(engine, port, today) for _ in range(REPEAT)]
        engine.dispose()
    last = results[-1]
    return {
        "populate_s": populate_s,
        "run_s": statistics.median(times),
        "emails": last.emails_sent,
        "items": last.items,
        "failed": last.failed,
        "second_run_emails": again.emails_sent,
        "queries": query_count,
        "sql_s": statistics.median(sql_per_run),
        "peak_mb": peak / 1e6,
        "baseline_query_s": statistics.median(b[0] for b in base),
        "baseline_s": statistics.median(b[1] for b in base),
        "baseline_owners": base[0][2],
    }


def run() -> dict[str, Outcome]:
    with smtp_sink() as port:
        full = measure(FULL, port)
        small = measure(SMALL, port)
    ratio = full["run_s"] / full["baseline_s"]
    notes = [
        f"populate {full['populate_s']:.1f} s; baseline query alone {full['baseline_query_s'] * 1000:.0f} ms "
        f"({full['run_s'] / full['baseline_query_s']:.0f}x), query + {full['baseline_owners']} minimal emails "
        f"{full['baseline_s']:.2f} s",
        f"the run's own SQL (claim + read of the due items) takes {full['sql_s'] * 1000:.0f} ms, "
        f"{full['sql_s'] / full['baseline_query_s']:.1f}x the raw query; the rest is rendering and SMTP",
        f"queries per run: {full['queries']} at {FULL['items']:,} items, {small['queries']} at {SMALL['items']:,}",
        f"a second run the same day sent {full['second_run_emails']} emails",
        f"peak_mb is tracemalloc's peak of one run (Python allocations); the whole benchmark process "
        f"peaked at {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB RSS",
    ]
    ok_time = ratio <= 3
    ok_memory = full["peak_mb"] < 200
    ok_queries = full["queries"] == small["queries"]
    ok_result = (full["emails"] == FULL["owners"] and full["items"] == FULL["due"] and full["failed"] == 0
                 and full["second_run_emails"] == 0)
    return {
        "reminders.digest_run": Outcome(
            metrics={
                "run_s": round(full["run_s"], 3),
                "baseline_s": round(full["baseline_s"], 3),
                "ratio": round(ratio, 2),
                "baseline_query_ms": round(full["baseline_query_s"] * 1000, 1),
                "run_sql_ms": round(full["sql_s"] * 1000, 1),
                "sql_ratio": round(full["sql_s"] / full["baseline_query_s"], 2),
                "peak_mb": round(full["peak_mb"], 1),
                "queries": full["queries"],
                "queries_small": small["queries"],
                "emails": full["emails"],
                "items": full["items"],
            },
            target="run <= 3x baseline (query + same number of emails), peak < 200 MB, queries independent of items",
            ok=ok_time and ok_memory and ok_queries and ok_result,
            notes=notes,
        )
    }


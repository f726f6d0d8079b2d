"""APScheduler: the periodic jobs, run in `hindsight scheduler` processes or once inside `hindsight serve`.

Every job has a stable id and runs in its own app context and session, committed at
its end. On PostgreSQL a job runs only in the process that holds its session-level
advisory lock: the first process to ask gets it and keeps it, the others are standby
and ask again on every tick. When the holder dies its connection closes, PostgreSQL
releases the lock and a standby takes over. On SQLite there is one process.
Whatever runs, the jobs themselves are safe to repeat (unique keys, row claims).
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db import database, job_session
from config import Settings

log = logging.getLogger(__name__)

JobFunction = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    id: str
    function: JobFunction
    seconds: float


def job_specs(settings: Settings) -> list[JobSpec]:
    """The jobs, with their stable ids and intervals."""
    from app.actions.jobs import jira_sync_job
    from app.auth.jobs import PRUNE_SECONDS, audit_prune_job
    from app.chat.jobs import chat_job
    from app.documents.jobs import republish_job
    from app.reminders.jobs import digest_job, nudge_job, outbox_job

    tick = settings.scheduler.tick_seconds
    specs = [
        JobSpec("reminders.digests", digest_job, tick),
        JobSpec("reminders.nudges", nudge_job, tick),
        JobSpec("reminders.outbox", outbox_job, tick),
        JobSpec("auth.audit_prune", audit_prune_job, PRUNE_SECONDS),
    ]
    if settings.jira.enabled:
        specs.append(JobSpec("actions.jira_sync", jira_sync_job, settings.jira.sync_minutes * 60.0))
    if settings.confluence.enabled:
        specs.append(JobSpec("documents.republish", republish_job, tick))
    if settings.slack.enabled or settings.teams.enabled:
        specs.append(JobSpec("chat.outbox", chat_job, tick))
    return specs


def lock_key(job_id: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job id."""
    digest = hashlib.sha256(f"hindsight.job:{job_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class JobLocks:
    """PostgreSQL session-level advisory locks, one per job, on a connection this process keeps.

    A lock once taken is kept: this process stays the job's runner until it exits or
    its connection breaks (then every lock counts as lost and is asked for again).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self._held: set[str] = set()
        self._mutex = threading.Lock()

    def acquire(self, job_id: str) -> bool:
        """Whether this process may run `job_id` now."""
        if not self.enabled:
            return True
        with self._mutex:
            try:
                if self._connection is None:
                    self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                if job_id in self._held:
                    # The lock lives as long as the session: a live connection means we still hold it.
                    self._connection.execute(text("SELECT 1"))
                    return True
                taken = bool(self._connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                                     {"key": lock_key(job_id)}))
            except DBAPIError as exc:
                log.warning("lost the scheduler's lock connection (%s); asking again next tick", exc.orig)
                self._reset()
                return False
            if taken:
                self._held.add(job_id)
                log.info("this process now runs job %s", job_id)
            return taken

    def held(self) -> set[str]:
        return set(self._held)

    def _reset(self) -> None:
        connection, self._connection = self._connection, None
        self._held.clear()
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except DBAPIError:
                pass  # the connection is already gone, and its locks with it

    def release_all(self) -> None:
        """Give every lock back (closing the session releases them)."""
        with self._mutex:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            self._held.clear()


def run_job(app: Flask, locks: JobLocks, spec: JobSpec) -> dict[str, Any] | None:
    """One tick of a job: run it if this process holds its lock, in its own context and session."""
    if not locks.acquire(spec.id):
        return None
    settings: Settings = app.extensions["hindsight.settings"]
    session: Session
    with job_session(app) as session:
        result = spec.function(session, settings=settings)
    if result and any(isinstance(v, int) and v for v in result.values()):
        log.info("job %s: %s", spec.id, result)
    return result


def build_scheduler(app: Flask, *, blocking: bool = False) -> tuple[BaseScheduler, JobLocks]:
    """A scheduler with every job added, first run at once; not started."""
    settings: Settings = app.extensions["hindsight.settings"]
    engine = database(app).engine
    assert engine is not None
    locks = JobLocks(engine)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        timezone=timezone.utc,
        # A tick that comes while the last one still runs is skipped, missed ticks collapse into one.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    now = datetime.now(timezone.utc)
    for spec in job_specs(settings):
        scheduler.add_job(
            run_job, "interval", seconds=spec.seconds, id=spec.id, name=spec.id,
            args=[app, locks, spec], next_run_time=now, replace_existing=True,
        )
    return scheduler, locks


def _describe(app: Flask) -> str:
    engine = database(app).engine
    assert engine is not None
    if engine.dialect.name == "postgresql":
        return "PostgreSQL: each job runs in one scheduler process at a time"
    return "SQLite: run only one scheduler process"


def run_blocking(app: Flask) -> None:
    """`hindsight scheduler`: run the jobs until SIGTERM or SIGINT."""
    scheduler, locks = build_scheduler(app, blocking=True)

    def stop(signum: int, _frame: Any) -> None:
        log.info("scheduler stopping (signal %d)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started (%s)", _describe(app))
    try:
        scheduler.start()
    finally:
        locks.release_all()
        engine = database(app).engine
        if engine is not None:
            engine.dispose()

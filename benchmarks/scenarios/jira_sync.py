"""Jira sync against the loopback stand-in: request counts of the reconcile, and pushes under failure."""

from __future__ import annotations

import math
import tempfile
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from benchmarks.common import Outcome, make_app, scratch_postgres

NAME = "jira_sync"
DESCRIPTION = "reconcile 1,000 synced items with 50 changed in Jira; push 200 items while 10% of requests fail"
SYNCED = 1000
CHANGED = 50
PUSHED = 200
FAILURE_RATE = 0.10
OWNER = "owner@example.com"


def _jira_settings(fake: Any, **extra: Any) -> dict[str, Any]:
    return {"url": fake.url, "project": "HS", "user": "bot@example.com", "token": "api-token",
            "timeout_seconds": 0.25, **extra}


def _seed(app: Any, count: int) -> list[int]:
    """A resolved incident's retro with `count` action items, created through the services."""
    from app.actions.schemas import ActionItemCreate
    from app.actions.flows import create_item
    from app.auth.service import create_user
    from app.db import job_session
    from app.extensions import settings
    from app.incidents.schemas import IncidentCreate, IncidentUpdate
    from app.incidents.flows import update_incident
    from app.incidents.service import create_incident
    from app.people.service import get_or_create_person
    from app.retros.models import Retrospective

    config = settings(app)
    with job_session(app) as session:
        admin = create_user(session, email="bench@example.com", is_admin=True)
        get_or_create_person(session, email=OWNER, name="Owner")
        incident = create_incident(session, data=IncidentCreate(title="Bench", severity="SEV1", commander=OWNER))
        update_incident(session, incident=incident, data=IncidentUpdate(status="resolved"), actor=admin, settings=config)
        retro = session.scalar(select(Retrospective).where(Retrospective.incident_id == incident.id))
        ids = []
        for n in range(count):
            item, _ = create_item(
                session, retro=retro, actor=admin, via="system", settings=config,
                data=ActionItemCreate(title=f"Item {n}", owner=OWNER, due_date=date.today() + timedelta(days=7 + n % 20)),
            )
            ids.append(item.id)
    # The after-commit attempt pushes a few; the sync job pushes the rest, as the scheduler would.
    _sync_job(app, force=True, pull=False)
    return ids


def _sync_job(app: Any, *, force: bool = False, pull: bool = True) -> dict[str, Any]:
    from app.actions.sync import run_sync, session_factory_for
    from app.db import job_session
    from app.extensions import settings

    with job_session(app) as session:
        return run_sync(session_factory_for(session), settings=settings(app), force=force, pull=pull).as_dict()


def _count_synced(app: Any) -> int:
    from app.actions.models import ActionItem
    from app.db import database

    with database(app).session_factory() as session:  # type: ignore[misc]
        return session.scalar(select(func.count()).select_from(ActionItem).where(ActionItem.sync_status == "synced")) or 0


def reconcile_scenario(url: str, instance: str) -> dict[str, Outcome]:
    from tests.fakes.jira import FakeJira

    with FakeJira() as fake:
        fake.add_user(OWNER, name="owner")
        app = make_app(url, instance, base_url="http://hindsight.bench", jira=_jira_settings(fake, timeout_seconds=5))
        fake.clock_offset = -timedelta(days=1)  # synced yesterday
        started = time.perf_counter()
        _seed(app, SYNCED)
        seed_seconds = time.perf_counter() - started
        assert _count_synced(app) == SYNCED and len(fake.issues) == SYNCED

        fake.clock_offset = timedelta(0)
        fake.log.clear()
        started = time.perf_counter()
        first = _sync_job(app)
        full = {"requests": fake.count(), "searches": fake.count("GET", r"/search"), "seconds": time.perf_counter() - started,
                "pulled": first["pulled"]}

        keys = sorted(fake.issues, key=lambda k: int(k.split("-")[1]))
        for n, key in enumerate(keys[:: SYNCED // CHANGED][:CHANGED]):
            if n % 2:
                fake.change(key, status="done")
            else:
                fake.change(key, duedate=date.today() + timedelta(days=40))
        fake.log.clear()
        started = time.perf_counter()
        second = _sync_job(app)
        incremental = {"requests": fake.count(), "searches": fake.count("GET", r"/search"),
                       "seconds": time.perf_counter() - started, "pulled": second["pulled"]}
    full_target = math.ceil(SYNCED / 100)
    inc_target = math.ceil(CHANGED / 100)
    return {
        "jira_reconcile_full_1000": Outcome(
            metrics={"items": SYNCED, **full, "seed_push_seconds": round(seed_seconds, 2)},
            target=f"searches <= {full_target}, no per-item requests",
            ok=full["searches"] <= full_target and full["requests"] <= full["searches"] + 3 and full["pulled"] == 0,
        ),
        "jira_reconcile_50_changed": Outcome(
            metrics={"items": SYNCED, "changed": CHANGED, **incremental},
            target=f"searches <= {inc_target}, no per-item requests, 50 pulled",
            ok=incremental["searches"] <= inc_target and incremental["requests"] <= incremental["searches"] + 3
            and incremental["pulled"] == CHANGED,
        ),
    }


def push_scenario(url: str, instance: str) -> dict[str, Outcome]:
    from app.db import database
    from app.actions.models import JiraOutbox
    from tests.fakes.jira import FakeJira

    with FakeJira(hang_seconds=0.5, retry_after="1") as fake:
        fake.add_user(OWNER, name="owner")
        app = make_app(url, instance, base_url="http://hindsight.bench", jira=_jira_settings(fake))
        fake.failure_rate = FAILURE_RATE
        fake.random_kinds = ("500", "429", "timeout_after_apply")
        started = time.perf_counter()
        ids = _seed(app, PUSHED)
        rounds = 1
        while rounds < 200:
            with database(app).session_factory() as session:  # type: ignore[misc]
                if not session.scalar(select(func.count()).select_from(JiraOutbox)):
                    break
            _sync_job(app, force=True, pull=False)
            rounds += 1
        seconds = time.perf_counter() - started
        fake.failure_rate = 0.0
        labels = {label for issue in fake.issues.values() for label in issue["fields"]["labels"] if label != "hindsight"}
        failed = fake.count(failed=True)
        metrics = {
            "items": PUSHED, "synced": _count_synced(app), "issues": len(fake.issues), "distinct_labels": len(labels),
            "requests": fake.count(), "failed_requests": failed,
            "timeouts_after_create": sum(
                1 for e in fake.log if e.failure == "timeout_after_apply" and e.method == "POST" and e.path.endswith("/issue")),
            "rounds": rounds, "seconds": round(seconds, 2),
        }
    return {
        "jira_push_200_with_10pct_failures": Outcome(
            metrics=metrics, target="all 200 synced, exactly 200 issues",
            ok=metrics["synced"] == PUSHED and metrics["issues"] == PUSHED and metrics["distinct_labels"] == PUSHED
            and len(ids) == PUSHED,
        ),
    }


def run() -> dict[str, Outcome]:
    results: dict[str, Outcome] = {}
    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        results.update(reconcile_scenario(url, instance))
    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        results.update(push_scenario(url, instance))
    return results

"""The scheduler: jobs with stable ids, PostgreSQL locks so each job runs in one process,
real `hindsight scheduler` processes, and the scheduler running once inside `hindsight serve`."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.reminders.conftest import today

from app.db import database
from app.scheduler import JobLocks, build_scheduler, job_specs, lock_key, run_job
from tests.fakes.smtp import FakeSmtp, free_port
from tests.processes import HINDSIGHT, Process, process_env, wait_for



@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    param = callspec.params.get("database_url") if callspec else None
    if request.node.get_closest_marker("postgres_only") and param == "sqlite":
        pytest.skip("PostgreSQL only: several processes share the database")


def one_machine_only(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one-machine mode (SQLite): the PostgreSQL run adds nothing but seconds")


def test_jobs_have_stable_ids_and_jira_sync_runs_every_sync_minutes(make_app):
    plain = make_app()
    assert [spec.id for spec in job_specs(plain.extensions["hindsight.settings"])] == [
        "reminders.digests", "reminders.nudges", "reminders.outbox", "auth.audit_prune",
    ]
    with_jira = make_app(jira={"url": "https://jira.example.com", "project": "OPS", "sync_minutes": 7},
                         scheduler={"tick_seconds": 30})
    specs = {spec.id: spec for spec in job_specs(with_jira.extensions["hindsight.settings"])}
    assert specs["actions.jira_sync"].seconds == 7 * 60
    assert specs["reminders.digests"].seconds == 30
    scheduler, _locks = build_scheduler(with_jira)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(specs)
    assert lock_key("reminders.digests") == lock_key("reminders.digests") != lock_key("reminders.outbox")


@pytest.mark.committing  # its locks hold connections of the app's own engine: a fresh app, disposed after
def test_a_job_runs_in_its_own_session_and_commits(app, factory, auth, make_item, smtp_server):
    _, retro = factory.resolved_incident(auth)
    owner = factory.person()
    make_item(retro["id"], owner.email, -1)
    locks = JobLocks(database(app).engine)
    spec = next(s for s in job_specs(app.extensions["hindsight.settings"]) if s.id == "reminders.digests")
    first = run_job(app, locks, spec)
    assert first is not None and first["emails_sent"] == 1
    assert run_job(app, locks, spec)["emails_sent"] == 0  # committed: the second tick sees the first's log
    locks.release_all()
    assert len(smtp_server.messages()) == 1


@pytest.mark.postgres_only
@pytest.mark.committing  # another engine and process hold the locks
def test_a_job_lock_is_held_by_one_process_and_freed_when_it_dies(app, database_url):
    first = JobLocks(database(app).engine)
    other_engine = create_engine(database_url)
    second = JobLocks(other_engine)
    try:
        assert first.acquire("reminders.digests")
        assert first.acquire("reminders.digests")  # kept, not taken twice
        assert not second.acquire("reminders.digests")
        assert second.acquire("reminders.outbox")
        assert not first.acquire("reminders.outbox")
        # The holder's connection dies (as with a crashed process): PostgreSQL frees its locks.
        with other_engine.connect() as admin:
            admin.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = :lo"
            ), {"lo": lock_key("reminders.digests") & 0xFFFFFFFF})
        assert wait_for(lambda: second.acquire("reminders.digests"), timeout=5, what="the freed lock")
        assert not first.acquire("reminders.digests")  # it notices the lost connection and stands by
        assert first.held() == set()
    finally:
        first.release_all()
        second.release_all()
        other_engine.dispose()


def _env(database_url: str, smtp: FakeSmtp, tmp_path: Path, **extra: str) -> dict[str, str]:
    return process_env(database_url, tmp_path, HINDSIGHT_MAIL_FROM="hindsight@example.com",
                       HINDSIGHT_SMTP_HOST=smtp.host, HINDSIGHT_SMTP_PORT=str(smtp.port),
                       HINDSIGHT_SCHEDULER_TICK_SECONDS="0.2", **extra)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


@pytest.mark.slow
@pytest.mark.committing  # real `hindsight` processes read and write the database
@pytest.mark.postgres_only
def test_two_scheduler_processes_send_one_digest_per_owner_and_the_standby_takes_over(
    app, database_url, factory, auth, make_item, smtp_server, tmp_path, processes
):
    _, retro = factory.resolved_incident(auth)
    owners = [factory.person() for _ in range(5)]
    for owner in owners:
        make_item(retro["id"], owner.email, -1)
        make_item(retro["id"], owner.email, 1)
    env = _env(database_url, smtp_server, tmp_path)
    for n in range(2):
        processes.append(Process([HINDSIGHT, "scheduler"], env, tmp_path / f"scheduler{n}.log"))

    wait_for(lambda: len(smtp_server.messages()) >= len(owners), what="the digests")
    time.sleep(1.0)  # five more ticks in each process: nothing more may arrive
    assert sorted(m.to for m in smtp_server.messages()) == sorted(o.email for o in owners)

    runner = wait_for(
        lambda: [p for p in processes if "now runs job reminders.digests" in p.output()], what="the lock holder"
    )
    assert len(runner) == 1
    (standby,) = [p for p in processes if p is not runner[0]]
    runner[0].stop(signal.SIGKILL)  # dies without a goodbye: only PostgreSQL notices

    latecomer = factory.person()
    make_item(retro["id"], latecomer.email, 0)
    wait_for(lambda: smtp_server.messages(to=latecomer.email), what="the standby's digest")
    assert "now runs job reminders.digests" in standby.output()
    time.sleep(0.6)
    assert len(smtp_server.messages()) == len(owners) + 1


@pytest.mark.slow
@pytest.mark.committing  # real `hindsight` processes read and write the database
def test_serve_runs_the_scheduler_once_not_in_every_worker(
    app, database_url, factory, auth, make_item, smtp_server, tmp_path, processes
):
    import requests

    one_machine_only(database_url)

    _, retro = factory.resolved_incident(auth)
    owner = factory.person()
    make_item(retro["id"], owner.email, 0)
    port = free_port()
    env = _env(database_url, smtp_server, tmp_path)
    serve = Process([HINDSIGHT, "serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log")
    processes.append(serve)

    wait_for(lambda: smtp_server.messages(to=owner.email), what="the digest from the serve process")
    health = requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5)
    assert health.status_code == 200
    wait_for(lambda: serve.output().count("Booting worker") >= 2, what="two workers")
    serve.stop()
    output = serve.output()
    assert "with the scheduler in its own process" in output
    assert output.count("scheduler started (") == 1
    assert "scheduler stopped" in output
    assert len(smtp_server.messages()) == 1


@pytest.mark.slow
@pytest.mark.committing  # real `hindsight` processes read and write the database
def test_serve_no_scheduler_sends_nothing(app, database_url, factory, auth, make_item, smtp_server, tmp_path,
                                          processes):
    import requests

    one_machine_only(database_url)

    _, retro = factory.resolved_incident(auth)
    owner = factory.person()
    make_item(retro["id"], owner.email, 0)
    port = free_port()
    env = _env(database_url, smtp_server, tmp_path)
    serve = Process([HINDSIGHT, "serve", "--port", str(port), "--workers", "1", "--no-scheduler"], env,
                    tmp_path / "serve.log")
    processes.append(serve)
    wait_for(lambda: _answers(requests, port), what="the web server")
    time.sleep(0.6)  # three scheduler ticks, had there been a scheduler
    assert smtp_server.messages() == []
    assert "scheduler started" not in serve.output()


def _answers(requests: Any, port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still loading
        return False


@pytest.mark.slow
@pytest.mark.committing  # real `hindsight` processes read and write the database
def test_reminders_send_command_sends_for_the_given_day(app, database_url, factory, auth, make_item, smtp_server,
                                                        tmp_path):
    from click.testing import CliRunner

    from app.cli import main

    _, retro = factory.resolved_incident(auth)
    owner = factory.person()
    make_item(retro["id"], owner.email, 5)
    env = _env(database_url, smtp_server, tmp_path)
    env = {k: v for k, v in env.items() if k.startswith("HINDSIGHT_")}
    as_of = (today() + timedelta(days=3)).isoformat()
    runner = CliRunner()

    done = runner.invoke(main, ["reminders", "send", "--as-of", as_of], env=env)
    assert done.exit_code == 0, done.output
    assert f"Reminders for {as_of}: 1 emails sent (1 items), 0 failed." in done.output
    (mail,) = smtp_server.messages()
    assert "due soon" in mail.subject
    again = runner.invoke(main, ["reminders", "send", "--as-of", as_of], env=env)
    assert "0 emails sent" in again.output

    smtp_server.stop()
    tomorrow = (today() + timedelta(days=4)).isoformat()
    down = runner.invoke(main, ["reminders", "send", "--as-of", tomorrow], env=env)
    assert down.exit_code == 1 and "1 failed" in down.output
    bad = runner.invoke(main, ["reminders", "send", "--as-of", "31/12/2026"], env=env)
    assert bad.exit_code == 2 and "--as-of" in bad.output
    off = runner.invoke(main, ["reminders", "send"], env=env | {"HINDSIGHT_SMTP_HOST": ""})
    assert off.exit_code == 1 and "Mail is off" in off.output

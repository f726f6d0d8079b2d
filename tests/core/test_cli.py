"""The command line, run for real against a SQLite file (and `serve` as a real process)."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from app.cli import main
from app.demo import DEMO_EXTERNAL_ID
from app.incidents.models import Incident, TimelineEvent


@pytest.fixture
def env(tmp_path):
    return {
        "HINDSIGHT_INSTANCE_PATH": str(tmp_path / "instance"),
        "HINDSIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "HINDSIGHT_SECRET_KEY": "cli-test",
        "HINDSIGHT_AUTH_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",  # one cheap round, as everywhere in the suite
    }


def run(env, *args, input=None):
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    return result


@pytest.mark.parametrize("command", [[], ["serve"], ["db", "upgrade"], ["demo"], ["user", "create"], ["token", "create"], ["scheduler"]])
def test_every_command_has_help(env, command):
    result = run(env, *command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_db_upgrade_user_and_token(env):
    assert run(env, "db", "upgrade").exit_code == 0
    created = run(env, "user", "create", "Ops@Example.com", "--name", "Ops Lead", "--admin", "--password-stdin", input="a long password\n")
    assert created.exit_code == 0, created.output
    assert "admin user Ops Lead <ops@example.com>" in created.output
    again = run(env, "user", "create", "ops@example.com", "--password-stdin", input="another password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = run(env, "user", "create", "new@example.com", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    token = run(env, "token", "create", "ops@example.com")
    assert token.exit_code == 0 and token.output.strip().startswith("hs_")
    unknown = run(env, "token", "create", "nobody@example.com")
    assert unknown.exit_code == 1 and "No user has the email" in unknown.output


def test_a_bad_setting_stops_the_command_naming_it(env):
    result = run(env | {"HINDSIGHT_RETRO_DEADLINE_DAYS": "soon"}, "db", "upgrade")
    assert result.exit_code == 1
    assert "HINDSIGHT_RETRO_DEADLINE_DAYS" in result.output


def test_demo_loads_a_realistic_incident_once(env):
    first = run(env, "demo")
    assert first.exit_code == 0, first.output
    assert "admin@example.com" in first.output and "hindsight-demo" in first.output
    assert "already loaded" in run(env, "demo").output
    engine = create_engine(env["HINDSIGHT_DATABASE_URL"])
    with engine.connect() as conn:
        # The demo incident, found by its external id among the history loaded with it.
        incident = conn.execute(select(Incident.id, Incident.severity, Incident.status)
                                .where(Incident.external_id == DEMO_EXTERNAL_ID)).one()
        mine = {"id": incident.id}
        events = conn.scalar(select(func.count()).select_from(TimelineEvent).where(TimelineEvent.incident_id == incident.id))
        kinds = set(conn.scalars(select(TimelineEvent.kind).where(TimelineEvent.incident_id == incident.id)))
        commanders = conn.execute(text("SELECT count(*) FROM incident_roles WHERE role = 'commander' AND incident_id = :id"),
                                  mine).scalar()
        retros = conn.execute(text("SELECT count(*) FROM retrospectives WHERE incident_id = :id"), mine).scalar()
        items = conn.execute(text("SELECT count(*) FROM action_items a JOIN retrospectives r ON r.id = a.retrospective_id "
                                  "WHERE r.incident_id = :id"), mine).scalar()
        sections = conn.execute(text("SELECT count(*) FROM document_sections s JOIN retrospectives r "
                                     "ON r.id = s.retrospective_id WHERE r.incident_id = :id"), mine).scalar()
        history = conn.execute(text("SELECT count(*) FROM incidents WHERE external_id <> :demo"),
                               {"demo": DEMO_EXTERNAL_ID}).scalar()
    engine.dispose()
    assert incident.severity == "SEV1" and incident.status == "resolved"
    assert events >= 40
    assert {"detection", "escalation", "role", "mitigation", "resolution"} <= kinds
    assert commanders == 2  # the commander role was handed over
    assert retros == 1
    assert items == 5
    assert sections >= 8  # the standard template, prefilled
    assert history >= 30  # months of history for the board and the insights (tests/metrics/test_demo_history.py)


def test_the_demos_facts_agree_with_each_other_and_with_now(env):
    from datetime import datetime, timezone

    from app.retros.models import Retrospective

    assert run(env, "demo").exit_code == 0
    loaded_at = datetime.now(timezone.utc)
    engine = create_engine(env["HINDSIGHT_DATABASE_URL"])
    with Session(engine) as session:
        incident = session.scalars(select(Incident).where(Incident.external_id == DEMO_EXTERNAL_ID)).one()
        events = session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
                                 .order_by(TimelineEvent.occurred_at)).all()
        retro = session.scalars(select(Retrospective).where(Retrospective.incident_id == incident.id)).one()
        # Every event lies within the incident's times; the resolution is the last one.
        assert all(incident.started_at <= e.occurred_at <= incident.resolved_at for e in events)
        assert events[-1].kind == "resolution" and events[-1].occurred_at == incident.resolved_at
        # The retro is ahead of whoever loads the demo.
        assert loaded_at < retro.suggested_slot <= retro.deadline_at
        # The impact window the commander reports matches the timeline (UTC here).
        update = next(e.text for e in events if "impact window" in e.text)
        mitigated = next(e.occurred_at for e in events if e.kind == "mitigation")
        assert f"{incident.started_at:%H:%M} to {mitigated:%H:%M} UTC" in update
    engine.dispose()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow  # a real `hindsight serve` process
def test_serve_runs_gunicorn_and_migrates_first(env):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--no-scheduler", "--port", str(port), "--workers", "1"],
        env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "serve did not answer within 30 s"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/incidents", timeout=5).status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "gunicorn" in output.lower() or "Booting worker" in output

"""Custom templates render in a separate process: no template holds a worker for seconds or gigabytes.

The sandbox checks its time budget between operations; these templates spend it all
inside one operation (a huge power, the text of a huge list or dict), which only a
process limited in time and memory stops.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.documents import render_children as children
from tests.documents.conftest import document, section
from tests.documents.test_templates import CUSTOM

TOO_LONG = "takes too long to render (over 2 s); simplify its loops or arithmetic"
TOO_BIG = "uses too much memory to render (over 512 MB); make the values it builds smaller"
SLOW = "it took too long to render, over 2 s"
BIG = "it used too much memory, over 512 MB"
# Each bomb with the refusals it may get. The dict needs 2 GB: it runs out of memory in about
# 1.3 s, or, on a machine busy enough, out of time first; either refusal is right.
BOMBS = [
    pytest.param("{{ ((((9**64)**64)**64)**64) }}", {TOO_LONG}, {SLOW}, id="power"),
    pytest.param("{{ [[0]*200000]*200000 }}", {TOO_LONG}, {SLOW}, id="nested-list"),
    pytest.param("{{ dict.fromkeys(range(10000), 'x'*199999) }}", {TOO_BIG, TOO_LONG}, {BIG, SLOW}, id="dict"),
]
BOUND_SECONDS = 3.0
RSS_GROWTH_MB = 100


def rss_mb() -> float:
    """This process's resident memory, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.slow  # renders until the time bound stops the child (seconds)
@pytest.mark.parametrize("bomb, problems, _reasons", BOMBS)
def test_a_bomb_is_refused_at_creation_within_the_bound(client, auth, bomb, problems, _reasons):
    payload = CUSTOM | {"sections": [CUSTOM["sections"][0], {"key": "bomb", "title": "Bomb", "body": bomb},
                                     CUSTOM["sections"][3]]}
    before = rss_mb()
    started = time.monotonic()
    response = client.post("/api/v1/templates", headers=auth, json=payload)
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "unsafe_template"
    assert list(error["fields"]) == ["sections.1.body"] and error["fields"]["sections.1.body"] in problems
    assert elapsed < BOUND_SECONDS, elapsed
    assert rss_mb() - before < RSS_GROWTH_MB
    assert client.get("/api/v1/templates/payments", headers=auth).status_code == 404


@pytest.mark.slow  # renders until the time bound stops the child (seconds)
@pytest.mark.parametrize("bomb, _problems, reasons", BOMBS)
def test_a_bomb_hidden_behind_a_condition_gives_a_placeholder_when_a_member_chooses_it(
    client, auth, factory, bomb, _problems, reasons,
):
    """The creation sample has one timeline event; the bomb waits for four, then a plain member picks the template."""
    hidden = {"key": "hidden", "title": "Hidden", "body": "{% if timeline|length > 3 %}" + bomb + "{% endif %}"}
    payload = CUSTOM | {"name": "sleeper", "sections": [CUSTOM["sections"][0], hidden, CUSTOM["sections"][1]]}
    created = client.post("/api/v1/templates", headers=auth, json=payload)
    assert created.status_code == 201, created.get_json()

    commander = factory.person(name="Pat Payments", email="pat@example.com")
    incident, retro = factory.resolved_incident(auth, title="Card auth", commander=commander.email)
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    events = [{"occurred_at": (start + timedelta(minutes=n)).isoformat(), "text": f"Step {n}"} for n in range(4)]
    added = client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth, json=events)
    assert added.status_code == 201, added.get_json()
    _member, member = factory.user()

    before = rss_mb()
    started = time.monotonic()
    response = client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=member,
                          json={"template": "sleeper"})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.get_json()
    assert elapsed < BOUND_SECONDS, elapsed
    assert rss_mb() - before < RSS_GROWTH_MB

    doc = document(client, retro["id"], member)
    assert doc["template"] == "sleeper"
    assert section(doc, "facts")["body"].startswith("Card auth (SEV1), led by Pat Payments.")
    assert section(doc, "hidden")["body"] in {
        f"*This section's template could not be rendered ({reason}); write the section here.*" for reason in reasons
    }
    # The sections after it are not tried: the template's budget is spent.
    assert section(doc, "rules")["body"] == ("*This section's template could not be rendered (an earlier section "
                                             "used up the template's time or memory); write the section here.*")


@pytest.mark.slow  # renders until the time bound stops the child (seconds)
@pytest.mark.parametrize("settings_overrides", [{"documents": {"template_by_severity": {"SEV1": "sleeper"}}}])
def test_a_hidden_bomb_does_not_hold_booking_the_retro(client, auth, factory):
    """Booking the retro (resolving the incident) renders the document: that is bounded too."""
    bomb = "{% if incident.title == 'Real one' %}{{ ((((9**64)**64)**64)**64) }}{% endif %}"
    payload = CUSTOM | {"name": "sleeper", "sections": [{"key": "hidden", "title": "Hidden", "body": bomb}]}
    assert client.post("/api/v1/templates", headers=auth, json=payload).status_code == 201

    started = time.monotonic()
    _incident, retro = factory.resolved_incident(auth, title="Real one")
    assert time.monotonic() - started < BOUND_SECONDS + 1  # creating and resolving the incident included
    body = section(document(client, retro["id"], auth), "hidden")["body"]
    assert body == "*This section's template could not be rendered (it took too long to render, over 2 s); " \
                   "write the section here.*"


@pytest.mark.parametrize("settings_overrides, body, seconds, problem", [
    ({"documents": {"render_seconds": 0.5}},
     "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", 1.5,
     "is refused by the sandbox: the template takes longer than 0.5 s to render"),
    ({"documents": {"render_seconds": 0.5}}, "{{ ((((9**64)**64)**64)**64) }}", 1.5,
     "takes too long to render (over 0.5 s); simplify its loops or arithmetic"),
    ({"documents": {"render_memory_mb": 128, "render_seconds": 10}}, "{{ dict.fromkeys(range(10000), 'x'*199999) }}",
     10, "uses too much memory to render (over 128 MB); make the values it builds smaller"),
], ids=["in-process-check", "killed", "memory"])
def test_the_limits_come_from_the_settings(client, auth, body, seconds, problem):
    """The section after the one that spent the budget is not tried, so not refused either."""
    payload = CUSTOM | {"sections": [{"key": "bomb", "title": "Bomb", "body": body}, CUSTOM["sections"][0]]}
    started = time.monotonic()
    response = client.post("/api/v1/templates", headers=auth, json=payload)
    assert time.monotonic() - started < seconds
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"sections.0.body": problem}


def test_ordinary_custom_templates_render_as_they_do_in_process():
    from app.documents.service import sample_context
    from app.documents.templating import render_bodies, render_body

    bodies = [s["body"] for s in CUSTOM["sections"]] + [
        "{% set ns = namespace(n=0) %}{% for m in team if m.role == 'commander' %}{% set ns.n = ns.n + 1 %}"
        "{{ loop.index }}. {{ m.name | upper }}{% endfor %} {{ ns.n }} {{ incident.title | inline }} "
        "{{ range(3) | list }} {{ 'ab' * 3 }} {{ 2 ** 10 }} {{ timeline | map(attribute='text') | join(', ') }}",
        "{% for link in links %}- [{{ link.title | inline }}]({{ link.url | url }})\n{% endfor %}",
        "{{ 'é ✓ \u2028 |' | cell }} {{ incident.missing.deeper }} {{ dict(a=1) }}",
        "{{ 'x' * 200000 }}",  # as long as a section may be
    ]
    context = sample_context()
    results = render_bodies(bodies, context)
    assert [r.body for r in results] == [render_body(body, context) for body in bodies]
    assert all(r.problem == "" for r in results)


def test_a_template_error_keeps_its_message_and_the_later_sections_render():
    from app.documents.templating import render_bodies

    results = render_bodies(["{{ 9 ** 99 }}", "{{ 1 / 0 }}", "still {{ 'here' }}"], {})
    assert [(r.body, r.reason, r.problem) for r in results] == [
        (None, "SecurityError", "is refused by the sandbox: exponents above 64 are not allowed in templates"),
        (None, "ZeroDivisionError", "fails to render: ZeroDivisionError: division by zero"),
        ("still here", "", ""),
    ]


# -- the render process itself ------------------------------------------------------------------

def test_a_child_killed_by_a_signal_is_a_crash_not_an_error():
    from app.documents.isolation import Limits, Stop, run_limited

    outcome = run_limited(children.counts_then_dies, (signal.SIGSEGV,), limits=Limits())
    assert (outcome.items, outcome.stop, outcome.exitcode) == ([1], Stop.CRASHED, -signal.SIGSEGV)
    outcome = run_limited(children.counts_then_dies, (signal.SIGXCPU,), limits=Limits())
    assert (outcome.items, outcome.stop) == ([1], Stop.TIME)


def test_a_child_past_its_wall_time_is_killed_by_the_parent():
    from app.documents.isolation import GRACE_SECONDS, Limits, Stop, run_limited

    started = time.monotonic()
    outcome = run_limited(children.spins, (), limits=Limits(seconds=0.5))
    elapsed = time.monotonic() - started
    assert (outcome.items, outcome.stop, outcome.exitcode) == ([1], Stop.TIME, -signal.SIGKILL)
    assert 0.5 <= elapsed < 0.5 + GRACE_SECONDS + 0.5


def test_a_child_past_its_memory_is_stopped_and_the_parent_stays_small():
    from app.documents.isolation import Limits, Stop, run_limited

    before = rss_mb()
    outcome = run_limited(children.hoards, (), limits=Limits(memory_mb=256))
    assert outcome.stop is Stop.MEMORY
    assert 4 < len(outcome.items) < 256 // 16
    assert rss_mb() - before < RSS_GROWTH_MB


def test_the_child_is_limited_and_holds_nothing_of_the_parent(app, db_session):
    """Limited before it runs anything, and no database connection (or any other file) of the worker inherited."""
    from sqlalchemy import text

    from app.documents.isolation import Limits, run_limited

    db_session.execute(text("SELECT 1"))  # this worker holds a connection now
    database = app.extensions["hindsight.settings"].resolved_database_url()
    memory, cpu, files, parent = run_limited(children.view, (), limits=Limits(seconds=2, memory_mb=300)).items
    assert memory == [300 * 1024 * 1024, 300 * 1024 * 1024]
    assert cpu == [3, 4]
    assert not [f for f in files if f.startswith("socket:") or (f.startswith("/") and f in database)], files
    assert parent != os.getpid()  # forked by the forkserver, not by this worker


def test_a_worker_forked_after_the_forkserver_started_renders_too():
    """gunicorn forks workers from a master whose scheduler may have rendered (and started a forkserver) first."""
    from app.documents.templating import render_bodies

    assert render_bodies(["{{ 1 }}"], {})[0].body == "1"  # this process's forkserver is running
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "worker": render, say what came out, and leave without running anything else
        try:
            os.write(write, str(render_bodies(["{{ 6 * 7 }}"], {})[0]).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as answer:
        assert answer.read().decode() == str(render_bodies(["42"], {})[0])


@pytest.mark.parametrize("settings_overrides", [{"documents": {"render_seconds": 0.5}}])
def test_a_section_stopped_by_the_sandbox_clock_says_it_took_too_long(app, client, auth, factory):
    """Stored behind the API's back; the sandbox's own check stops the loop, and the placeholder says why in words."""
    from app.db import get_session
    from app.documents.models import DocumentTemplate

    loop = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    with app.app_context():
        session = get_session()
        session.add(DocumentTemplate(name="loops", title="Loops", description="", sections=[
            {"key": "loop", "title": "Loop", "body": loop}]))
        session.commit()
    _incident, retro = factory.resolved_incident(auth)
    put = client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=auth,
                     json={"template": "loops"})
    assert put.status_code == 200, put.get_json()
    assert section(document(client, retro["id"], auth), "loop")["body"] == (
        "*This section's template could not be rendered (it took too long to render, over 0.5 s); "
        "write the section here.*"
    )


def test_a_child_that_fails_is_a_crash_with_what_it_sent_before():
    from app.documents.isolation import Limits, Stop, run_limited

    outcome = run_limited(children.answers_oddly, (), limits=Limits())
    assert (outcome.items, outcome.stop, outcome.exitcode) == ([{"fine": 1}], Stop.CRASHED, 1)

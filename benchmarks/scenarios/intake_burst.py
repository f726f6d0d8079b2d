"""A burst of PagerDuty webhooks against `hindsight serve --no-scheduler` on PostgreSQL (default workers).

2,000 signed v3 deliveries for 200 incidents (9 events each: triggered, acknowledged, three notes,
reassigned, escalated, priority changed, resolved; 10% of deliveries are repeats, 5% are moved ahead of
their turn, e.g. a resolution before its trigger), sent by 8 concurrent clients, in 3 rounds that alternate with the baseline (below) so that load from
outside the benchmark falls on both alike. After each round every
incident must exist once, resolved with its retro booked, and every event be on its timeline once.
Throughput is compared with a minimal Flask endpoint on the same gunicorn settings and worker count
that verifies the HMAC and inserts one row (target: at least half of its requests per second).
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from benchmarks.common import Outcome, scratch_postgres
from config import load_settings
from tests.fakes import paging

NAME = "intake_burst"
DESCRIPTION = "2,000 PagerDuty webhooks (200 incidents, 10% repeats, 5% early) by 8 clients vs a minimal HMAC+insert endpoint"

HINDSIGHT = str(Path(sys.executable).with_name("hindsight"))
SECRET = "bench-pagerduty-secret"
INCIDENTS = 200
DELIVERIES = 2000
CLIENTS = 8
TARGET_RATIO = 0.5
ROUNDS = 3

# The minimal endpoint, served by gunicorn with Hindsight's own options (app.server.gunicorn_options).
BASELINE = r'''
import hashlib, hmac, os, sys
from flask import Flask, request
from gunicorn.app.base import BaseApplication
from sqlalchemy import create_engine, text
from app.server import gunicorn_options

def make():
    app = Flask("baseline")
    engine = create_engine(os.environ["BASELINE_DATABASE_URL"])
    secret = os.environ["BASELINE_SECRET"].encode()

    @app.post("/webhook")
    def webhook():
        raw = request.get_data()
        expected = "v1=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
        given = [part.strip() for part in request.headers.get("X-PagerDuty-Signature", "").split(",")]
        if not any(hmac.compare_digest(g.encode(), expected.encode()) for g in given):
            return {"error": {"code": "invalid_signature", "message": "no"}}, 401
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO intake_bench_rows (body_bytes) VALUES (:n)"), {"n": len(raw)})
        return {"outcome": "applied"}
    return app

class Serve(BaseApplication):
    def load_config(self):
        for key, value in gunicorn_options(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2])).items():
            self.cfg.set(key, value)
    def load(self):
        return make()

Serve().run()
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _deliveries(round_: int, seed: int = 12) -> list[dict]:
    """One round's burst, in sending order: 1,800 distinct events, 200 repeats, 100 moved ahead."""
    rng = random.Random(seed + round_)
    base = datetime.now(timezone.utc) - timedelta(days=2)
    per_incident: list[list[dict]] = []
    for n in range(INCIDENTS):
        ref = f"PB{round_}R{n:05d}"
        start = base + timedelta(minutes=n)
        created = dict(created_at=start)
        kinds = [
            ("incident.triggered", paging.pd_incident(ref, **created)),
            ("incident.acknowledged", paging.pd_incident(ref, status="acknowledged", **created)),
            ("incident.annotated", paging.pd_note(ref, "Looking at the dashboards")),
            ("incident.reassigned", paging.pd_incident(ref, assignees=[paging.pd_user("PB2", "Bob")], **created)),
            ("incident.annotated", paging.pd_note(ref, "Rolled back")),
            ("incident.escalated", paging.pd_incident(ref, assignees=[paging.pd_user("PB3", "Cy")], **created)),
            ("incident.priority_updated", paging.pd_incident(ref, priority="P2", **created)),
            ("incident.annotated", paging.pd_note(ref, "Errors back to normal")),
            ("incident.resolved", paging.pd_incident(ref, status="resolved", **created)),
        ]
        per_incident.append([
            paging.pd_event(kind, occurred_at=start + timedelta(minutes=5 * i), data=data, event_id=f"{ref}-E{i}")
            for i, (kind, data) in enumerate(kinds)
        ])
    # Interleave the incidents, as a busy account would, each incident's events in order ...
    order: list[dict] = []
    cursors = [0] * INCIDENTS
    while len(order) < INCIDENTS * 9:
        n = rng.randrange(INCIDENTS)
        if cursors[n] < 9:
            order.append(per_incident[n][cursors[n]])
            cursors[n] += 1
    # ... then 5% moved ahead of their turn (a resolution may overtake its trigger) ...
    for _ in range(DELIVERIES // 20):
        i = rng.randrange(len(order))
        event = order.pop(i)
        order.insert(max(0, i - rng.randrange(50, 400)), event)
    # ... and 10% delivered twice.
    for event in rng.sample(order, DELIVERIES - len(order)):
        order.insert(rng.randrange(order.index(event), len(order) + 1), event)
    return order


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)


def _send(url: str, bodies: list[bytes]) -> tuple[float, list[float], dict[str, int], dict[str, list[float]]]:
    """CLIENTS threads send every body once, in order from a shared queue;
    (seconds, latencies, statuses, latencies by event type)."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    by_type: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as http:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                sent = time.perf_counter()
                try:
                    status = str(http.post(url, data=body, headers=paging.sign_pagerduty(body, SECRET), timeout=60).status_code)
                except requests.RequestException as exc:
                    status = type(exc).__name__
                took = time.perf_counter() - sent
                kind = json.loads(body)["event"]["event_type"]
                with lock:
                    latencies.append(took)
                    by_type.setdefault(kind, []).append(took)
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses, by_type


@contextmanager
def _server(args: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[None]:
    """A server process for the whole scenario, stopped (with its workers) at the end."""
    with log.open("wb") as handle:
        process = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_up(ready_url, process, log)
            time.sleep(1.5)  # every worker has loaded its app
            yield
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def _check(url: str, round_: int) -> tuple[bool, str]:
    """Every incident and event of the round exactly once, each incident resolved with its retro booked."""
    like = f"pagerduty:PB{round_}R%"
    engine = create_engine(url)
    with engine.begin() as conn:
        found = conn.execute(text(
            "SELECT count(*), count(DISTINCT i.external_id), "
            "count(*) FILTER (WHERE i.status = 'resolved' AND i.started_at <= i.resolved_at), count(r.id) "
            "FROM incidents i LEFT JOIN retrospectives r ON r.incident_id = i.id WHERE i.external_id LIKE :like"),
            {"like": like}).one()
        events, distinct_events = conn.execute(text(
            "SELECT count(*), count(DISTINCT (t.incident_id, t.external_id)) FROM timeline_events t "
            "JOIN incidents i ON i.id = t.incident_id WHERE i.external_id LIKE :like AND t.source = 'pagerduty'"),
            {"like": like}).one()
    engine.dispose()
    incidents, distinct, resolved, retros = found
    ok = incidents == distinct == resolved == retros == INCIDENTS and events == distinct_events == INCIDENTS * 9
    return ok, f"round {round_}: incidents {incidents}, resolved {resolved}, retros {retros}, events {events}"


def run() -> dict[str, Outcome]:
    workers = load_settings(environ={}).server.workers  # the default worker count
    with tempfile.TemporaryDirectory(prefix="hindsight-bench-intake-") as scratch, scratch_postgres() as url:
        folder = Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HINDSIGHT_")}
        env.update({"HINDSIGHT_DATABASE_URL": url, "HINDSIGHT_INSTANCE_PATH": str(folder / "instance"),
                    "HINDSIGHT_SECRET_KEY": "bench", "HINDSIGHT_PAGERDUTY_WEBHOOK_SECRET": SECRET,
                    "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])})
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE intake_bench_rows (id serial PRIMARY KEY, body_bytes integer NOT NULL)"))
        engine.dispose()
        port, base_port = _free_port(), _free_port()
        base_env = env | {"BASELINE_DATABASE_URL": url, "BASELINE_SECRET": SECRET}
        rps: list[float] = []
        base_rps: list[float] = []
        latencies: list[float] = []
        base_latencies: list[float] = []
        by_type: dict[str, list[float]] = {}
        statuses: dict[str, int] = {}
        checks: list[tuple[bool, str]] = []
        with _server([HINDSIGHT, "serve", "--no-scheduler", "--port", str(port), "--workers", str(workers)], env,
                     folder / "hindsight.log", f"http://127.0.0.1:{port}/api/v1/health"), \
                _server([sys.executable, "-c", BASELINE, str(base_port), str(workers)], base_env,
                        folder / "baseline.log", f"http://127.0.0.1:{base_port}/"):
            # Rounds alternate between the two, so that load from outside falls on both alike.
            for round_ in range(ROUNDS):
                bodies = [paging.body_of(event) for event in _deliveries(round_)]
                seconds, took, answered, kinds = _send(
                    f"http://127.0.0.1:{port}/api/v1/integrations/pagerduty/webhook", bodies)
                rps.append(len(bodies) / seconds)
                latencies += took
                for status, n in answered.items():
                    statuses[status] = statuses.get(status, 0) + n
                for kind, values in kinds.items():
                    by_type.setdefault(kind, []).extend(values)
                checks.append(_check(url, round_))
                base_seconds, base_took, base_answered, _ = _send(f"http://127.0.0.1:{base_port}/webhook", bodies)
                base_rps.append(len(bodies) / base_seconds)
                base_latencies += base_took
                if set(base_answered) != {"200"}:
                    raise RuntimeError(f"the baseline endpoint failed: {base_answered}")

    ratio = statistics.median(rps) / statistics.median(base_rps)
    errors = sum(n for status, n in statuses.items() if status != "200")
    exact = all(ok for ok, _ in checks)
    return {
        "intake_burst.pagerduty": Outcome(
            metrics={
                "deliveries": DELIVERIES, "rounds": ROUNDS, "workers": workers, "clients": CLIENTS,
                "median_ms": round(statistics.median(latencies) * 1000, 1), "p99_ms": round(_p99(latencies) * 1000, 1),
                "rps": round(statistics.median(rps), 1), "baseline_rps": round(statistics.median(base_rps), 1),
                "ratio": round(ratio, 3), "baseline_median_ms": round(statistics.median(base_latencies) * 1000, 1),
                "errors": errors, "exactly_once": exact,
            },
            target=f"every incident and event exactly once, 0 errors, ratio >= {TARGET_RATIO}",
            ok=exact and errors == 0 and ratio >= TARGET_RATIO,
            notes=[
                "; ".join(note for _, note in checks),
                f"rounds: hindsight {[round(r) for r in rps]} req/s, baseline {[round(r) for r in base_rps]} req/s; "
                f"statuses {statuses}",
                "median ms by event type: " + ", ".join(
                    f"{kind.removeprefix('incident.')} {statistics.median(v) * 1000:.0f}" for kind, v in sorted(by_type.items())),
            ],
        )
    }

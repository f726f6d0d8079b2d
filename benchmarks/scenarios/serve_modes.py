"""`hindsight serve` (one machine, scheduler beside it) against `serve --no-scheduler`: same throughput, no errors.

Both serve the demo on SQLite with 4 workers while 50 clients ask for the action-item list with
an API token (every token request may record its use: a writer). The default mode runs the
scheduler with a 1 s tick and a digest hour of 0, so its jobs run during the load. The issue saw
81-154 requests/s with 500s in the default mode against 303-400 without the scheduler.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from benchmarks.common import Outcome

NAME = "serve_modes"
DESCRIPTION = "serve with its scheduler vs serve --no-scheduler: requests/s and errors under 50 clients"

HINDSIGHT = str(Path(sys.executable).with_name("hindsight"))
CLIENTS = 50
WORKERS = 4
SECONDS = 8.0
ROUNDS = 2
TARGET_RATIO = 0.8  # "the same within noise" on a shared 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HINDSIGHT_")}
    env.update({
        "HINDSIGHT_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "HINDSIGHT_INSTANCE_PATH": str(folder / "instance"),
        "HINDSIGHT_SECRET_KEY": "bench",
        "HINDSIGHT_REMINDERS_HOUR": "0",
        "HINDSIGHT_SCHEDULER_TICK_SECONDS": "1",
    })
    return env


def _load(base: str, token: str) -> tuple[float, Counter[str]]:
    """CLIENTS threads asking as fast as they can for SECONDS; returns (requests/s, outcomes)."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client() -> None:
        with requests.Session() as http:
            while time.monotonic() < stop:
                try:
                    answer = http.get(f"{base}/api/v1/action-items", headers={"Authorization": f"Bearer {token}"},
                                      timeout=30)
                    outcome = str(answer.status_code)
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(outcomes.values()) / (time.monotonic() - started), outcomes


def _serve_and_load(env: dict[str, str], token: str, *, scheduler: bool, log: Path) -> tuple[float, Counter[str]]:
    port = _free_port()
    args = [HINDSIGHT, "serve", "--port", str(port), "--workers", str(WORKERS)] + ([] if scheduler else ["--no-scheduler"])
    with log.open("wb") as handle:
        process = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"serve did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            time.sleep(2.0)  # every worker has loaded the app; the scheduler has started its jobs
            return _load(f"http://127.0.0.1:{port}", token)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run() -> dict[str, Outcome]:
    with tempfile.TemporaryDirectory(prefix="hindsight-bench-serve-") as scratch:
        folder = Path(scratch)
        env = _env(folder)
        subprocess.run([HINDSIGHT, "demo"], env=env, check=True, capture_output=True)
        token = subprocess.run([HINDSIGHT, "token", "create", "admin@example.com"], env=env, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        rates: dict[bool, list[float]] = {True: [], False: []}
        errors: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
        for round_ in range(ROUNDS):
            for scheduler in (False, True):
                rate, outcomes = _serve_and_load(env, token, scheduler=scheduler,
                                                 log=folder / f"serve-{scheduler}-{round_}.log")
                rates[scheduler].append(rate)
                errors[scheduler].update({k: v for k, v in outcomes.items() if k != "200"})
    with_scheduler, without = statistics.median(rates[True]), statistics.median(rates[False])
    ratio = with_scheduler / without if without else 0.0
    failures = sum(errors[True].values()) + sum(errors[False].values())
    return {
        "serve_modes.throughput": Outcome(
            metrics={
                "with_scheduler_rps": round(with_scheduler, 1), "no_scheduler_rps": round(without, 1),
                "ratio": round(ratio, 3), "errors_with_scheduler": sum(errors[True].values()),
                "errors_no_scheduler": sum(errors[False].values()),
            },
            target=f">= {TARGET_RATIO} and 0 errors",
            ok=ratio >= TARGET_RATIO and failures == 0,
            notes=[f"rounds: with {[round(r) for r in rates[True]]}, without {[round(r) for r in rates[False]]}; "
                   f"errors: {dict(errors[True]) or 'none'} / {dict(errors[False]) or 'none'}"],
        )
    }

"""Serving: gunicorn for web + API, and the one-machine supervisor that runs it beside the scheduler.

`hindsight serve` (one machine) starts two child processes and only watches them:
gunicorn (`serve --no-scheduler`) and `hindsight scheduler`. Nothing that owns a thread,
a lock or a database connection exists in a process that forks web workers: the
scheduler's threads and connections live in a process of their own, started with
fork + exec, so no worker can inherit a lock a job was holding.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

from gunicorn.app.base import BaseApplication

from config import Settings

log = logging.getLogger(__name__)

# A scheduler that dies is started again after this many seconds, doubling up to the cap.
RESTART_DELAY_SECONDS = 1.0
RESTART_DELAY_CAP_SECONDS = 60.0
STOP_GRACE_SECONDS = 30.0


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        # Called in each worker after the fork: every worker builds its own app and engine.
        from app import create_app

        return create_app(self.settings)


def gunicorn_options(*, host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn's settings for Hindsight."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        # Paths without query strings: the Jira webhook's `secret` fallback must not reach the log.
        # %(p)s names the worker that answered.
        "access_log_format": '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s" pid=%(p)s',
        "errorlog": "-",
        "timeout": 60,
        "forwarded_allow_ips": "127.0.0.1",
        # gunicorn's control socket runs a thread in the master, which forks the workers: off.
        "control_socket_disable": True,
        # Above the app's own bound (app.core.handlers.MAX_HEADER_BYTES) so that the app answers too-large
        # headers with 431 in the JSON error shape; gunicorn still refuses past 128 fields or one of 128 KiB
        # (at most 16 MiB read before the app sees the request).
        "limit_request_field_size": 128 * 1024,
        "limit_request_fields": 128,
    }


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve web + API until stopped (no scheduler in this process or its workers)."""
    _Gunicorn(settings, gunicorn_options(host=host, port=port, workers=workers)).run()


def _die_with_parent() -> None:
    """In a child, before exec: get SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the children outlive a killed supervisor, as they would any shell


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, preexec_fn=_die_with_parent)  # noqa: PLW1509 - no threads here


def supervise(*, host: str, port: int, workers: int) -> int:
    """`hindsight serve`: run gunicorn and the scheduler as two child processes until stopped.

    The scheduler is started again if it dies; when the web server stops, so does the
    scheduler. SIGTERM or SIGINT stops both. Returns the web server's exit status.
    """
    stopping: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    web = _start(_command("serve", "--no-scheduler", "--no-migrate", "--host", host, "--port", str(port),
                          "--workers", str(workers)))
    scheduler = _start(_command("scheduler"))
    log.info("serving on %s:%d (pid %d) with the scheduler in its own process (pid %d)",
             host, port, web.pid, scheduler.pid)
    delay = RESTART_DELAY_SECONDS
    restart_at: float | None = None
    while not stopping and web.poll() is None:
        if restart_at is None and scheduler.poll() is not None:
            log.warning("the scheduler exited with status %s; starting it again in %.0f s", scheduler.returncode, delay)
            restart_at = time.monotonic() + delay
            delay = min(delay * 2, RESTART_DELAY_CAP_SECONDS)
        if restart_at is not None and time.monotonic() >= restart_at:
            scheduler, restart_at = _start(_command("scheduler")), None
        time.sleep(0.2)
    for child in (scheduler, web):
        if child.poll() is None:
            child.send_signal(stopping[0] if stopping else signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in (scheduler, web):
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log.warning("process %d did not stop within %.0f s; killing it", child.pid, STOP_GRACE_SECONDS)
            child.kill()
            child.wait()
    log.info("scheduler stopped")
    return web.returncode or 0

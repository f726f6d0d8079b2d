"""Real `hindsight` processes for the tests that need them: started, logged to a file, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HINDSIGHT = str(Path(sys.executable).with_name("hindsight"))


def wait_for(condition: Callable[[], Any], *, timeout: float = 20, what: str = "condition") -> Any:
    """Poll `condition` until it is truthy (returned) or `timeout` seconds pass (the test fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    """A child process whose output goes to `log`; `stop` asks it to end, then kills it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, *, stop_seconds: float = 15) -> None:
        self.log = log
        self.stop_seconds = stop_seconds
        self.handle = log.open("wb")
        self.popen = subprocess.Popen(args, env=env, stdout=self.handle, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.handle.close()


def process_env(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a `hindsight` child process: no HINDSIGHT_* of ours, the test database,
    a digest hour of 0 (jobs run whatever the hour) and the given HINDSIGHT_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HINDSIGHT_")}
    env.update({
        "HINDSIGHT_DATABASE_URL": database_url,
        "HINDSIGHT_SECRET_KEY": "test-secret-key",
        "HINDSIGHT_INSTANCE_PATH": str(tmp_path / "instance"),
        "HINDSIGHT_BASE_URL": "http://hindsight.test",
        "HINDSIGHT_REMINDERS_HOUR": "0",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(settings)
    return env

"""What every scenario needs: a scratch PostgreSQL database, an app on it, timing helpers."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine

from config import sqlalchemy_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Outcome:
    """One scenario's figures; `ok` says whether `target` was met."""

    metrics: dict[str, Any]
    target: Any
    ok: bool
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {**self.metrics, "target": self.target, "ok": self.ok}


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards."""
    from app.migrations import upgrade

    from tests.databases import throwaway_database

    admin_url = os.environ.get("HINDSIGHT_BENCH_POSTGRES_URL", os.environ.get("HINDSIGHT_TEST_POSTGRES_URL", DEFAULT_PG_URL))
    admin = create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with throwaway_database(admin, prefix="hindsight_bench_") as url:
            upgrade(url)
            yield url
    finally:
        admin.dispose()


def make_app(database_url: str, instance_path: str, **overrides: Any):  # type: ignore[no-untyped-def]
    from app import create_app
    from config import load_settings

    settings = {"database_url": database_url, "secret_key": "bench", "instance_path": instance_path} | overrides
    return create_app(load_settings(overrides=settings, environ={}))


def median_seconds(fn: Callable[[], Any], *, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of `fn` over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def timed_wsgi(app: Any, samples: list[float]) -> None:
    """Record the server time of every request to `app` in `samples`: the WSGI call, body included."""
    inner = app.wsgi_app

    def timed(environ: Any, start_response: Any) -> Any:
        started = time.perf_counter()
        body = list(inner(environ, start_response))
        samples.append(time.perf_counter() - started)
        return body

    app.wsgi_app = timed


def p90(values: list[float]) -> float:
    """The 90th percentile of `values` (the nearest sample)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]

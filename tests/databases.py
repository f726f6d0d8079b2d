"""Throwaway PostgreSQL databases, for the test sessions and the benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url


@contextmanager
def throwaway_database(admin: Engine, *, prefix: str) -> Iterator[str]:
    """Create a database named `prefix` + a random suffix next to `admin`'s; yield its URL, then drop it.

    `admin` must be an AUTOCOMMIT engine (CREATE/DROP DATABASE cannot run in a transaction).
    """
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

"""The PostgreSQL pool replaces a connection the server has ended (a restart, pg_terminate_backend) before use."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from app.db import make_engine


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _end_backend(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            deadline = time.monotonic() + 10
            while connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar_one():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.05)
    finally:
        admin.dispose()


def test_a_connection_the_server_ended_is_replaced_and_the_next_use_succeeds(engine: Engine, postgres_url: str) -> None:
    first = _backend(engine)
    _end_backend(postgres_url, first)

    second = _backend(engine)  # would raise "terminating connection due to administrator command" if reused

    assert second != first


def test_a_healthy_pooled_connection_is_kept(engine: Engine) -> None:
    assert _backend(engine) == _backend(engine) == _backend(engine)

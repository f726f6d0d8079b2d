"""The database: engine, one session per request or job, the declarative Base.

Outside calls (Jira, Confluence, SMTP, chat) follow one pattern, `call_outside`:
1. record the intent in the session: an outbox row, or a claim on the rows the call is
   about (a status such as `sending` or `publishing` with the time, so a process that dies
   mid-call leaves a claim that expires instead of a lock);
2. commit it, so that no transaction, row lock or SQLite write lock is held during the call;
3. make the call, bounded by the adapter's connect and read timeouts;
4. record the outcome with the same session, in a new short transaction that the edge
   (the request's end, `job_session`) commits; a domain error that reports an outside
   failure (`OutsideFailure`) is committed by the edge too, so the failure stays visible.
   A call made once the edge has committed (an `after_commit` callback) records its outcome
   in `outcome_session`, a short transaction of its own.

Commits happen only at the edges: `job_session`, `call_outside`, `outcome_session`, the JSON
API's `endpoint` (app/core/api.py), the pages' `page` (app/core/pages.py) and the sign-in
step before every request (app/auth/context.py). Services flush, never commit.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.core.errors import OutsideFailure

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EXTENSION_KEY = "hindsight.db"
log = logging.getLogger(__name__)
AFTER_COMMIT_KEY = "after_commit"
T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is timezone.utc:  # PostgreSQL sessions run in UTC (make_engine): nothing to convert
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(timezone.utc)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout; PostgreSQL runs without JIT
    and replaces a pooled connection the server has ended (`_refuse_ended_connection`).

    PostgreSQL's JIT compiles a query whose estimated cost is high, and the visibility rule's
    EXISTS clauses are estimated far above what they take: the board and the metrics then spent
    200-480 ms compiling queries that run in tens. Hindsight's queries are short, so JIT is off.
    PostgreSQL sessions also run in UTC, so timestamps come back in UTC with nothing to convert.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    engine = create_engine(url, connect_args={"options": "-c jit=off -c timezone=UTC"}, **kwargs)
    event.listen(engine, "checkout", _refuse_ended_connection)
    return engine


def _refuse_ended_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled PostgreSQL connection the server has ended, before a request uses it.

    A server that restarts, or ends a backend (pg_terminate_backend, idle timeouts), sends the
    idle connection a FATAL message and closes it, so its socket turns readable; a healthy idle
    connection has nothing to read (Hindsight never LISTENs). Looking costs no round trip, where
    `pool_pre_ping` sent a query before every request. The pool replaces a refused connection with a
    new one. A connection lost without a word (a network that drops) still fails its statement, and
    SQLAlchemy then invalidates the whole pool, so only that request fails (webhook senders retry).
    """
    if dbapi_connection.closed:  # the driver saw it end already
        raise exc.DisconnectionError("the server ended this connection")
    poller = select.poll()  # not select.select, which refuses descriptors above 1023
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise exc.DisconnectionError("the server ended this connection")


class Database:
    """Binds an engine and a session factory to a Flask app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None

    def init_app(self, app: Flask, url: str) -> None:
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.session_factory, "after_soft_rollback", _forget_callbacks)
        app.extensions[EXTENSION_KEY] = self
        app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    """The Database bound to `app` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def get_session() -> Session:
    """The session of the current request or job, opened on first use."""
    if "db_session" not in g:
        factory = database().session_factory
        assert factory is not None
        g.db_session = factory()
    return g.db_session


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT with ON CONFLICT support for the session's database (PostgreSQL or SQLite)."""
    return insert_for(session.get_bind().dialect.name, model)


def insert_for(dialect: str, model: Any) -> Any:
    """`dialect_insert` for a database named by its dialect ("postgresql" or "sqlite"), e.g. to build a
    statement once per database and reuse it."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the edge has committed this session's transaction."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def commit(session: Session) -> None:
    """Commit at the edge, then run the after-commit callbacks registered by services."""
    session.commit()
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        callback()


def call_outside(session: Session, call: Callable[[], T]) -> T:
    """Commit what `session` recorded (step 2 above), then make the outside `call` with no transaction open."""
    commit(session)
    return call()


@contextmanager
def outcome_session(app: Flask) -> Iterator[Session]:
    """A session of its own for work that runs once the edge has committed (an after-commit callback).

    Step 4 above when the request's or job's session is done with: a new short transaction,
    committed once at its end (with its own after-commit callbacks), rolled back on error.
    """
    factory = database(app).session_factory
    assert factory is not None
    with factory() as session:
        try:
            yield session
            commit(session)
        except BaseException:
            session.rollback()
            raise


def then_in_own_session(session: Session, work: Callable[[Session], None], *, what: str) -> None:
    """After the edge commits `session`, run `work` in an `outcome_session` of its own (an outbox's
    "send at once"). A failure there is logged, never raised: the request is done, and the rows it
    left pending are the scheduler's to send."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        try:
            with outcome_session(app) as own:
                work(own)
        except Exception:  # noqa: BLE001 - after the commit nothing may fail the request
            log.exception("could not send %s after commit; the scheduler will retry", what)

    after_commit(session, run)


def _forget_callbacks(session: Session, transaction: SessionTransaction) -> None:
    # What a rolled-back transaction asked to do after its commit must not run after a later one
    # (a savepoint rolled back leaves its transaction's callbacks alone).
    if transaction.parent is None:
        session.info.pop(AFTER_COMMIT_KEY, None)


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.info.pop(AFTER_COMMIT_KEY, None)
        session.rollback()
        session.close()


@contextmanager
def job_session(app: Flask) -> Iterator[Session]:
    """An app context and a session for a job or CLI command, committed once at its end."""
    with app.app_context():
        session = get_session()
        try:
            yield session
            commit(session)
        except OutsideFailure:
            commit(session)  # the failure recorded on its row is kept
            raise
        except BaseException:
            session.rollback()
            raise

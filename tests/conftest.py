"""Fixtures shared by every test: an app on SQLite and on PostgreSQL, clients, factories.

Every test that uses `app` runs twice, once per database, in a transaction rolled back at its end
(see "How a test's rows are kept apart" below; `@pytest.mark.committing` for real commits). PostgreSQL is used when
HINDSIGHT_TEST_POSTGRES_URL is set or 127.0.0.1:5432 answers; otherwise those runs
are skipped with the reason. Each test session gets its own PostgreSQL database,
so parallel runs never share rows.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.db import Base, get_session
from config import load_settings, sqlalchemy_url
from tests.databases import throwaway_database

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_admin_url() -> str:
    return sqlalchemy_url(os.environ.get("HINDSIGHT_TEST_POSTGRES_URL", DEFAULT_PG_URL))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at its end."""
    admin_url = _postgres_admin_url()
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no PostgreSQL here"
        reason = (f"PostgreSQL not reachable at {make_url(admin_url).render_as_string()} ({type(exc).__name__}); "
                  "set HINDSIGHT_TEST_POSTGRES_URL to run these")
        if os.environ.get("HINDSIGHT_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)  # CI must not pass on SQLite alone
        pytest.skip(reason)
    try:
        with throwaway_database(admin, prefix="hindsight_test_") as url:
            yield url
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'hindsight.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database, migrated once per session with the real Alembic migrations."""
    from app.migrations import upgrade

    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade(url)
    return url


def _empty_all_tables(app: Flask) -> None:
    from app.db import database

    engine = database(app).engine
    assert engine is not None
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


# How a test's rows are kept apart from the next test's:
# - the fast path (the default): the test runs in one transaction on one connection, rolled back at
#   its end. Every app the test uses (`app`, `make_app(...)`) is built once per database and settings
#   for the whole session, and its session factory is bound to that connection for the test, with
#   `join_transaction_mode="create_savepoint"`: the app's own commits release SAVEPOINTs, its
#   rollbacks go back to them, so commit-or-rollback stays observable; only other connections see nothing.
#   Sessions the app opens itself (sync runs, mail after a commit) join it too, with SAVEPOINTs of
#   their own: one SAVEPOINT is open from the start, so even `sessionmaker(bind=session.get_bind())`
#   makes SAVEPOINTs rather than ending the test's transaction.
# - the committing path (`@pytest.mark.committing`): for tests whose rows must be really committed
#   (other processes, other threads and connections, the CLI's own app) or that change the app
#   itself: fresh apps on their own engines, as production runs, and every table emptied before and after.
COMMITTING = "committing"
CACHED_APPS = 32  # fast-path apps kept for the session (most tests use a handful of settings)


def _settings_key(overrides: dict[str, Any]) -> str:
    return json.dumps(overrides, sort_keys=True, default=repr)


def _fast_engine(url: str) -> Engine:
    """The engine of the fast path's per-test connections.

    pysqlite starts transactions itself, and not before a SAVEPOINT, so a released SAVEPOINT would
    commit: the driver is told to leave transactions alone and SQLAlchemy emits BEGIN (the SQLAlchemy
    documentation's recipe for SAVEPOINTs on pysqlite).
    """
    from app.db import make_engine

    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine


class _Apps:
    """The session's fast-path apps per (database, settings) and one engine per database for their tests."""

    def __init__(self, instances: pytest.TempPathFactory) -> None:
        self.instances = instances
        self.apps: OrderedDict[tuple[str, str], Flask] = OrderedDict()
        self.engines: dict[str, Engine] = {}

    def get(self, database_url: str, overrides: dict[str, Any]) -> Flask:
        key = (database_url, _settings_key(overrides))
        if key in self.apps:
            self.apps.move_to_end(key)
            return self.apps[key]
        application = _build_app(database_url, self.instances.mktemp("instance"), overrides)
        self.apps[key] = application
        if len(self.apps) > CACHED_APPS:
            _, oldest = self.apps.popitem(last=False)
            _dispose(oldest)
        return application

    def engine(self, database_url: str) -> Engine:
        if database_url not in self.engines:
            self.engines[database_url] = _fast_engine(database_url)
        return self.engines[database_url]

    def close(self) -> None:
        for application in self.apps.values():
            _dispose(application)
        for engine in self.engines.values():
            engine.dispose()


def _build_app(database_url: str, instance: Path, overrides: dict[str, Any]) -> Flask:
    base = {
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "instance_path": str(instance),
        "base_url": "http://hindsight.test",
        "auth": {"password_hash_method": TEST_PASSWORD_HASH},
    }
    for key, value in overrides.items():
        base[key] = base[key] | value if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    application = create_app(load_settings(overrides=base, environ={}))
    application.config["TESTING"] = True
    return application


def _dispose(application: Flask) -> None:
    from app.db import database

    database(application).engine.dispose()  # type: ignore[union-attr]


# Users' passwords are hashed with one cheap round under test (scrypt takes 0.1-0.5 s per hash).
TEST_PASSWORD_HASH = "pbkdf2:sha256:1"


@pytest.fixture(scope="session")
def _apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Apps]:
    apps = _Apps(tmp_path_factory)
    yield apps
    apps.close()


class _TestTransaction:
    """One connection and transaction for a fast-path test; every app of the test makes its sessions on it."""

    def __init__(self, engine: Engine) -> None:
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        # A SAVEPOINT is open from the start, so sessions made on this connection by the app itself
        # (`sessionmaker(bind=session.get_bind())`) make SAVEPOINTs too, never ending the test's transaction.
        self.connection.begin_nested()
        self.bound: list[tuple[sessionmaker[Session], dict[str, Any]]] = []

    def bind(self, application: Flask) -> None:
        from app.db import database

        factory = database(application).session_factory
        assert factory is not None
        if any(known is factory for known, _kw in self.bound):
            return
        self.bound.append((factory, dict(factory.kw)))
        factory.configure(bind=self.connection, join_transaction_mode="create_savepoint")

    def close(self) -> None:
        for factory, kw in self.bound:
            factory.kw.clear()
            factory.kw.update(kw)
        try:
            self.transaction.rollback()
        finally:
            self.connection.close()


def is_committing(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker(COMMITTING) is not None


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a module or conftest to give the app other settings."""
    return {}


@pytest.fixture
def make_app(request: pytest.FixtureRequest, database_url: str, tmp_path: Any, _apps: _Apps) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database with extra settings; the environment is not read.

    Fast path: the session's app for these settings, bound to the test's transaction.
    Committing path: a new app on its own engine, as before; the tables are emptied after the test.
    """
    committing = is_committing(request)
    used: dict[int, tuple[Flask, dict[str, Any], dict[str, Any]]] = {}
    transaction: _TestTransaction | None = None

    def build(**overrides: Any) -> Flask:
        nonlocal transaction
        if committing:
            application = _build_app(database_url, tmp_path / "instance", overrides)
        else:
            application = _apps.get(database_url, overrides)
            if transaction is None:
                transaction = _TestTransaction(_apps.engine(database_url))
            transaction.bind(application)
        if id(application) not in used:
            # What a test changes on an app (its clock, its config) ends with the test.
            used[id(application)] = (application, dict(application.extensions), dict(application.config))
        return application

    yield build
    for application, extensions, config in used.values():
        application.extensions.clear()
        application.extensions.update(extensions)
        application.config.clear()
        application.config.update(config)
    if transaction is not None:
        transaction.close()
    if committing:
        if used:
            _empty_all_tables(next(iter(used.values()))[0])
        for application, _extensions, _config in used.values():
            _dispose(application)


@pytest.fixture
def app(request: pytest.FixtureRequest, make_app: Callable[..., Flask], settings_overrides: dict[str, Any]) -> Flask:
    application = make_app(**settings_overrides)
    if is_committing(request):
        _empty_all_tables(application)
    return application


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session inside an app context; tests commit it themselves when they need to."""
    with app.app_context():
        yield get_session()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Factory:
    """Makes rows through the real services (not HTTP), with defaults and **overrides."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def person(self, **overrides: Any):  # type: ignore[no-untyped-def]
        from app.people.service import create_person

        n = self._next()
        data = {"name": f"Person {n}", "email": f"person{n}@example.com"} | overrides
        with self.app.app_context():
            session = get_session()
            person = create_person(session, **data)
            session.commit()
            return person

    def user(self, *, admin: bool = False, password: str | None = "correct horse battery", **overrides: Any):  # type: ignore[no-untyped-def]
        """A user with an API token; returns (user, headers)."""
        from app.auth.service import create_token, create_user

        n = self._next()
        email = overrides.pop("email", f"user{n}@example.com")
        with self.app.app_context():
            session = get_session()
            user = create_user(session, email=email, name=overrides.pop("name", f"User {n}"), password=password,
                               is_admin=admin, hash_method=TEST_PASSWORD_HASH)
            token = create_token(session, user=user)
            session.commit()
            return user, {"Authorization": f"Bearer {token}"}

    def _caller(self, session: Session, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        """The user whose Bearer token is in `headers`, as the API would find them."""
        from app.auth.models import ApiToken
        from app.auth.service import hash_token

        token = headers["Authorization"].split()[1]
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        assert row is not None and row.revoked_at is None and not row.user.is_disabled, "not a usable token"
        return row.user

    def incident(self, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
        """An incident made by the incidents service, as `POST /api/v1/incidents` makes it (its JSON);
        the commander is created if missing. Tests about that endpoint call it themselves."""
        from app.db import commit
        from app.incidents import service
        from app.incidents.schemas import IncidentCreate, IncidentRead

        commander = overrides.pop("commander", None)
        if commander is None:
            commander = self.person().email
        body = {"title": "Checkout errors", "severity": "SEV1", "commander": commander} | overrides
        with self.app.app_context():
            session = get_session()
            self._caller(session, headers)
            incident = service.create_incident(session, data=IncidentCreate.model_validate_json(json.dumps(body)))
            created = IncidentRead.model_validate(incident).model_dump(mode="json")
            commit(session)
            return created

    def resolved_incident(
        self, headers: dict[str, str], *, resolved_at: datetime | None = None, **overrides: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An incident resolved by the incidents service (which books its retrospective), as
        `PATCH /api/v1/incidents/<id>` resolves it; (the incident's JSON, the retrospective's JSON)."""
        from app.db import commit
        from app.extensions import settings
        from app.incidents import flows
        from app.incidents.models import Incident
        from app.incidents.schemas import IncidentRead, IncidentUpdate
        from app.retros.schemas import RetroRead
        from app.retros.service import retro_for_incident

        resolved_at = resolved_at or datetime.now(timezone.utc) - timedelta(minutes=5)
        overrides.setdefault("started_at", (resolved_at - timedelta(hours=2)).isoformat())
        created = self.incident(headers, **overrides)
        change = IncidentUpdate.model_validate_json(json.dumps({"status": "resolved", "resolved_at": resolved_at.isoformat()}))
        with self.app.app_context():
            session = get_session()
            incident = session.get(Incident, created["id"])
            assert incident is not None
            flows.update_incident(session, incident=incident, data=change, actor=self._caller(session, headers),
                                  settings=settings(self.app))
            retro = retro_for_incident(session, incident=incident)
            resolved = IncidentRead.model_validate(incident).model_dump(mode="json")
            commit(session)
        with self.app.app_context():  # read back afresh, as the next request would
            session = get_session()
            retro = retro_for_incident(session, incident=session.get(Incident, created["id"]))
            return resolved, RetroRead.model_validate(retro).model_dump(mode="json")


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)


@pytest.fixture
def admin(factory: Factory) -> tuple[Any, dict[str, str]]:
    """An admin user and its Bearer headers."""
    return factory.user(admin=True, email="admin@example.com", name="Ada Admin")


@pytest.fixture
def auth(admin: tuple[Any, dict[str, str]]) -> dict[str, str]:
    """Bearer headers of an admin: the usual caller in API tests."""
    return admin[1]

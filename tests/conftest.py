"""Fixtures shared by every test: an app on SQLite and on PostgreSQL, clients, factories.

Every test that uses `app` runs twice, once per database. PostgreSQL is used when
HINDSIGHT_TEST_POSTGRES_URL is set or 127.0.0.1:5432 answers; otherwise those runs
are skipped with the reason. Each test session gets its own PostgreSQL database,
so parallel runs never share rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

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


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a module or conftest to give the app other settings."""
    return {}


@pytest.fixture
def make_app(database_url: str, tmp_path: Any) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database with extra settings; the environment is not read."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        base = {
            "database_url": database_url,
            "secret_key": "test-secret-key",
            "instance_path": str(tmp_path / "instance"),
            "base_url": "http://hindsight.test",
        }
        base.update(overrides)
        application = create_app(load_settings(overrides=base, environ={}))
        application.config["TESTING"] = True
        apps.append(application)
        return application

    yield build
    from app.db import database

    for application in apps:
        database(application).engine.dispose()  # type: ignore[union-attr]


@pytest.fixture
def app(make_app: Callable[..., Flask], settings_overrides: dict[str, Any]) -> Flask:
    application = make_app(**settings_overrides)
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
    """Makes rows through the real services, with defaults and **overrides."""

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
            user = create_user(session, email=email, name=overrides.pop("name", f"User {n}"), password=password, is_admin=admin)
            token = create_token(session, user=user)
            session.commit()
            return user, {"Authorization": f"Bearer {token}"}

    def incident(self, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
        """An incident created through the API; the commander is created if missing."""
        client = self.app.test_client()
        commander = overrides.pop("commander", None)
        if commander is None:
            commander = self.person().email
        body = {"title": "Checkout errors", "severity": "SEV1", "commander": commander} | overrides
        response = client.post("/api/v1/incidents", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def resolved_incident(
        self, headers: dict[str, str], *, resolved_at: datetime | None = None, **overrides: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An incident resolved through the API, and its retrospective."""
        resolved_at = resolved_at or datetime.now(timezone.utc) - timedelta(minutes=5)
        overrides.setdefault("started_at", (resolved_at - timedelta(hours=2)).isoformat())
        incident = self.incident(headers, **overrides)
        client = self.app.test_client()
        response = client.patch(
            f"/api/v1/incidents/{incident['id']}",
            json={"status": "resolved", "resolved_at": resolved_at.isoformat()}, headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=headers)
        assert retro.status_code == 200, retro.get_json()
        return response.get_json(), retro.get_json()


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

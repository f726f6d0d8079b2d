"""The suite's own isolation: a test's commits stay in its transaction, unless it is marked `committing`."""

import pytest
from sqlalchemy import func, select

from app.db import get_session, make_engine
from app.people.models import Person


def _people_seen_by_another_connection(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Person))
    finally:
        engine.dispose()


def test_what_the_app_commits_is_seen_by_its_next_sessions_and_by_no_other_connection(app, factory, database_url):
    factory.person(email="kept@example.com")  # committed by the app's session: a SAVEPOINT released
    with app.app_context():
        session = get_session()
        session.add(Person(name="Gone", email="gone@example.com"))
        session.flush()
        session.rollback()  # back to its own SAVEPOINT: what was committed before stays
    with app.app_context():
        assert get_session().scalars(select(Person.email)).all() == ["kept@example.com"]
    assert _people_seen_by_another_connection(database_url) == 0


def test_another_app_of_the_same_test_shares_its_transaction(app, factory, make_app):
    factory.person(email="shared@example.com")
    other = make_app(timezone="Europe/Berlin")
    with other.app_context():
        assert get_session().scalars(select(Person.email)).all() == ["shared@example.com"]


@pytest.mark.committing
def test_a_committing_test_commits_for_real(app, factory, database_url):
    factory.person(email="committed@example.com")
    assert _people_seen_by_another_connection(database_url) == 1


def test_postgresql_runs_without_jit(make_app, database_url):
    """Hindsight's queries are short; PostgreSQL's JIT spent hundreds of milliseconds compiling them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW jit")).scalar() == "off"
    finally:
        engine.dispose()

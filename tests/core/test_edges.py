"""The transaction's edges: pages commit once when they answer, nothing of a failed request is kept,
and what a rolled-back transaction asked to do after its commit never runs."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select

from app.core.errors import NotFound
from app.core.pages import page
from app.db import after_commit, commit, get_session, outcome_session
from app.extensions import csrf
from app.people.models import Person


def _emails(app) -> set[str]:
    with outcome_session(app) as session:
        return set(session.scalars(select(Person.email)))


def test_callbacks_of_a_rolled_back_transaction_never_run(app):
    ran: list[str] = []
    with app.app_context():
        session = get_session()
        session.add(Person(name="Refused", email="refused@example.com"))
        after_commit(session, lambda: ran.append("refused"))
        session.rollback()
        session.add(Person(name="Kept", email="kept@example.com"))
        after_commit(session, lambda: ran.append("kept"))
        commit(session)
    assert ran == ["kept"]
    assert _emails(app) == {"kept@example.com"}


def test_a_savepoint_rolled_back_keeps_its_transactions_callbacks(app):
    ran: list[str] = []
    with app.app_context():
        session = get_session()
        after_commit(session, lambda: ran.append("outer"))
        with pytest.raises(RuntimeError):
            with session.begin_nested():
                session.add(Person(name="Inner", email="inner@example.com"))
                raise RuntimeError("the savepoint is rolled back")
        commit(session)
    assert ran == ["outer"]


def test_outcome_session_commits_at_its_end_and_keeps_nothing_of_an_error(app):
    with outcome_session(app) as session:
        session.add(Person(name="Sent", email="sent@example.com"))
    with pytest.raises(RuntimeError):
        with outcome_session(app) as session:
            session.add(Person(name="Lost", email="lost@example.com"))
            session.flush()
            raise RuntimeError("the outside call's outcome could not be recorded")
    assert _emails(app) == {"sent@example.com"}


@pytest.mark.committing  # adds routes: it needs an app of its own, never the session's shared one
def test_a_page_commits_when_it_answers_and_keeps_nothing_when_it_fails(app):
    ran: list[str] = []
    bp = Blueprint("edge_test_pages", __name__)

    @bp.post("/edge-test/<name>")
    @page
    def write(name: str):
        session = get_session()
        session.add(Person(name=name, email=f"{name}@example.com"))
        after_commit(session, lambda: ran.append(name))
        if name == "failing":
            session.flush()
            raise NotFound("The page failed after writing.")
        return "written"

    csrf.exempt(bp)  # the forms' CSRF check is not what this is about
    app.register_blueprint(bp)
    client = app.test_client()
    assert client.post("/edge-test/kept").status_code == 200
    assert client.post("/edge-test/failing").status_code == 404
    assert _emails(app) == {"kept@example.com"}
    assert ran == ["kept"]

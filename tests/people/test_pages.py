"""The People admin pages: the list, and the edit form with its checks said beside each field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import AuditKind
from app.db import get_session
from app.intake.models import Sender, SenderUser
from app.intake.service import remember_user
from app.people.models import Person
from tests.auth.test_admin_pages import ADDRESS, events, people, post  # noqa: F401  (fixture)
from tests.web import Page


def _person(app, person_id):
    with app.app_context():
        session = get_session()
        person = session.get(Person, person_id)
        session.expunge_all()
        return person


def _pagerduty(app):
    with app.app_context():
        return {row.user_id: row.email for row in get_session().scalars(
            select(SenderUser).where(SenderUser.source == Sender.PAGERDUTY))}


FORM = {"name": "Uma Ulrich", "email": "uma.u@example.com", "timezone": "Europe/Berlin",
        "jira_account_id": "5b10ac8d82e05b22cc7d4ef5", "pagerduty_user_id": "PXPGF42", "active": "yes"}


def test_the_list_shows_people_by_name_with_their_links_in_words(people):
    page = Page.of(people["ada"].get("/admin/people"))
    row = page.by_id(f"person-{people['ids']['person']}")
    assert "Uma User" in row.text and "Not linked" in row.text and "Active" in row.text
    assert "uma@example.com" not in page.text


def test_an_admin_edits_every_field_and_the_change_is_audited(app, people):
    path = f"/admin/people/{people['ids']['person']}"
    response = post(people["ada"], path, FORM)
    assert response.status_code == 302
    person = _person(app, people["ids"]["person"])
    assert (person.name, person.email, person.timezone, person.jira_account_id, person.active) == (
        "Uma Ulrich", "uma.u@example.com", "Europe/Berlin", "5b10ac8d82e05b22cc7d4ef5", True)
    assert _pagerduty(app) == {"PXPGF42": "uma.u@example.com"}
    form = Page.of(people["ada"].get(path))
    assert form.find("input", name="pagerduty_user_id").attrs["value"] == "PXPGF42"
    [changed] = events(app, AuditKind.PERSON_CHANGED)
    assert changed.subject == "Uma Ulrich" and changed.address == ADDRESS and changed.actor_name == "Ada Admin"
    assert changed.detail == "changed name, email, time zone, Jira account id, PagerDuty user id"
    # Someone who left: no longer offered as a commander.
    post(people["ada"], path, FORM | {"active": ""})
    assert not _person(app, people["ids"]["person"]).active
    declare = Page.of(people["ada"].get("/incidents/new"))
    assert not declare.find_all("option", value="uma.u@example.com")


def test_the_pagerduty_id_follows_an_email_change_and_clearing_it_forgets_it(app, people):
    path = f"/admin/people/{people['ids']['person']}"
    post(people["ada"], path, FORM)
    post(people["ada"], path, FORM | {"email": "uma.new@example.com"})
    assert _pagerduty(app) == {"PXPGF42": "uma.new@example.com"}
    post(people["ada"], path, FORM | {"email": "uma.new@example.com", "pagerduty_user_id": ""})
    assert _pagerduty(app) == {}


@pytest.mark.parametrize("field,value,words", [
    ("name", "", "Give a name"),
    ("email", "not an email", "Give an email address"),
    ("timezone", "Mars/Olympus", "Pick a time zone"),
    ("jira_account_id", "x" * 129, "at most 128 characters"),
    ("pagerduty_user_id", "P-1 2", "letters and digits only"),
])
def test_a_bad_field_is_said_beside_it_in_words_and_nothing_is_saved(app, people, field, value, words):
    path = f"/admin/people/{people['ids']['person']}"
    response = post(people["ada"], path, FORM | {field: value})
    assert response.status_code == 422
    page = Page.of(response)
    assert words in page.by_id(f"{field}-error").text
    assert "see the notes beside them" in page.by_id("refusal").text
    for raw in ("validation_error", "pagerduty_user_id", "String should", "Input should", "value is not"):
        assert raw not in page.text
    assert page.find("input", name="name").attrs["value"] == FORM["name"] if field != "name" else True
    assert _person(app, people["ids"]["person"]).name == "Uma User"
    assert events(app, AuditKind.PERSON_CHANGED) == []


def test_an_email_or_pagerduty_id_someone_else_has_is_refused_naming_them(app, people, factory):
    factory.person(name="Sam Smith", email="sam@example.com")
    with app.app_context():
        session = get_session()
        remember_user(session, source=Sender.PAGERDUTY, user_id="PSAM001", email="sam@example.com", looked_up=False)
        session.commit()
    path = f"/admin/people/{people['ids']['person']}"
    page = Page.of(post(people["ada"], path, FORM | {"email": "sam@example.com"}))
    assert page.by_id("email-error").text == "Sam Smith already has this email."
    page = Page.of(post(people["ada"], path, FORM | {"pagerduty_user_id": "PSAM001"}))
    assert page.by_id("pagerduty_user_id-error").text == "Already Sam Smith's PagerDuty user id."
    assert _pagerduty(app) == {"PSAM001": "sam@example.com"}


def test_an_unknown_person_is_not_found(people):
    assert people["ada"].get("/admin/people/999999").status_code == 404

"""The admin pages and the account's token page: who may open them, and what each does (audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import ApiToken, AuditEvent, AuditKind, User, UserSession
from app.db import get_session
from tests.web import Page, page_csrf_token, sign_in

ADDRESS = "203.0.113.7"
ADMIN_PAGES = ["/admin", "/admin/people", "/admin/people/{person}", "/admin/users", "/admin/tokens", "/admin/audit"]
ADMIN_POSTS = ["/admin/people/{person}", "/admin/users/{user}/admin", "/admin/users/{user}/disable",
               "/admin/users/{user}/enable", "/admin/tokens", "/admin/tokens/{token}/revoke"]


@pytest.fixture
def people(app, factory, admin):
    """Ada the admin signed in from ADDRESS, Uma a member signed in; ids to fill paths with."""
    uma, _headers = factory.user(email="uma@example.com", name="Uma User")
    ada = sign_in(app, "admin@example.com")
    ada.environ_base["REMOTE_ADDR"] = ADDRESS
    with app.app_context():
        token = get_session().scalar(select(ApiToken.id).where(ApiToken.user_id == uma.id))
    return {"ada": ada, "uma": sign_in(app, "uma@example.com"),
            "ids": {"person": uma.person_id, "user": uma.id, "token": token}}


def events(app, kind=None):
    with app.app_context():
        session = get_session()
        query = select(AuditEvent).order_by(AuditEvent.id)
        if kind:
            query = query.where(AuditEvent.kind == kind)
        rows = session.scalars(query).all()
        session.expunge_all()
        return list(rows)


def post(web, path, data=None):
    return web.post(path, data={"csrf_token": page_csrf_token(web)} | (data or {}))


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_are_for_admins(app, people, path):
    path = path.format(**people["ids"])
    assert app.test_client().get(path).status_code == 302  # signed out: to the sign-in page
    refused = people["uma"].get(path)
    assert refused.status_code == 403 and "Only admins" in Page.of(refused).text
    assert people["ada"].get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_members_cannot_post_to_admin_pages(app, people, path):
    path = path.format(**people["ids"])
    assert post(people["uma"], path, {"name": "x", "admin": "yes", "user": str(people["ids"]["user"])}).status_code == 403
    with app.app_context():
        uma = get_session().get(User, people["ids"]["user"])
        assert not uma.is_admin and not uma.is_disabled
    assert events(app, AuditKind.ADMIN_GRANTED) == []


def test_admin_pages_are_one_link_in_the_navigation_for_admins_only(people):
    home = Page.of(people["ada"].get("/"))
    assert home.find("a", href="/admin").text == "Admin"
    assert not home.find_all("a", href="/admin/users")  # one link, not five, in the navigation
    assert not Page.of(people["uma"].get("/")).find_all("a", href="/admin")
    index = Page.of(people["ada"].get("/admin"))
    for path, words in [("/admin/people", "People"), ("/admin/users", "Users"), ("/admin/tokens", "API tokens"),
                        ("/admin/audit", "Audit log"), ("/admin/integrations", "Integrations")]:
        assert index.find("a", href=path).text == words
    assert Page.of(people["uma"].get("/")).find("a", href="/account/tokens").text == "Your API tokens"


# -- users ------------------------------------------------------------------------------------

def test_the_users_page_names_people_and_says_last_sign_in_in_words(people):
    page = Page.of(people["ada"].get("/admin/users"))
    row = page.by_id(f"user-{people['ids']['user']}")
    assert "Uma User" in row.text and "Member" in row.text and "Enabled" in row.text
    assert "uma@example.com" not in row.text and "Never" not in row.text  # she signed in: a day and a time
    assert "Last sign-in" in page.text


def test_an_admin_makes_and_unmakes_an_admin_audited_with_the_address(app, people):
    user = people["ids"]["user"]
    assert post(people["ada"], f"/admin/users/{user}/admin", {"admin": "yes"}).status_code == 302
    with app.app_context():
        assert get_session().get(User, user).is_admin
    assert post(people["ada"], f"/admin/users/{user}/admin", {"admin": "no"}).status_code == 302
    with app.app_context():
        assert not get_session().get(User, user).is_admin
    granted, removed = events(app, AuditKind.ADMIN_GRANTED), events(app, AuditKind.ADMIN_REMOVED)
    assert [(e.actor_name, e.subject, e.address) for e in granted + removed] == [
        ("Ada Admin", "Uma User", ADDRESS), ("Ada Admin", "Uma User", ADDRESS)]


def test_the_last_admin_can_neither_demote_nor_disable_themself(app, people, admin):
    ada_id = admin[0].id
    for path, data in [(f"/admin/users/{ada_id}/admin", {"admin": "no"}), (f"/admin/users/{ada_id}/disable", {})]:
        response = post(people["ada"], path, data)
        assert response.status_code == 302
        page = Page.of(people["ada"].get("/admin/users"))
        assert "would leave no enabled admin" in page.text
    with app.app_context():
        ada = get_session().get(User, ada_id)
        assert ada.is_admin and not ada.is_disabled
    assert events(app, AuditKind.ADMIN_REMOVED) == [] and events(app, AuditKind.USER_DISABLED) == []


def test_with_another_admin_an_admin_may_step_down(app, people, admin):
    post(people["ada"], f"/admin/users/{people['ids']['user']}/admin", {"admin": "yes"})
    assert post(people["ada"], f"/admin/users/{admin[0].id}/admin", {"admin": "no"}).status_code == 302
    with app.app_context():
        assert not get_session().get(User, admin[0].id).is_admin


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(app, client, people, factory):
    _user, headers = factory.user(email="dan@example.com", name="Dan Dev")
    dan_web = sign_in(app, "dan@example.com")
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    with app.app_context():
        dan = get_session().scalar(select(User).join(User.person).where(User.person.has(email="dan@example.com")))
        dan_id = dan.id
    assert post(people["ada"], f"/admin/users/{dan_id}/disable").status_code == 302
    assert dan_web.get("/").status_code == 302
    assert client.get("/api/v1/people", headers=headers).status_code == 401
    with app.app_context():
        rows = get_session().scalars(select(UserSession).where(UserSession.user_id == dan_id)).all()
        assert rows and all(row.revoked_at is not None for row in rows)
    [disabled] = events(app, AuditKind.USER_DISABLED)
    assert disabled.subject == "Dan Dev" and disabled.address == ADDRESS and "1 session ended" in disabled.detail
    assert post(people["ada"], f"/admin/users/{dan_id}/enable").status_code == 302
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    assert [e.subject for e in events(app, AuditKind.USER_ENABLED)] == ["Dan Dev"]

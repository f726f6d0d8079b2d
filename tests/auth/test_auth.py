"""Tokens, passwords, sign-in and CSRF."""

import pytest
from sqlalchemy import select

from app.auth.models import ApiToken, User
from tests.web import Page
from tests.web import csrf_token as _csrf


def test_the_api_needs_a_valid_token(client, auth):
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/api/v1/incidents").get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/incidents", headers={"Authorization": "Bearer hs_wrong"}).status_code == 401
    assert client.get("/api/v1/incidents", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/incidents", headers=auth).status_code == 200


def test_tokens_and_passwords_are_stored_hashed(app, admin, db_session):
    user, headers = admin
    token = headers["Authorization"].split()[1]
    stored = db_session.scalars(select(ApiToken)).all()
    assert len(stored) == 1
    assert token not in stored[0].token_hash and len(stored[0].token_hash) == 64
    password_hash = db_session.scalar(select(User.password_hash))
    assert "correct horse" not in password_hash and password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_sign_in_with_csrf_then_see_the_incident_list(app, admin, factory):
    factory.resolved_incident(admin[1], title="Payment gateway timeouts")
    web = app.test_client()
    assert web.get("/").status_code == 302
    form = web.get("/login").get_data(as_text=True)
    no_token = web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    assert no_token.status_code == 400
    wrong = web.post("/login", data={"email": "admin@example.com", "password": "nope", "csrf_token": _csrf(form)})
    assert wrong.status_code == 401 and "wrong password" in Page.of(wrong).text
    ok = web.post("/login?next=/", data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": _csrf(form)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert "Payment gateway timeouts" in Page.of(web.get("/")).texts("a")


def test_sign_in_never_redirects_off_site(app, admin):
    web = app.test_client()
    token = _csrf(web.get("/login").get_data(as_text=True))
    response = web.post("/login?next=//evil.example.com/x", data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_cookie_api_calls_need_the_csrf_header(app, admin):
    web = app.test_client()
    token = _csrf(web.get("/login").get_data(as_text=True))
    web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": token})
    assert web.get("/api/v1/incidents").status_code == 200
    body = {"name": "Zed", "email": "zed@example.com"}
    refused = web.post("/api/v1/people", json=body)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    page_token = Page.of(web.get("/")).find("meta", name="csrf-token").attrs["content"]
    assert web.post("/api/v1/people", json=body, headers={"X-CSRFToken": page_token}).status_code == 201


def test_incident_page_escapes_what_people_typed(app, admin, factory, client):
    incident, _ = factory.resolved_incident(admin[1], title="<script>alert('t')</script>")
    client.post(f"/api/v1/incidents/{incident['id']}/timeline", json={"occurred_at": incident["started_at"], "text": "<img src=x onerror=alert(1)>"}, headers=admin[1])
    web = app.test_client()
    token = _csrf(web.get("/login").get_data(as_text=True))
    web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": token})
    page = Page.of(web.get(f"/incidents/{incident['id']}"))
    # What people typed is text on the page, never markup.
    assert not any("alert" in script.text for script in page.find_all("script")) and page.find_all("img", src="x") == []
    assert "<script>alert('t')</script>" in page.text and "<img src=x onerror=alert(1)>" in page.text


@pytest.mark.parametrize("method, prefix", [("scrypt", "scrypt:"), ("pbkdf2:sha256:1", "pbkdf2:sha256:1$")])
def test_new_passwords_use_the_configured_hash_method_and_every_stored_one_still_signs_in(make_app, method, prefix):
    """The suite hashes with one cheap round; production keeps scrypt. A hash names its own method."""
    from app.auth.service import authenticate, create_user, set_password
    from app.db import get_session

    hashing = make_app(auth={"password_hash_method": method})
    with hashing.app_context():
        session = get_session()
        configured = hashing.extensions["hindsight.settings"].auth.password_hash_method
        user = create_user(session, email="hash@example.com", password="correct horse battery", hash_method=configured)
        assert user.password_hash.startswith(prefix)
        assert authenticate(session, email="hash@example.com", password="correct horse battery") is user
        assert authenticate(session, email="hash@example.com", password="wrong horse battery") is None
        assert authenticate(session, email="nobody@example.com", password="correct horse battery",
                            hash_method=configured) is None
        set_password(user, "another long password", hash_method=configured)
        assert user.password_hash.startswith(prefix)

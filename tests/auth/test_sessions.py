"""Server-side sessions: sign-out ends them for every copy of the cookie; they rotate and time out."""

from sqlalchemy import select

from app.auth.models import ApiToken, UserSession
from app.db import get_session
from tests.web import Page, page_csrf_token, sign_in, sign_in_form


def _cookie(web):
    return web.get_cookie("session").value


def _client_with(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def _sessions(app):
    with app.app_context():
        session = get_session()
        rows = session.scalars(select(UserSession).order_by(UserSession.id)).all()
        session.expunge_all()  # read, then detached: the app context's end rolls back
        return rows


def test_a_cookie_copied_before_sign_out_stops_working(app, admin):
    web = sign_in(app, "admin@example.com")
    copied = _cookie(web)
    assert _client_with(app, copied).get("/").status_code == 200
    response = web.post("/logout", data={"csrf_token": page_csrf_token(web)})
    assert response.status_code == 302
    replay = _client_with(app, copied)
    assert replay.get("/").status_code == 302
    assert replay.get("/api/v1/incidents").status_code == 401
    [row] = _sessions(app)
    assert row.revoked_at is not None


def test_the_session_rotates_at_every_sign_in(app, admin):
    web = app.test_client()
    web.get("/login")
    before = _cookie(web)  # the signed-out cookie (it holds the form's CSRF token)
    assert sign_in_form(web, "admin@example.com").status_code == 302
    first = _cookie(web)
    assert first != before
    assert _client_with(app, before).get("/").status_code == 302
    assert sign_in_form(web, "admin@example.com").status_code == 302
    second = _cookie(web)
    assert second != first
    # The session the browser had before signing in again has ended; the new one works.
    assert _client_with(app, first).get("/").status_code == 302
    assert _client_with(app, second).get("/").status_code == 200
    rows = _sessions(app)
    assert len(rows) == 2 and rows[0].revoked_at is not None and rows[1].revoked_at is None
    assert rows[0].token_hash != rows[1].token_hash and len(rows[1].token_hash) == 64
    assert rows[1].ip == "127.0.0.1"


def test_sign_out_everywhere_ends_every_session_of_that_user_only(app, admin, factory):
    laptop = sign_in(app, "admin@example.com")
    phone = sign_in(app, "admin@example.com")
    factory.user(email="dev@example.com")
    colleague = sign_in(app, "dev@example.com")
    response = laptop.post("/logout/everywhere", data={"csrf_token": page_csrf_token(laptop)}, follow_redirects=True)
    assert "Signed out everywhere (2 sessions ended)." in Page.of(response).text
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert colleague.get("/").status_code == 200


def test_a_session_ends_after_the_idle_timeout(app, admin, clock):
    web = sign_in(app, "admin@example.com")
    clock.advance(hours=11, minutes=59)
    assert web.get("/").status_code == 200  # activity: the idle timer starts again
    clock.advance(hours=11, minutes=59)
    assert web.get("/").status_code == 200
    clock.advance(hours=12)
    response = web.get("/", follow_redirects=True)
    assert "/login" in response.request.path
    assert "without activity" in Page.of(response).text


def test_a_session_ends_after_the_absolute_timeout_however_active(app, admin, clock):
    web = sign_in(app, "admin@example.com")
    for _ in range(30):  # 330 hours, never idle for long
        clock.advance(hours=11)
        assert web.get("/").status_code == 200
    clock.advance(hours=6)  # 336 hours = 14 days after sign-in
    response = web.get("/", follow_redirects=True)
    assert "Your session has expired" in Page.of(response).text
    assert web.get("/api/v1/incidents").status_code == 401


def test_activity_is_written_at_most_once_a_minute(app, admin, clock, auth):
    web = sign_in(app, "admin@example.com")
    signed_in_at = clock.now
    clock.advance(seconds=30)
    web.get("/")
    assert _sessions(app)[0].last_seen_at == signed_in_at
    clock.advance(seconds=30)
    web.get("/")
    assert _sessions(app)[0].last_seen_at == clock.now

    def last_used():
        with app.app_context():
            return get_session().scalar(select(ApiToken.last_used_at))

    client = app.test_client()
    client.get("/api/v1/incidents", headers=auth)
    first_use = clock.now
    assert last_used() == first_use
    clock.advance(seconds=59)
    client.get("/api/v1/incidents", headers=auth)
    assert last_used() == first_use
    clock.advance(seconds=1)
    client.get("/api/v1/incidents", headers=auth)
    assert last_used() == clock.now


def test_session_timeouts_are_settings(make_app, admin, clock):
    from app.auth.context import set_clock

    short = make_app(auth={"session_idle_hours": 1, "session_max_hours": 2})
    set_clock(short, clock)
    web = sign_in(short, "admin@example.com")
    clock.advance(minutes=61)
    assert web.get("/").status_code == 302


def test_a_cookie_that_only_names_a_user_signs_no_one_in(app, admin):
    """Cookies from before server-side sessions held the user's id: without a session they are refused."""
    web = app.test_client()
    with web.session_transaction() as cookie:
        cookie["user_id"] = admin[0].id
    assert web.get("/").status_code == 302
    assert web.get("/api/v1/incidents").status_code == 401

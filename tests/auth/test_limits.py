"""Failed sign-ins and unknown tokens are rate-limited per account and per address, in the database."""

import logging

from sqlalchemy import func, select

from app.auth.models import AuthFailure
from tests.web import PASSWORD, Page, csrf_token, sign_in_form


def _post(web, token, email, password, **kwargs):
    return web.post("/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs)


def test_forty_wrong_passwords_lock_the_account_until_the_wait_ends(app, admin, clock, caplog):
    caplog.set_level(logging.WARNING, logger="app.auth")
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    statuses = [_post(web, token, "admin@example.com", f"guess number {n}").status_code for n in range(40)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}

    right = _post(web, token, "admin@example.com", PASSWORD)
    assert right.status_code == 429
    wait = int(right.headers["Retry-After"])
    assert 0 < wait <= 60
    assert f"Too many failed sign-ins. Try again in {wait} seconds." in Page.of(right).text

    clock.advance(seconds=wait - 1)
    assert _post(web, token, "admin@example.com", PASSWORD).status_code == 429
    clock.advance(seconds=1)
    signed_in = _post(web, token, "admin@example.com", PASSWORD)
    assert signed_in.status_code == 302
    assert web.get("/").status_code == 200

    # Each failure was logged with the email and the address, never the password.
    failures = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(failures) == 5 and "'admin@example.com'" in failures[0] and "127.0.0.1" in failures[0]
    assert "guess number" not in caplog.text and PASSWORD not in caplog.text


def test_signing_in_clears_the_accounts_failures_and_the_wait_grows_with_each_failure(app, admin, clock):
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    for n in range(4):
        assert _post(web, token, "Admin@Example.com ", f"wrong {n}").status_code == 401
    assert _post(web, token, "admin@example.com", PASSWORD).status_code == 302
    # The four failures are forgotten: four more are allowed before the lock-out.
    other = app.test_client()
    token = csrf_token(other.get("/login").get_data(as_text=True))
    assert [_post(other, token, "admin@example.com", f"again {n}").status_code for n in range(5)] == [401] * 5
    first = _post(other, token, "admin@example.com", "x")
    assert first.status_code == 429 and int(first.headers["Retry-After"]) == 60
    clock.advance(seconds=60)
    assert _post(other, token, "admin@example.com", "still wrong").status_code == 401
    second = _post(other, token, "admin@example.com", PASSWORD)
    assert second.status_code == 429 and int(second.headers["Retry-After"]) == 120


def test_one_address_is_limited_across_different_emails(app, admin, clock):
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    statuses = [_post(web, token, f"someone{n}@example.com", "wrong password").status_code for n in range(20)]
    assert statuses == [401] * 20
    refused = _post(web, token, "admin@example.com", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # The admin account itself has no failures: from another address it signs in.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert sign_in_form(elsewhere, "admin@example.com").status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(make_app, app, admin):
    app = make_app(auth={"trusted_proxy_hops": 1, "max_failures_per_address": 3})
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    for n in range(3):
        headers = {"X-Forwarded-For": f"203.0.113.5, 198.51.100.{n}"}  # the proxy appended the client
        assert _post(web, token, f"x{n}@example.com", "wrong", headers=headers).status_code == 401
    assert _post(web, token, "admin@example.com", PASSWORD,
                 headers={"X-Forwarded-For": "198.51.100.0"}).status_code == 302
    with app.app_context():
        from app.db import get_session

        addresses = set(get_session().scalars(select(AuthFailure.address)))
    assert addresses == {"198.51.100.0", "198.51.100.1", "198.51.100.2"}


def test_unknown_tokens_are_limited_per_address_with_retry_after(app, client, auth, clock, caplog):
    caplog.set_level(logging.WARNING, logger="app.auth")
    bad = {"Authorization": "Bearer hs_not-a-real-token"}
    answers = [client.get("/api/v1/incidents", headers=bad) for _ in range(20)]
    assert {a.status_code for a in answers} == {401}
    assert answers[0].get_json()["error"]["code"] == "invalid_token"
    refused = client.get("/api/v1/incidents", headers=bad)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_attempts"
    assert "Try again in" in refused.get_json()["error"]["message"]
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 60
    # A valid token is never guessed: it keeps working while the address waits.
    assert client.get("/api/v1/incidents", headers=auth).status_code == 200
    clock.advance(seconds=wait)
    assert client.get("/api/v1/incidents", headers=bad).status_code == 401
    assert "hs_not-a-real-token" not in caplog.text
    assert "unknown API token from 127.0.0.1" in caplog.text


def test_failures_older_than_the_window_are_pruned(app, admin, clock, db_session):
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    for n in range(3):
        _post(web, token, f"p{n}@example.com", "wrong")
    clock.advance(minutes=16)
    _post(web, token, "late@example.com", "wrong")
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(AuthFailure)) == 1

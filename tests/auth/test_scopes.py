"""API token scopes and expiry, enforced at the API's edge: read = GET only; write = no admin-only
endpoint; admin = everything, only for an admin. Expired tokens are refused like revoked ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import ApiToken, TokenScope
from app.auth.service import create_token, find_user
from app.core.errors import Forbidden, ValidationFailed
from app.db import get_session

TEMPLATE = {"name": "scoped", "title": "Scoped", "description": "d",
            "sections": [{"key": "summary", "title": "Summary", "body": "Hello"}]}


def _token(app, email, **kwargs):
    with app.app_context():
        session = get_session()
        value = create_token(session, user=find_user(session, email=email), **kwargs)
        session.commit()
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def admin_tokens(app, admin):
    return {scope: _token(app, "admin@example.com", name=f"{scope} token", scope=scope) for scope in TokenScope}


def _insufficient(response, required):
    assert response.status_code == 403, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_scope" and error["required_scope"] == required
    assert f"needs a token with the {required} scope" in error["message"]
    return error


def test_a_read_token_reads_but_cannot_post(client, admin_tokens):
    read = admin_tokens[TokenScope.READ]
    assert client.get("/api/v1/people", headers=read).status_code == 200
    response = client.post("/api/v1/people", headers=read, json={"name": "Nora", "email": "nora@example.com"})
    error = _insufficient(response, "write")
    assert error["token_scope"] == "read" and "POST" in error["message"]
    # Nothing was made.
    names = [p["name"] for p in client.get("/api/v1/people", headers=read).get_json()["items"]]
    assert "Nora" not in names


def test_a_read_token_cannot_reach_an_admin_only_read_either(client, admin_tokens):
    _insufficient(client.get("/api/v1/reminders/failures", headers=admin_tokens[TokenScope.READ]), "admin")
    assert client.get("/api/v1/reminders/failures", headers=admin_tokens[TokenScope.ADMIN]).status_code == 200


def test_a_write_token_changes_but_not_admin_only_endpoints(client, admin_tokens):
    write = admin_tokens[TokenScope.WRITE]
    assert client.post("/api/v1/people", headers=write, json={"name": "Nora", "email": "nora@example.com"}).status_code == 201
    _insufficient(client.post("/api/v1/templates", headers=write, json=TEMPLATE), "admin")
    _insufficient(client.get("/api/v1/integrations/pagerduty/users", headers=write), "admin")
    assert client.get("/api/v1/templates/scoped", headers=write).status_code == 404  # not made
    assert client.post("/api/v1/templates", headers=admin_tokens[TokenScope.ADMIN], json=TEMPLATE).status_code == 201


def test_a_write_token_cannot_open_admin_pages(client, admin_tokens):
    assert client.get("/admin/users", headers=admin_tokens[TokenScope.WRITE]).status_code == 403
    assert client.get("/admin/users", headers=admin_tokens[TokenScope.ADMIN]).status_code == 200


def test_an_admin_token_of_a_member_is_refused_and_a_demoted_admins_does_no_admin_work(app, client, factory, admin):
    factory.user(email="uma@example.com", name="Uma User")
    with app.app_context():
        session = get_session()
        with pytest.raises(Forbidden) as refused:
            create_token(session, user=find_user(session, email="uma@example.com"), scope=TokenScope.ADMIN)
        assert refused.value.code == "admin_scope"
    token = _token(app, "admin@example.com", scope=TokenScope.ADMIN)
    with app.app_context():
        session = get_session()
        find_user(session, email="admin@example.com").is_admin = False
        session.commit()
    response = client.get("/api/v1/reminders/failures", headers=token)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "admin_only"


def test_an_expired_token_is_refused_like_a_revoked_one(app, client, admin, clock):
    token = _token(app, "admin@example.com", expires_at=clock.now + timedelta(days=1))
    assert client.get("/api/v1/people", headers=token).status_code == 200
    clock.advance(days=1)
    response = client.get("/api/v1/people", headers=token)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "invalid_token" and "expired" in error["message"]


def test_tokens_made_without_a_scope_keep_all_their_users_power(app, admin, factory):
    """What `hindsight token create` and tokens from before scopes get."""
    factory.user(email="uma@example.com")
    with app.app_context():
        session = get_session()
        rows = {row.user.email: row for row in session.scalars(select(ApiToken))}
        assert rows["admin@example.com"].scope == TokenScope.ADMIN
        assert rows["uma@example.com"].scope == TokenScope.WRITE


@pytest.mark.parametrize("kwargs,field", [
    ({"name": "  "}, "name"), ({"name": "x" * 101}, "name"), ({"scope": "root"}, "scope"),
])
def test_a_bad_token_is_refused_by_field(app, admin, kwargs, field):
    with app.app_context():
        session = get_session()
        with pytest.raises(ValidationFailed) as refused:
            create_token(session, user=find_user(session, email="admin@example.com"), **kwargs)
        assert field in refused.value.fields


def test_an_expiry_in_the_past_is_refused(app, admin, clock):
    with app.app_context():
        session = get_session()
        with pytest.raises(ValidationFailed) as refused:
            create_token(session, user=find_user(session, email="admin@example.com"),
                         expires_at=clock.now - timedelta(minutes=1), now=clock.now)
        assert "expires_at" in refused.value.fields

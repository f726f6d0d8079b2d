"""The API token pages: a token is shown once; a user sees and revokes only their own; admins all."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import ApiToken, AuditKind
from app.db import get_session
from tests.auth.test_admin_pages import ADDRESS, events, people, post  # noqa: F401  (fixture)
from tests.web import Page, sign_in


def _made(response) -> str:
    page = Page.of(response)
    return page.by_id("token-value").text


def test_a_token_is_shown_once_and_works_with_its_scope(app, client, people):
    uma = people["uma"]
    response = post(uma, "/account/tokens", {"name": "Deploy pipeline", "scope": "read", "expires": "30"})
    assert response.status_code == 200
    value = _made(response)
    assert value.startswith("hs_") and "shown only this once" in Page.of(response).text
    # Never again: not on the list, not in the cookie.
    listed = uma.get("/account/tokens")
    assert value not in listed.get_data(as_text=True)
    assert value not in (uma.get_cookie("session").value or "")
    with app.app_context():
        token_id = get_session().scalar(select(ApiToken.id).where(ApiToken.name == "Deploy pipeline"))
    row = Page.of(listed).by_id(f"token-{token_id}")
    assert "Read" in row.text and value[:10] in row.text and "Never" in row.text  # never used yet
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    assert client.post("/api/v1/people", headers=headers, json={"name": "N", "email": "n@example.com"}).status_code == 403
    [made] = events(app, AuditKind.TOKEN_CREATED)
    assert made.actor_name == "Uma User" and "Deploy pipeline" in made.subject and made.detail == "Read scope"


def test_a_member_is_not_offered_the_admin_scope_and_cannot_post_it(app, people):
    page = Page.of(people["uma"].get("/account/tokens"))
    assert [e.attrs["value"] for e in page.find_all("input", name="scope")] == ["read", "write"]
    refused = post(people["uma"], "/account/tokens", {"name": "Sneaky", "scope": "admin", "expires": ""})
    assert refused.status_code == 422
    said = Page.of(refused)
    assert "admin scope" in said.by_id("refusal").text and said.by_id("scope-error").text
    with app.app_context():
        assert get_session().scalar(select(ApiToken).where(ApiToken.name == "Sneaky")) is None


def test_bad_fields_are_said_beside_them_and_what_was_typed_stays(people):
    refused = post(people["uma"], "/account/tokens", {"name": "  ", "scope": "", "expires": "12"})
    assert refused.status_code == 422
    page = Page.of(refused)
    assert "Give the token a name" in page.by_id("name-error").text
    assert "Pick one of the expiries" in page.by_id("expires-error").text
    refused = post(people["uma"], "/account/tokens", {"name": "Ok", "scope": "", "expires": "30"})
    page = Page.of(refused)
    assert "Pick a scope" in page.by_id("scope-error").text and page.find("input", name="name").attrs["value"] == "Ok"
    assert "scope" not in page.by_id("refusal").text.split()  # no field names from the API, just words


def test_a_user_revokes_their_own_token_but_not_someone_elses(app, client, people, admin):
    value = _made(post(people["uma"], "/account/tokens", {"name": "Mine", "scope": "write", "expires": ""}))
    with app.app_context():
        session = get_session()
        mine = session.scalar(select(ApiToken.id).where(ApiToken.name == "Mine"))
        admins = session.scalar(select(ApiToken.id).where(ApiToken.user_id == admin[0].id))
    assert post(people["uma"], f"/account/tokens/{admins}/revoke").status_code == 404
    assert client.get("/api/v1/people", headers=admin[1]).status_code == 200
    assert post(people["uma"], f"/account/tokens/{mine}/revoke").status_code == 302
    assert client.get("/api/v1/people", headers={"Authorization": f"Bearer {value}"}).status_code == 401
    row = Page.of(people["uma"].get("/account/tokens")).by_id(f"token-{mine}")
    assert "Revoked" in row.text and not [e for e in Page.of(people["uma"].get("/account/tokens")).find_all("form")
                                           if e.attrs.get("action") == f"/account/tokens/{mine}/revoke"]
    [revoked] = events(app, AuditKind.TOKEN_REVOKED)
    assert "Mine" in revoked.subject and revoked.actor_name == "Uma User"


def test_admins_see_every_token_by_owner_name_make_them_for_others_and_revoke_any(app, client, people):
    ada = people["ada"]
    page = Page.of(ada.get("/admin/tokens"))
    uma_token = page.by_id(f"token-{people['ids']['token']}")
    assert "Uma User" in uma_token.text and "uma@example.com" not in uma_token.text
    made = post(ada, "/admin/tokens", {"user": str(people["ids"]["user"]), "name": "Uma's bot", "scope": "write",
                                       "expires": "7"})
    value = _made(made)
    assert "made for Uma User" in Page.of(made).by_id("new-token").text
    assert client.get("/api/v1/people", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    assert post(ada, f"/admin/tokens/{people['ids']['token']}/revoke").status_code == 302
    with app.app_context():
        assert get_session().get(ApiToken, people["ids"]["token"]).revoked_at is not None
    [revoked] = events(app, AuditKind.TOKEN_REVOKED)
    assert revoked.actor_name == "Ada Admin" and "of Uma User" in revoked.subject and revoked.address == ADDRESS
    assert post(ada, "/admin/tokens", {"user": "999999", "name": "x", "scope": "read", "expires": ""}).status_code == 422


def test_an_expired_token_is_listed_as_expired(app, clock, people):
    post(people["uma"], "/account/tokens", {"name": "Short", "scope": "read", "expires": "7"})
    clock.advance(days=8)
    with app.app_context():
        token = get_session().scalar(select(ApiToken.id).where(ApiToken.name == "Short"))
    row = Page.of(sign_in(app, "uma@example.com").get("/account/tokens")).by_id(f"token-{token}")
    assert "Expired" in row.text

"""OpenID Connect sign-in against a loopback provider built on Authlib's provider side (tests/fakes/oidc.py)."""

from __future__ import annotations

import socket
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.auth.models import AuditEvent, User, UserSession
from app.extensions import settings as app_settings
from app.auth.service import disable_user
from app.cli import main
from app.db import database, get_session, utcnow
from app.people.models import Person
from tests.conftest import Factory
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider, ProviderUser, callback_path
from tests.web import PASSWORD, Page, page_csrf_token, sign_in, sign_in_form

CALLBACK = "http://hindsight.test/login/oidc/callback"


@pytest.fixture(scope="session")
def _provider():
    provider = OidcProvider.start(redirect_uris=[CALLBACK])
    yield provider
    provider.close()


@pytest.fixture
def provider(_provider):
    _provider.reset()
    _provider.user = ProviderUser(sub="casey-1", email="casey@example.com", name="Casey Example")
    yield _provider
    _provider.reset()


def sso(provider, **oidc):
    """Settings with single sign-on through `provider`."""
    return {"oidc": {"issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "name": "Acme ID"} | oidc}


@pytest.fixture
def settings_overrides(provider):
    return sso(provider)


def start(web, query=""):
    """Ask Hindsight to start the sign-in; the provider's authorization URL it redirects to."""
    response = web.get("/login/oidc" + query)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sign_in_sso(web, provider, query=""):
    """The whole round trip: Hindsight -> provider (consents) -> Hindsight's callback; the callback's answer."""
    return web.get(callback_path(provider.consent(start(web, query))))


def signed_in(web):
    return web.get("/").status_code == 200


def users(app):
    with app.app_context():
        session = get_session()
        rows = session.scalars(select(User).order_by(User.id)).all()
        session.expunge_all()
        return rows


def refused(response, status, words):
    """The callback answered the sign-in page with `status` and an error saying `words`."""
    assert response.status_code == status, response.get_data(as_text=True)
    page = Page.of(response)
    [alert] = page.find_all("div", role="alert")
    assert words in alert.text, alert.text
    assert "Traceback" not in page.text and "Error" not in alert.text
    return alert.text


def test_first_sign_in_creates_the_user_and_their_person(app, client, provider):
    login = Page.of(client.get("/login"))
    [link] = login.find_all("a", href="/login/oidc")
    assert link.text == "Sign in with Acme ID"
    response = sign_in_sso(client, provider, "?next=/actions")
    assert response.status_code == 302 and response.headers["Location"] == "/actions"
    assert signed_in(client)
    [user] = users(app)
    assert (user.email, user.person.name, user.is_admin) == ("casey@example.com", "Casey Example", False)
    assert (user.oidc_issuer, user.oidc_subject) == (provider.issuer, "casey-1")
    assert user.password_hash is None and user.last_login_at is not None
    # The authorization code flow with PKCE (S256), a state and a nonce.
    [asked] = provider.authorize_params
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 43 and asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == CALLBACK and set(asked["scope"].split()) == {"openid", "email", "profile"}


def test_a_person_and_a_user_who_exist_are_linked_not_copied(app, client, provider, factory):
    factory.person(email="casey@example.com", name="Casey Curated")
    response = sign_in_sso(client, provider)
    assert response.status_code == 302 and signed_in(client)
    [user] = users(app)
    assert user.person.name == "Casey Curated"  # the name someone gave them stays
    # The first admin, made with `hindsight user create --admin`, signs in with the provider and stays admin.
    admin_user, _ = factory.user(admin=True, email="root@example.com")
    provider.user = ProviderUser(sub="root-7", email="ROOT@example.com")
    other = app.test_client()
    assert sign_in_sso(other, provider).status_code == 302
    [_, linked] = users(app)
    assert linked.id == admin_user.id and linked.is_admin and linked.oidc_subject == "root-7"
    assert linked.password_hash is not None  # the password still works too
    assert signed_in(sign_in(app, "root@example.com"))


def test_a_changed_email_at_the_provider_still_finds_the_user(app, client, provider):
    assert sign_in_sso(client, provider).status_code == 302
    provider.user = ProviderUser(sub="casey-1", email="casey.new@example.com")
    again = app.test_client()
    assert sign_in_sso(again, provider).status_code == 302
    [user] = users(app)
    assert user.email == "casey@example.com" and signed_in(again)


def test_an_email_taken_by_another_account_of_the_provider_is_refused(app, client, provider):
    assert sign_in_sso(client, provider).status_code == 302
    # The provider gave the address to someone new: they must not get the old owner's user.
    provider.user = ProviderUser(sub="newcomer-2", email="casey@example.com")
    newcomer = app.test_client()
    refused(sign_in_sso(newcomer, provider), 403, "signs in with another Acme ID account")
    assert not signed_in(newcomer) and len(users(app)) == 1


@pytest.mark.parametrize(
    ("switch", "value"),
    [("audience", "another-app"), ("expires_in", -600), ("rogue_key", True), ("nonce", "not-the-nonce-sent")],
    ids=["wrong audience", "expired token", "bad signature", "wrong nonce"],
)
def test_an_id_token_that_fails_verification_signs_no_one_in(app, client, provider, switch, value):
    setattr(provider, switch, value)
    response = sign_in_sso(client, provider)
    refused(response, 401, "Acme ID sent a sign-in that Hindsight could not verify")
    assert provider.count("/token") == 1  # the code was exchanged; its ID token was refused
    assert not signed_in(client) and users(app) == []


def test_a_replayed_state_is_refused(app, client, provider):
    web = client
    callback = callback_path(provider.consent(start(web)))
    before = web.get_cookie("session").value  # the browser's cookie, state included
    assert web.get(callback).status_code == 302 and signed_in(web)
    # Again in the same browser: the state was used up.
    attacker = app.test_client()
    refused(attacker.get(callback), 400, "already used, has expired, or was started in another browser")
    assert not signed_in(attacker)
    # With a copy of the cookie from before: the state is in it, but the provider took the code once only.
    attacker.set_cookie("session", before)
    refused(attacker.get(callback), 502, "Acme ID refused to complete the sign-in")
    assert not signed_in(attacker) and len(users(app)) == 1


def test_only_the_latest_sign_in_started_in_a_browser_can_finish(app, client, provider):
    reader = app.session_interface.get_signing_serializer(app)
    first = callback_path(provider.consent(start(client)))
    latest = callback_path(provider.consent(start(client)))
    cookie = client.get_cookie("session").value
    assert len([key for key in reader.loads(cookie) if key.startswith("_state_oidc_")]) == 1
    assert len(cookie) < 1000  # far below the 4 kB browsers keep
    refused(client.get(first), 400, "already used, has expired, or was started in another browser")
    assert client.get(latest).status_code == 302 and signed_in(client)


def test_consent_refused_at_the_provider(app, client, provider):
    provider.deny = True
    response = sign_in_sso(client, provider)
    refused(response, 403, "Acme ID did not sign you in to Hindsight")
    assert provider.count("/token") == 0 and not signed_in(client)


def test_an_unverified_email_is_refused(app, client, provider):
    provider.user = ProviderUser(sub="casey-1", email="casey@example.com", email_verified=False)
    refused(sign_in_sso(client, provider), 403, "Acme ID has not verified your email address yet")
    assert not signed_in(client) and users(app) == []


@pytest.mark.parametrize("domains", [["example.org"], ["examples.com", "example.org"]])
def test_an_email_domain_not_allowed_is_refused(make_app, provider, domains):
    app = make_app(**sso(provider, allowed_domains=domains))
    web = app.test_client()
    refused(sign_in_sso(web, provider), 403,
            f"Hindsight is open only to email addresses of {' or '.join(domains)}; sign in with that account.")
    assert not signed_in(web) and users(app) == []
    provider.user = ProviderUser(sub="dana-3", email="dana@EXAMPLE.org")
    assert sign_in_sso(web, provider).status_code == 302 and signed_in(web)


def test_sign_in_can_be_kept_to_groups(make_app, provider):
    app = make_app(**sso(provider, allowed_groups=["engineering"]))
    web = app.test_client()
    refused(sign_in_sso(web, provider), 403, "not in a group allowed to use Hindsight")
    provider.user = ProviderUser(sub="casey-1", email="casey@example.com", groups=["sales", "engineering"])
    assert sign_in_sso(web, provider).status_code == 302 and signed_in(web)


def test_admin_follows_the_admin_group_at_every_sign_in(make_app, provider):
    app = make_app(**sso(provider, admin_groups=["hindsight-admins", "sre"]))
    provider.user = ProviderUser(sub="casey-1", email="casey@example.com", groups=["sre"])
    first = app.test_client()
    assert sign_in_sso(first, provider).status_code == 302
    assert [user.is_admin for user in users(app)] == [True]
    assert first.get("/admin/integrations").status_code == 200  # an admin's page
    provider.user.groups = ["engineering"]  # removed from the group at the provider
    second = app.test_client()
    assert sign_in_sso(second, provider).status_code == 302
    assert [user.is_admin for user in users(app)] == [False]
    assert second.get("/admin/integrations").status_code == 403
    assert audit_lines(app) == [("sign_in", None), ("admin_removed", "casey"), ("sign_in", None),
                                ("admin_granted", "casey")]


def test_sign_ins_through_the_provider_and_their_refusals_are_in_the_audit_log(make_app, provider):
    app = make_app(**sso(provider, allowed_domains=["example.com"]))
    provider.user = ProviderUser(sub="casey-1", email="casey@example.org")
    assert sign_in_sso(app.test_client(), provider).status_code == 403
    provider.user = ProviderUser(sub="casey-2", email="casey@example.com")
    assert sign_in_sso(app.test_client(), provider).status_code == 302
    with app.app_context():
        lines = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(line.kind, line.actor_name) for line in lines][0] == ("sign_in_failed", "casey@example.org")
        assert "example.com" in lines[0].detail and lines[0].address
        assert lines[-1].kind == "sign_in" and "single sign-on" in (lines[-1].detail or "")


def test_failed_callbacks_are_limited_per_address_so_they_cannot_fill_the_audit_log(app, provider):
    stranger = app.test_client()
    limit = app_settings(app).auth.max_failures_per_address
    answers = [stranger.get("/login/oidc/callback").status_code for _ in range(limit + 2)]
    assert answers[:limit] == [answers[0]] * limit and answers[0] in (400, 403) and answers[-1] == 429
    assert "Too many failed sign-ins" in stranger.get("/login/oidc/callback").get_data(as_text=True)
    assert len(audit_lines(app)) == limit  # none once the address is locked out

def audit_lines(app):
    with app.app_context():
        lines = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).all()
        return [(line.kind, (line.subject or "").split(" ")[0].lower() or None) for line in lines]


def test_a_disabled_user_is_refused_and_loses_their_open_session(app, client, provider):
    assert sign_in_sso(client, provider).status_code == 302 and signed_in(client)
    with app.app_context():
        session = get_session()
        disable_user(session, user=session.scalars(select(User)).one(), now=utcnow())
        session.commit()
    assert not signed_in(client)
    again = app.test_client()
    refused(sign_in_sso(again, provider), 403, "This account is disabled; ask an administrator to enable it.")
    assert not signed_in(again)


def test_a_rotated_key_is_fetched_once(app, client, provider):
    assert sign_in_sso(client, provider).status_code == 302
    fetched = provider.count("/jwks")
    provider.rotate_keys()
    second = app.test_client()
    assert sign_in_sso(second, provider).status_code == 302 and signed_in(second)
    assert provider.count("/jwks") == fetched + 1  # the unknown key id read the keys again, once
    third = app.test_client()
    assert sign_in_sso(third, provider).status_code == 302
    assert provider.count("/jwks") == fetched + 1  # and they are kept


def test_a_key_the_provider_does_not_publish_is_refused_after_one_more_look(app, client, provider):
    assert sign_in_sso(client, provider).status_code == 302
    published = provider.published
    provider.rotate_keys()
    provider.published = published  # signs with a key it never publishes
    fetched = provider.count("/jwks")
    web = app.test_client()
    refused(sign_in_sso(web, provider), 401, "Acme ID sent a sign-in that Hindsight could not verify")
    assert provider.count("/jwks") == fetched + 1 and not signed_in(web)


def test_a_public_client_signs_in_with_pkce_alone(make_app, provider):
    app = make_app(**sso(provider, client_secret=""))
    provider.client_secret = ""  # the provider registered Hindsight without a secret
    web = app.test_client()
    assert sign_in_sso(web, provider).status_code == 302 and signed_in(web)


def test_the_session_id_before_sign_in_is_not_the_one_after(app, client, provider, factory):
    factory.user(email="ops@example.com")
    reader = app.session_interface.get_signing_serializer(app)
    assert sign_in_form(client, "ops@example.com").status_code == 302  # signed in as someone else first
    callback = callback_path(provider.consent(start(client)))
    before = client.get_cookie("session").value
    contents_before = reader.loads(before)
    assert any(key.startswith("_state_oidc_") for key in contents_before) and "sid" in contents_before
    assert client.get(callback).status_code == 302
    after = client.get_cookie("session").value
    contents_after = reader.loads(after)
    # Nothing of the cookie from before sign-in is carried over: a new session id, no state, no CSRF token.
    assert set(contents_after) <= {"sid", "_permanent"} and contents_after["sid"] != contents_before["sid"]
    planted = app.test_client()
    planted.set_cookie("session", before)
    assert not signed_in(planted)
    assert signed_in(client)
    with app.app_context():
        rows = get_session().scalars(select(UserSession).order_by(UserSession.id)).all()
        assert [row.revoked_at is not None for row in rows] == [True, False]
        assert rows[1].user.email == "casey@example.com"


@pytest.mark.committing
def test_no_transaction_is_open_while_the_provider_is_called(app, client, provider, factory):
    factory.user(email="ops@example.com")
    assert sign_in_form(client, "ops@example.com").status_code == 302  # each request then reads its session
    engine = database(app).engine
    seen = []
    provider.on_request = lambda path: seen.append((path, engine.pool.checkedout()))
    assert sign_in_sso(client, provider).status_code == 302 and signed_in(client)
    paths = [path for path, _ in seen]
    assert {"/.well-known/openid-configuration", "/token", "/jwks"} <= set(paths)
    assert [count for _, count in seen] == [0] * len(seen)  # no connection held, so no transaction


def test_password_sign_in_can_be_turned_off(make_app, provider):
    app = make_app(**sso(provider), password_login=False)
    _user, headers = Factory(app).user(email="ops@example.com")
    web = app.test_client()
    login = Page.of(web.get("/login"))
    assert login.find_all("input", id="password") == [] and login.find_all("form", method="post") == []
    assert [link.text for link in login.find_all("a", href="/login/oidc")] == ["Sign in with Acme ID"]
    response = sign_in_form_posted(web)
    refused(response, 403, "Sign-in with a password is turned off here; sign in with Acme ID.")
    assert not signed_in(web)
    assert web.get("/api/v1/incidents", headers=headers).status_code == 200  # API tokens still work
    assert sign_in_sso(web, provider).status_code == 302 and signed_in(web)


@pytest.mark.committing
def test_the_first_admin_is_made_on_the_command_line_and_signs_in_with_the_provider(make_app, provider,
                                                                                     database_url, tmp_path):
    app = make_app(**sso(provider), password_login=False)
    env = {"HINDSIGHT_DATABASE_URL": database_url, "HINDSIGHT_INSTANCE_PATH": str(tmp_path / "cli"),
           "HINDSIGHT_SECRET_KEY": "cli-test", "HINDSIGHT_PASSWORD_LOGIN": "false",
           "HINDSIGHT_OIDC_ISSUER": provider.issuer, "HINDSIGHT_OIDC_CLIENT_ID": CLIENT_ID,
           "HINDSIGHT_OIDC_NAME": "Acme ID"}
    created = CliRunner().invoke(main, ["user", "create", "casey@example.com", "--admin"], env=env,
                                 catch_exceptions=False)
    assert created.exit_code == 0, created.output
    assert "They can sign in to the pages with Acme ID, with this email." in created.output
    token = CliRunner().invoke(main, ["token", "create", "casey@example.com"], env=env).output.strip()
    web = app.test_client()
    assert web.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert sign_in_sso(web, provider).status_code == 302 and signed_in(web)
    [user] = users(app)
    assert user.is_admin and user.oidc_subject == "casey-1" and user.password_hash is None


def sign_in_form_posted(web):
    """The sign-in form posted anyway (as a script would), with the page's CSRF token."""
    token = page_csrf_token(web, "/login")
    return web.post("/login", data={"email": "ops@example.com", "password": PASSWORD, "csrf_token": token})


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_provider_that_is_down_or_slow_is_said_in_words(make_app, provider):
    app = make_app(**sso(provider))
    web = app.test_client()
    provider.down = True
    location = None
    # Discovery may be cached from an earlier test: the token endpoint is down either way.
    response = web.get("/login/oidc")
    if response.status_code == 302:
        provider.down = False
        location = provider.consent(response.headers["Location"])
        provider.down = True
        response = web.get(callback_path(location))
    refused(response, 502, "Acme ID could not be reached or gave an answer Hindsight cannot use")
    assert not signed_in(web)

    nobody = make_app(**sso(provider, issuer=f"http://127.0.0.1:{closed_port()}"))
    refused(nobody.test_client().get("/login/oidc"), 502, "could not be reached")

    provider.down = False
    provider.delay = 2.0
    slow = make_app(**sso(provider, read_timeout_seconds=0.3))
    began = time.monotonic()
    refused(slow.test_client().get("/login/oidc"), 502, "could not be reached")
    assert time.monotonic() - began < 1.5  # the read timeout, not the provider's 2 s


def test_a_discovery_document_of_another_issuer_is_refused(make_app, provider):
    app = make_app(**sso(provider, metadata_cache_minutes=0))
    provider.discovery_issuer = "https://evil.example.com"
    refused(app.test_client().get("/login/oidc"), 502, "Acme ID could not be reached or gave an answer")
    provider.discovery_issuer = None
    web = app.test_client()
    before = provider.count("/.well-known/openid-configuration")
    assert sign_in_sso(web, provider).status_code == 302 and signed_in(web)
    assert provider.count("/.well-known/openid-configuration") == before + 2  # no cache: read at each step


def test_single_sign_on_off(make_app):
    app = make_app()
    web = app.test_client()
    assert Page.of(web.get("/login")).find_all("a", href="/login/oidc") == []
    response = web.get("/login/oidc")
    assert response.status_code == 404 and "Single sign-on is not set up here" in Page.of(response).text
    assert web.get("/login/oidc/callback?code=x&state=y").status_code == 404

"""`hindsight token list/revoke` and `hindsight user disable/enable`, run for real against the test database."""

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.web import sign_in, sign_in_form

# The commands build their own app and engine: they must see the test's rows committed.
pytestmark = pytest.mark.committing


@pytest.fixture
def cli(app, database_url, tmp_path):
    """Run a `hindsight` command against the database the test app uses."""
    env = {
        "HINDSIGHT_DATABASE_URL": database_url,
        "HINDSIGHT_INSTANCE_PATH": str(tmp_path / "cli-instance"),
        "HINDSIGHT_SECRET_KEY": "cli-test",
        "HINDSIGHT_AUTH_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",  # one cheap round, as everywhere in the suite
    }

    def run(*args):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def test_token_list_and_revoke_by_prefix_or_id(app, client, factory, cli):
    _user, first = factory.user(email="ops@example.com")
    secret = first["Authorization"].split()[1]
    assert client.get("/api/v1/incidents", headers=first).status_code == 200

    listing = cli("token", "list", "ops@example.com")
    assert listing.exit_code == 0, listing.output
    assert secret[:10] in listing.output and secret not in listing.output
    assert "last used" in listing.output and "revoked" in listing.output

    revoked = cli("token", "revoke", secret[:10])
    assert revoked.exit_code == 0 and "Revoked token" in revoked.output
    refused = client.get("/api/v1/incidents", headers=first)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_token"
    assert "revoked" in refused.get_json()["error"]["message"]
    [row] = [line for line in cli("token", "list", "ops@example.com").output.splitlines() if secret[:10] in line]
    assert row.count("UTC") == 3  # created, last used, revoked
    assert "already revoked" in cli("token", "revoke", secret[:10]).output


def test_token_revoke_by_id_and_its_errors(app, client, factory, cli, db_session):
    from sqlalchemy import select

    from app.auth.models import ApiToken

    _user, headers = factory.user(email="ops@example.com")
    token_id = db_session.scalar(select(ApiToken.id))
    assert cli("token", "revoke", str(token_id)).exit_code == 0
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401
    missing = cli("token", "revoke", "999999")
    assert missing.exit_code == 1 and "No API token has the id 999999" in missing.output
    assert cli("token", "revoke", "hs_nothing").exit_code == 1
    unknown = cli("token", "list", "nobody@example.com")
    assert unknown.exit_code == 1 and "No user has the email nobody@example.com" in unknown.output


def test_disabling_a_user_stops_their_session_and_token_at_once_and_refuses_sign_in(app, factory, cli):
    _user, headers = factory.user(email="leaver@example.com")
    web = sign_in(app, "leaver@example.com")
    api = app.test_client()
    assert web.get("/").status_code == 200 and api.get("/api/v1/incidents", headers=headers).status_code == 200

    disabled = cli("user", "disable", "leaver@example.com")
    assert disabled.exit_code == 0, disabled.output
    assert "1 session(s) ended" in disabled.output

    page = web.get("/", follow_redirects=True)
    assert page.request.path == "/login"
    refused = api.get("/api/v1/incidents", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "user_disabled"
    again = sign_in_form(app.test_client(), "leaver@example.com")
    assert again.status_code == 403 and "This account is disabled" in again.get_data(as_text=True)

    assert cli("user", "enable", "leaver@example.com").exit_code == 0
    assert api.get("/api/v1/incidents", headers=headers).status_code == 200
    assert web.get("/").status_code == 302  # the old session stays ended
    assert sign_in_form(app.test_client(), "leaver@example.com").status_code == 302


def test_a_disabled_users_open_session_is_refused_even_if_not_revoked(app, factory, db_session):
    """Disabling in the database alone (as an admin page would) stops the session on its next request."""
    from app.auth.service import find_user
    from app.db import utcnow

    factory.user(email="leaver@example.com")
    web = sign_in(app, "leaver@example.com")
    find_user(db_session, email="leaver@example.com").disabled_at = utcnow()
    db_session.commit()
    page = web.get("/", follow_redirects=True)
    assert page.request.path == "/login" and "This account is disabled" in page.get_data(as_text=True)


@pytest.mark.parametrize("command", [["token", "list"], ["token", "revoke"], ["user", "disable"], ["user", "enable"]])
def test_the_new_commands_have_help(command):
    result = CliRunner().invoke(main, [*command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0 and "Usage:" in result.output


def test_token_create_keeps_the_users_full_power_unless_told_a_scope(app, client, factory, cli):
    factory.user(admin=True, email="root@example.com")
    full = cli("token", "create", "root@example.com")
    assert full.exit_code == 0, full.output
    headers = {"Authorization": f"Bearer {full.output.strip()}"}
    assert client.get("/api/v1/reminders/failures", headers=headers).status_code == 200  # admin, as before scopes
    read = cli("token", "create", "root@example.com", "--scope", "read", "--name", "Dashboards", "--expires-days", "30")
    headers = {"Authorization": f"Bearer {read.output.strip()}"}
    refused = client.post("/api/v1/people", headers=headers, json={"name": "N", "email": "n@example.com"})
    assert refused.status_code == 403 and refused.get_json()["error"]["required_scope"] == "write"
    listing = cli("token", "list", "root@example.com").output
    assert "Dashboards" in listing and "read" in listing and "admin" in listing
    factory.user(email="member@example.com")
    refused = cli("token", "create", "member@example.com", "--scope", "admin")
    assert refused.exit_code != 0 and "admin scope" in refused.output

"""The `hindsight` command line."""

from __future__ import annotations

import logging
import sys

import click

from app.actions.cli import sync
from app.core.cli import cli_app, cli_settings
from app.reminders.cli import reminders, scheduler
from app.services.cli import services


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Hindsight: incident retrospectives and their action items."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: server.host).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: server.port).")
@click.option("--workers", default=None, type=int, help="gunicorn worker processes (default: server.workers).")
@click.option("--no-scheduler", is_flag=True, help="Serve web + API only; run `hindsight scheduler` elsewhere.")
@click.option("--no-migrate", is_flag=True, hidden=True, help="Skip the migrations (the supervisor ran them).")
def serve(host: str | None, port: int | None, workers: int | None, no_scheduler: bool, no_migrate: bool) -> None:
    """Migrate the database, then serve web + API with gunicorn, and the scheduler in its own process."""
    from app.migrations import upgrade
    from app.server import run_gunicorn, supervise

    settings = cli_settings()
    if not no_migrate:
        upgrade(settings.resolved_database_url())
    options = {"host": host or settings.server.host, "port": port or settings.server.port,
               "workers": workers or settings.server.workers}
    if no_scheduler:
        run_gunicorn(settings, **options)
    else:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
        raise SystemExit(supervise(**options))


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from app.migrations import upgrade

    settings = cli_settings()
    upgrade(settings.resolved_database_url())
    click.echo("Database is up to date.")


@main.command()
def demo() -> None:
    """Load a realistic sample incident with its timeline and retro, and months of history (runs migrations first)."""
    from app.demo import DEMO_LOGIN, load_demo
    from app.db import job_session
    from app.migrations import upgrade

    settings = cli_settings()
    upgrade(settings.resolved_database_url())
    app = cli_app(settings)
    with job_session(app) as session:
        incident, created = load_demo(session, settings=settings)
    if created:
        click.echo(f"Loaded the demo incident #{incident.id}: {incident.title}")
    else:
        click.echo(f"The demo incident #{incident.id} is already loaded.")
    click.echo(f"Sign in as {DEMO_LOGIN[0]} with password {DEMO_LOGIN[1]}")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: from the email).")
@click.option("--admin", is_flag=True, help="Admins see every incident, private ones included.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(email: str, name: str | None, admin: bool, password_stdin: bool) -> None:
    """Create a user who can sign in; the person with EMAIL is created too if missing."""
    from app.auth.service import create_user
    from app.core.errors import HindsightError
    from app.db import job_session

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        application = cli_app()
        settings = application.extensions["hindsight.settings"]
        with job_session(application) as session:
            created = create_user(session, email=email, name=name, password=password, is_admin=admin,
                                  hash_method=settings.auth.password_hash_method)
            label = f"{created.person.name} <{created.email}>"
    except HindsightError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {'admin ' if admin else ''}user {label}.")
    if settings.oidc.enabled:
        click.echo(f"They can sign in to the pages with {settings.oidc.display_name}, with this email.")
    elif password is None:
        click.echo("No password set: this user can use API tokens but not sign in to the pages.")


def _user_command(email: str, change):  # type: ignore[no-untyped-def]
    """Run `change(session, user)` on the user with EMAIL in one transaction; its result is returned."""
    from app.auth.service import get_user
    from app.core.errors import HindsightError
    from app.db import job_session

    try:
        with job_session(cli_app()) as session:
            return change(session, get_user(session, email=email))
    except HindsightError as exc:
        raise click.ClickException(exc.message) from None


@user.command("disable")
@click.argument("email")
def user_disable(email: str) -> None:
    """Stop the user with EMAIL at once: no sign-in, sessions ended, API tokens refused."""
    from app.auth.service import disable_user
    from app.db import utcnow

    ended = _user_command(email, lambda session, found: disable_user(session, user=found, now=utcnow()))
    click.echo(f"Disabled {email.strip().lower()}: {ended} session(s) ended; "
               "their API tokens are refused until `hindsight user enable`.")


@user.command("enable")
@click.argument("email")
def user_enable(email: str) -> None:
    """Let a disabled user with EMAIL sign in and use their API tokens again."""
    from app.auth.service import enable_user

    _user_command(email, lambda session, found: enable_user(session, user=found))
    click.echo(f"Enabled {email.strip().lower()}.")


@main.group()
def token() -> None:
    """API tokens."""


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


@token.command("list")
@click.argument("email")
def token_list(email: str) -> None:
    """List the API tokens of the user with EMAIL: id, prefix, created, last used, revoked (never the secret)."""
    from app.auth.service import list_tokens

    rows = _user_command(email, lambda session, found: [
        (row.id, row.prefix, row.scope, row.name, _when(row.created_at), _when(row.expires_at),
         _when(row.last_used_at), _when(row.revoked_at))
        for row in list_tokens(session, user=found)
    ])
    if not rows:
        click.echo(f"{email.strip().lower()} has no API tokens.")
        return
    header = ("id", "prefix", "scope", "name", "created", "expires", "last used", "revoked")
    widths = [max(len(str(line[i])) for line in [header, *rows]) for i in range(len(header))]
    for line in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


@token.command("revoke")
@click.argument("ref", metavar="ID_OR_PREFIX")
def token_revoke(ref: str) -> None:
    """Revoke an API token, named by its id or its prefix (from `hindsight token list`); it is refused at once."""
    from app.auth.service import find_token, revoke_token
    from app.core.errors import HindsightError
    from app.db import job_session, utcnow

    try:
        with job_session(cli_app()) as session:
            row = find_token(session, ref=ref)
            revoked = revoke_token(session, token=row, now=utcnow())
            label = f"token {row.id} ({row.prefix}…) of {row.user.email}"
    except HindsightError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Revoked {label}." if revoked else f"The {label} was already revoked.")


@token.command("create")
@click.argument("email")
@click.option("--name", default="Command line", show_default=True, help="What the token is for.")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default=None,
              help="read (GET only), write (no admin-only endpoints) or admin; default: all the user's power "
                   "(admin for an admin, write otherwise).")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None,
              help="Refuse the token this many days from now; default: it never expires.")
def token_create(email: str, name: str, scope: str | None, expires_days: int | None) -> None:
    """Print a new API token for the user with EMAIL (only its hash is stored)."""
    from datetime import timedelta

    from app.auth.service import create_token, find_user
    from app.core.errors import HindsightError
    from app.db import job_session, utcnow

    now = utcnow()
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    try:
        with job_session(cli_app()) as session:
            found = find_user(session, email=email)
            if found is None:
                raise click.ClickException(f"No user has the email {email}; create one with `hindsight user create`.")
            value = create_token(session, user=found, name=name, scope=scope, expires_at=expires_at, now=now)
    except HindsightError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(value)


@main.group("import")
def import_() -> None:
    """Bring data in from other tools."""


@import_.command("slack-export")
@click.argument("path", type=click.Path(exists=True))
@click.option("--incident", "incident_id", required=True, type=int, help="The incident to add the events to.")
@click.option("--reaction", "reactions", multiple=True, default=("pushpin",), show_default=True,
              help="Reaction name that marks a message for the timeline; repeat for several.")
def import_slack_export(path: str, incident_id: int, reactions: tuple[str, ...]) -> None:
    """Add reaction-marked Slack messages to an incident's timeline (a message is never added twice)."""
    from sqlalchemy import select

    from app.db import job_session
    from app.incidents.models import Incident
    from app.incidents.schemas import EventCreate
    from app.incidents.service import add_events
    from integrations.slack_export import SlackExportError, read_marked_messages

    try:
        messages = read_marked_messages(path, reactions)
    except SlackExportError as exc:
        raise click.ClickException(str(exc)) from None
    with job_session(cli_app()) as session:
        incident = session.scalar(select(Incident).where(Incident.id == incident_id))
        if incident is None:
            raise click.ClickException(f"Incident {incident_id} does not exist.")
        events = [
            EventCreate(occurred_at=m.occurred_at, text=m.text[:20_000], author=(m.author or None) and m.author[:320],
                        kind="note", external_id=m.external_id)
            for m in messages
        ]
        added, duplicates = add_events(session, incident=incident, events=events, source="slack") if events else ([], 0)
    click.echo(f"{len(added) - duplicates} events added, {duplicates} already on the timeline "
               f"({len(messages)} marked messages with :{': :'.join(reactions)}:).")


main.add_command(sync)
main.add_command(reminders)
main.add_command(scheduler)
main.add_command(services)


if __name__ == "__main__":
    main()

"""`hindsight reminders send` and `hindsight scheduler`."""

from __future__ import annotations

import logging
from datetime import datetime

import click


@click.group()
def reminders() -> None:
    """Reminder emails."""


@reminders.command("send")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to remind for, YYYY-MM-DD (default: today in the organisation's time zone).")
def send(as_of: datetime | None) -> None:
    """Send the due reminder digests now, then every invitation or nudge still waiting for SMTP."""
    from app.core.cli import cli_app
    from app.core.dates import org_today
    from app.db import job_session
    from app.extensions import settings as app_settings
    from app.reminders import service
    from app.reminders.mail import deliver_outbox

    app = cli_app()
    settings = app_settings(app)
    if not settings.smtp.enabled:
        raise click.ClickException("Mail is off: set HINDSIGHT_SMTP_HOST (smtp.host) to send reminders.")
    day = as_of.date() if as_of else org_today(settings)
    with job_session(app) as session:
        run = service.send_digests(session, as_of=day, settings=settings)
    with job_session(app) as session:
        outbox = deliver_outbox(session, settings=settings, ignore_backoff=True, limit=10_000)
    click.echo(f"Reminders for {day.isoformat()}: {run.emails_sent} emails sent ({run.items} items), "
               f"{run.failed} failed.")
    click.echo(f"Invitations and nudges: {outbox['sent']} sent, {outbox['failed']} failed.")
    if run.failed or outbox["failed"]:
        raise SystemExit(1)


@click.command()
def scheduler() -> None:
    """Run only the scheduled jobs (reminders, Jira sync, retro nudges) until stopped.

    On PostgreSQL run as many as you like: each job runs in one of them at a time and
    another takes over when it stops. On SQLite run one (or let `hindsight serve` run it).
    """
    from app.core.cli import cli_app
    from app.scheduler import run_blocking

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every tick at INFO; our jobs log what they did.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    run_blocking(cli_app())

"""`hindsight sync jira`."""

from __future__ import annotations

import click


@click.group()
def sync() -> None:
    """Synchronise with outside systems."""


@sync.command("jira")
def sync_jira() -> None:
    """Push every pending change to Jira now (backoff timers ignored), then pull; print the counts."""
    from app.actions.sync import run_sync, session_factory_for
    from app.core.cli import cli_app
    from app.db import job_session
    from app.extensions import settings

    app = cli_app()
    config = settings(app)
    if not config.jira.enabled:
        raise click.ClickException("Jira is not configured: set HINDSIGHT_JIRA_URL and HINDSIGHT_JIRA_PROJECT.")
    with job_session(app) as session:
        counts = run_sync(session_factory_for(session), settings=config, force=True)
    click.echo(
        f"Jira sync: created {counts.created}, updated {counts.updated}, pulled {counts.pulled}, "
        f"failed {counts.failed}" + (f", adopted {counts.adopted}" if counts.adopted else "")
        + (f" (stopped early: Jira {counts.stopped})" if counts.stopped else "")
    )
    if counts.failed:
        raise SystemExit(1)

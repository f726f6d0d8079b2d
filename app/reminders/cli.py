"""`hindsight reminders send` and `hindsight scheduler` (issue: scheduled jobs)."""

import click


@click.group()
def reminders() -> None:
    """Reminder emails."""


@click.command()
def scheduler() -> None:
    """Run only the scheduled jobs (reminders, Jira sync, retro nudges)."""
    raise click.ClickException("The scheduler is not built yet.")

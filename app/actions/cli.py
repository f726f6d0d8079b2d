"""`hindsight sync jira` (issue: action items and Jira)."""

import click


@click.group()
def sync() -> None:
    """Synchronise with outside systems."""

"""`hindsight services import PATH`: the service catalogue from a CSV, YAML or Backstage file."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def services() -> None:
    """The service catalogue."""


@services.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_catalogue(path: Path) -> None:
    """Create or update services (and their teams) from PATH: CSV (name,team,description), YAML rows, or a
    Backstage catalog export (Components; owner group:default/NAME is the team). Importing again updates,
    never duplicates; a file with a bad row imports nothing and names the rows."""
    from app.core.cli import cli_app
    from app.db import job_session
    from app.services.catalogue import CatalogueError, read_catalogue
    from app.services.service import import_catalogue as run_import

    try:
        rows = read_catalogue(path.read_text(encoding="utf-8"), filename=path.name)
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text.") from None
    except CatalogueError as exc:
        lines = "\n".join(f"  {where}: {what}" for where, what in exc.problems.items())
        raise click.ClickException(f"Nothing was imported from {path}:\n{lines}") from None
    with job_session(cli_app()) as session:
        result = run_import(session, rows=rows)
    click.echo(f"{result.created} services added, {result.updated} updated, {result.unchanged} unchanged, "
               f"{result.teams_created} new teams.")

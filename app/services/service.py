"""The service catalogue: teams and services, found and referred to by name; imports that update in place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.services.catalogue import CatalogueRow
from app.services.models import Service, Team
from app.services.schemas import ImportResult, ServiceCreate, ServiceUpdate


def list_services(session: Session) -> list[Service]:
    """Every service, by name."""
    return list(session.scalars(select(Service).order_by(Service.name)))


def service_names(session: Session) -> list[str]:
    """Every service's name, by name (for pickers)."""
    return list(session.scalars(select(Service.name).order_by(Service.name)))


def team_names(session: Session) -> list[str]:
    """Every team's name, by name (for pickers)."""
    return list(session.scalars(select(Team.name).order_by(Team.name)))


def catalogue_names(session: Session) -> tuple[list[str], list[str]]:
    """(every service's name, every team's name), each by name, in one query (for a page offering both)."""
    both = union_all(select(literal(0).label("team"), Service.name), select(literal(1).label("team"), Team.name)).subquery()
    services: list[str] = []
    teams: list[str] = []
    for team, name in session.execute(select(both.c.team, both.c.name).order_by(both.c.team, both.c.name)):
        (teams if team else services).append(name)
    return services, teams


def find_service(session: Session, name: str) -> Service | None:
    return session.scalar(select(Service).where(Service.name == name.strip().lower()))


def get_service(session: Session, name: str) -> Service:
    """The service called `name`, or NotFound."""
    service = find_service(session, name)
    if service is None:
        raise NotFound(f"No service is called {name}.")
    return service


def require_services(session: Session, names: Iterable[str], *, field: str = "services") -> list[Service]:
    """The services with these names, by name, each once; ValidationFailed naming `field` and every unknown name."""
    wanted = list(dict.fromkeys(name.strip().lower() for name in names))
    found = {s.name: s for s in session.scalars(select(Service).where(Service.name.in_(wanted)))} if wanted else {}
    missing = [name for name in wanted if name not in found]
    if missing:
        listed = ", ".join(missing)
        raise ValidationFailed(
            f"Unknown services: {listed}; add them with POST /api/v1/services first.",
            code="unknown_service", fields={field: f"unknown services: {listed}"}, extra={"unknown": missing},
        )
    return sorted(found.values(), key=lambda s: s.name)


def list_teams(session: Session) -> list[Team]:
    """Every team with its services, by name."""
    return list(session.scalars(select(Team).options(selectinload(Team.services)).order_by(Team.name)))


def find_team(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name.strip().lower()))


def create_team(session: Session, *, name: str) -> Team:
    """A new team; Conflict if the name is taken."""
    if find_team(session, name) is not None:
        raise Conflict(f"A team called {name} already exists.", code="team_exists", fields={"name": "is already taken"})
    team = Team(name=name)
    session.add(team)
    session.flush()
    return team


def _team(session: Session, name: str | None, created: list[Team] | None = None) -> Team | None:
    """The team called `name`, created if new (and then added to `created`)."""
    if name is None:
        return None
    team = find_team(session, name)
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
        if created is not None:
            created.append(team)
    return team


def create_service(session: Session, *, data: ServiceCreate) -> Service:
    """A new service, with its team (created if new); Conflict if the name is taken."""
    if find_service(session, data.name) is not None:
        raise Conflict(f"A service called {data.name} already exists.", code="service_exists",
                       fields={"name": "is already taken"})
    service = Service(name=data.name, team=_team(session, data.team), description=data.description)
    session.add(service)
    session.flush()
    return service


def update_service(session: Session, *, service: Service, data: ServiceUpdate) -> Service:
    """Change a service's team (null: none) or description."""
    changes = data.model_dump(exclude_unset=True)
    if "team" in changes:
        service.team = _team(session, changes["team"])
    if changes.get("description") is not None:
        service.description = changes["description"]
    session.flush()
    return service


def import_catalogue(session: Session, *, rows: Sequence[CatalogueRow]) -> ImportResult:
    """Create or update each row's service by name (never a second one), with its team.

    A row without a team or description leaves the service's as they are. `rows` come checked from
    `app.services.catalogue`, so nothing here refuses one: the import is all or nothing.
    """
    existing = {s.name: s for s in session.scalars(select(Service).where(Service.name.in_([r.name for r in rows])))}
    teams: list[Team] = []
    created = updated = unchanged = 0
    for row in rows:
        team = _team(session, row.team, teams)
        service = existing.get(row.name)
        if service is None:
            session.add(Service(name=row.name, team=team, description=row.description))
            created += 1
            continue
        changed = False
        if team is not None and service.team_id != team.id:
            service.team, changed = team, True
        if row.description and service.description != row.description:
            service.description, changed = row.description, True
        updated += changed
        unchanged += not changed
    session.flush()
    return ImportResult(created=created, updated=updated, unchanged=unchanged, teams_created=len(teams))

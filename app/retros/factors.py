"""Contributing factors: what the meeting found made the incident possible, each from the configured
taxonomy (`factors.categories`) with a short note. A retro names as many as it needs; none is "the" cause.

Who may see a retro's factors is who may see the retro (`service.get_retrospective`): a private
incident's factors stay with its team.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from app.retros.models import RetroFactor, RetroStatus, Retrospective
from app.retros.schemas import FactorCategoryRead, FactorKindRead, FactorRead, Taxonomy
from config import Settings


@dataclass(frozen=True)
class FactorChoice:
    """One factor a retro may name, as pickers show it."""

    key: str
    category: str
    label: str
    category_label: str


def taxonomy(settings: Settings) -> Taxonomy:
    """The configured taxonomy: categories with their kinds, in the configured order."""
    return Taxonomy(categories=[
        FactorCategoryRead(key=c.key, label=c.label,
                           kinds=[FactorKindRead(key=f"{c.key}.{kind}", label=label) for kind, label in c.kinds.items()])
        for c in settings.factors.categories
    ])


def choices(settings: Settings) -> dict[str, FactorChoice]:
    """Every key a retro may name (each category, and each of its kinds), by key, in the taxonomy's order."""
    found: dict[str, FactorChoice] = {}
    for category in settings.factors.categories:
        found[category.key] = FactorChoice(category.key, category.key, category.label, category.label)
        for kind, label in category.kinds.items():
            key = f"{category.key}.{kind}"
            found[key] = FactorChoice(key, category.key, label, category.label)
    return found


def _choice(key: str, settings: Settings) -> FactorChoice:
    """The key's words; a key since taken out of the configuration is shown as itself."""
    known = choices(settings).get(key)
    if known is not None:
        return known
    category = key.partition(".")[0]
    return FactorChoice(key, category, key, category)


def factor_rows(session: Session, *, retro: Retrospective) -> list[RetroFactor]:
    """The factors the retro named, in the order they were named."""
    return list(session.scalars(
        select(RetroFactor).where(RetroFactor.retrospective_id == retro.id).order_by(RetroFactor.at, RetroFactor.id)
    ))


def read(row: RetroFactor, settings: Settings) -> FactorRead:
    """A factor with its words from the taxonomy."""
    words = _choice(row.factor_key, settings)
    return FactorRead(factor=row.factor_key, category=row.category, label=words.label,
                      category_label=words.category_label, note=row.note,
                      by=row.by.email if row.by else None, at=row.at)


def _editable(retro: Retrospective) -> None:
    if retro.status in RetroStatus.done():
        raise RuleViolation(
            "The retro is completed; reopen it to change its contributing factors.", code="retro_completed",
        )


def add_factor(
    session: Session, *, retro: Retrospective, key: str, note: str, actor: User | None, settings: Settings,
) -> RetroFactor:
    """Name a factor of the taxonomy on the retro, once, with its note."""
    _editable(retro)
    known = choices(settings).get(key)
    if known is None:
        raise ValidationFailed(
            f"{key} is not a contributing factor of the taxonomy (GET /api/v1/factors lists them).",
            code="unknown_factor", fields={"factor": "is not a factor of the taxonomy"},
        )
    existing = session.scalar(select(RetroFactor.id).where(
        RetroFactor.retrospective_id == retro.id, RetroFactor.factor_key == key))
    if existing is not None:
        raise Conflict(f"The retro already names {key}.", code="factor_exists",
                       fields={"factor": "is already named in this retro"})
    row = RetroFactor(retrospective_id=retro.id, category=known.category, factor_key=key, note=note.strip(),
                      by_id=actor.person_id if actor else None)
    session.add(row)
    session.flush()
    return row


def remove_factor(session: Session, *, retro: Retrospective, key: str) -> None:
    """Take a factor off the retro; NotFound if it does not name it."""
    _editable(retro)
    row = session.scalar(select(RetroFactor).where(
        RetroFactor.retrospective_id == retro.id, RetroFactor.factor_key == key))
    if row is None:
        raise NotFound(f"The retro does not name the factor {key}.")
    session.delete(row)
    session.flush()

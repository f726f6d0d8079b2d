"""Related and recurring incidents: what else touched the same services, had the same contributing
factors or was told in the same words, and whether this one may have happened before.

An incident is related to another by what they share, each share a reason in words:
- a service (`incident_services`): SERVICE_POINTS each;
- a contributing factor named in both retros (`retro_factors`): FACTOR_POINTS for the same factor,
  CATEGORY_POINTS for a category shared without a common factor in it;
- words of the title and description: each of the incident's own words (at most WORDS_ASKED) is
  asked of the search index (docs/search.md) on its own, and an incident that has at least
  MIN_WORDS of them gets WORD_POINTS for each.
Scores are counts, never the databases' ranks, so SQLite and PostgreSQL order the same data the
same way (a word's stem may still differ, as in search). Most alike first, then the most recent.
Only incidents the viewer may see (`visible_incidents`; no viewer: public ones only), never the incident itself.

A recurrence is an earlier incident of the last RECURRENCE_DAYS (before this one started) that shares a
service and a contributing factor with it and still has follow-ups open. Factors are named in the
retro, after the incident is resolved: until this one's retro names any, an earlier incident counts
when it shares a service and its own retro named a factor (the booked-retro message is sent then).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import Select, bindparam, case, column, func, literal, literal_column, select, union_all
from sqlalchemy import table as table_clause
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionStatus
from app.auth.models import User
from app.incidents.access import visible_incidents
from app.incidents.models import Incident
from app.retros.factors import choices
from app.retros.models import RetroFactor, Retrospective
from app.search.models import VECTOR_COLUMN
from app.search.terms import STOP_WORDS
from app.services.models import Service, incident_services
from config import Settings

SERVICE_POINTS = 3
FACTOR_POINTS = 3
CATEGORY_POINTS = 1
WORD_POINTS = 1
MIN_WORDS = 2
WORDS_ASKED = 20
WORDS_SHOWN = 5
LIMIT = 10
RECURRENCE_DAYS = 90
_WORD = re.compile(r"[^\W_]+")


@dataclass
class Related:
    """An incident like the one asked about: why (`reasons`, in words), its retro's status, open follow-ups."""

    incident: Incident
    score: int = 0
    reasons: list[str] = field(default_factory=list)
    retro_status: Optional[str] = None
    open_items: int = 0


@dataclass
class _Shares:
    """What another incident shares with the one asked about: its score, and its reasons once it is among the best."""

    incident_id: int
    started_at: datetime
    services: list[str]
    factor_keys: list[str]
    categories: list[str]
    words: list[str]

    @property
    def score(self) -> int:
        return (SERVICE_POINTS * len(self.services) + FACTOR_POINTS * len(self.factor_keys)
                + CATEGORY_POINTS * len(self.categories) + WORD_POINTS * len(self.words))

    def reasons(self, settings: Settings) -> list[str]:
        reasons = [f"shares the service {name}" for name in self.services]
        reasons += [f"same contributing factor: {_factor_label(key, settings)}" for key in self.factor_keys]
        reasons += [f"same kind of contributing factor: {_category_label(c, settings)}" for c in self.categories]
        if self.words:
            reasons.append("similar words: " + ", ".join(self.words[:WORDS_SHOWN]))
        return reasons


@dataclass(frozen=True)
class Recurrence:
    """An earlier incident this one may repeat, with its follow-ups still open."""

    incident_id: int
    open_items: int


def words_of(incident: Incident) -> list[str]:
    """The incident's own words worth comparing, in order, each once: no stop words, numbers or short words."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(f"{incident.title} {incident.description or ''}".lower()):
        if len(word) >= 3 and not word.isdigit() and word not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)[:WORDS_ASKED]


def _word_matches(sqlite: bool, count: int, viewer: User | None) -> Select[Any]:
    """(incident id, its start, how many of the words `w<n>` (their stems) its indexed text holds, their numbers
    comma separated) for every incident `viewer` may see, but the one bound as `me`, that holds at least
    MIN_WORDS of them: counted in the database, so that only the incidents that qualify are read."""
    if sqlite:
        fts = table_clause("search_incidents", column("rowid"))
        each = union_all(*(select(literal(n).label("word"), fts.c.rowid.label("incident_id"))
                           .where(literal_column("search_incidents").op("MATCH")(bindparam(f"w{n}")))
                           for n in range(count))).subquery("each")
        found = (select(each.c.incident_id, func.count().label("held"), func.group_concat(each.c.word).label("words"))
                 .group_by(each.c.incident_id).having(func.count() >= MIN_WORDS).subquery("found"))
    else:
        # One pass over the index for any of the words, then each word tested on the rows found.
        vector = literal_column(f"incidents.{VECTOR_COLUMN}")
        queries = [func.plainto_tsquery(literal_column("'english'::regconfig"), bindparam(f"w{n}"))
                   for n in range(count)]
        either = functools.reduce(lambda a, b: a.op("||")(b), queries)
        words = func.concat_ws(",", *(case((vector.op("@@")(query), str(n))) for n, query in enumerate(queries)))
        # OFFSET 0 keeps the subquery whole, so that each row's words are tested once, not again in the outer query.
        tested = (select(Incident.id.label("incident_id"), words.label("words"))
                  .where(vector.op("@@")(either)).offset(0).subquery("tested"))
        held = func.cardinality(func.string_to_array(tested.c.words, ","))
        counted = (select(tested.c.incident_id, held.label("held"), tested.c.words).offset(0).subquery("counted"))
        found = select(counted).where(counted.c.held >= MIN_WORDS).subquery("found")
    return (select(found.c.incident_id, Incident.started_at, found.c.held, found.c.words)
            .join(Incident, Incident.id == found.c.incident_id)
            .where(found.c.incident_id != bindparam("me"), visible_incidents(viewer)))


def _shared_words(
    session: Session, incident: Incident, viewer: User | None, others: set[int], limit: int,
) -> dict[int, tuple[datetime, list[str]]]:
    """Other incidents `viewer` may see with at least MIN_WORDS of the incident's words, with their start and
    which words, in the incident's order: those of `others`, and the `limit` holding most words (then the
    most recent) that are not among them; no other can be among the `limit` most alike."""
    words = words_of(incident)
    if len(words) < MIN_WORDS:
        return {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    # FTS5: each word quoted, so nothing in it is read as syntax.
    params: dict[str, Any] = {f"w{n}": f'"{word}"' if sqlite else word for n, word in enumerate(words)}
    params["me"] = incident.id
    query = _word_matches(sqlite, len(words), viewer)
    held, started_at = literal_column("held"), literal_column("started_at")
    rows = list(session.execute(
        query.order_by(held.desc(), started_at.desc(), literal_column("incident_id").desc())
        .limit(limit + len(others)), params))
    if others:
        rows += session.execute(query.where(literal_column("incident_id").in_(list(others))), params)
    return {i: (started, [words[n] for n in sorted(int(n) for n in found.split(","))])
            for i, started, _, found in rows}


def _services(session: Session, incident_id: int) -> dict[int, list[str]]:
    """Other incidents that share a service with this one, with the shared services' names, by name."""
    mine = select(incident_services.c.service_id).where(incident_services.c.incident_id == incident_id)
    rows = session.execute(
        select(incident_services.c.incident_id, Service.name)
        .join(Service, Service.id == incident_services.c.service_id)
        .where(incident_services.c.service_id.in_(mine), incident_services.c.incident_id != incident_id)
        .order_by(Service.name))
    found: dict[int, list[str]] = defaultdict(list)
    for other, name in rows:
        found[other].append(name)
    return found


def _factors(
    session: Session, *, incidents: Iterable[int] | None = None, categories: Iterable[str] | None = None,
) -> dict[int, list[tuple[str, str]]]:
    """The named factors as (category, key), in the order named, by incident: of `incidents` (ids) or
    of any incident whose retro named one of `categories`."""
    query = (select(Retrospective.incident_id, RetroFactor.category, RetroFactor.factor_key)
             .join(RetroFactor, RetroFactor.retrospective_id == Retrospective.id)
             .order_by(RetroFactor.at, RetroFactor.id))
    if incidents is not None:
        query = query.where(Retrospective.incident_id.in_(list(incidents)))
    if categories is not None:
        query = query.where(RetroFactor.category.in_(list(categories)))
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for other, category, key in session.execute(query):
        found[other].append((category, key))
    return found


def _factor_label(key: str, settings: Settings) -> str:
    known = choices(settings).get(key)
    if known is None:
        return key
    return known.label if known.key == known.category else f"{known.category_label}: {known.label}"


def _category_label(category: str, settings: Settings) -> str:
    known = choices(settings).get(category)
    return known.category_label if known else category


def related_incidents(
    session: Session, *, incident: Incident, viewer: User | None, settings: Settings, limit: int = LIMIT,
) -> list[Related]:
    """The incidents most like `incident` that `viewer` may see (no viewer: public ones), most alike first."""
    services = _services(session, incident.id)
    mine = _factors(session, incidents=[incident.id]).get(incident.id, [])
    my_keys = {key for _, key in mine}
    my_categories = {category for category, _ in mine}
    factors = _factors(session, categories=my_categories) if my_categories else {}
    factors.pop(incident.id, None)
    others = (set(services) | set(factors)) - {incident.id}
    words = _shared_words(session, incident, viewer, others, limit)
    # Scored and ordered by id and start only: the incidents themselves are read for the best `limit`.
    visible = [(i, started_at) for i, (started_at, _) in words.items()]
    if others - set(words):
        visible += session.execute(select(Incident.id, Incident.started_at).where(
            Incident.id.in_(others - set(words)), visible_incidents(viewer))).all()
    if not visible:
        return []
    shares = []
    for other_id, started_at in visible:
        named = factors.get(other_id, [])
        keys = [key for _, key in named if key in my_keys]
        covered = {category for category, key in named if key in my_keys}
        categories = list(dict.fromkeys(c for c, _ in named if c in my_categories and c not in covered)) if named else []
        shared = words[other_id][1] if other_id in words else []
        share = _Shares(other_id, started_at, services.get(other_id, []), keys, categories, shared)
        shares.append((-share.score, -started_at.timestamp(), -other_id, share))
    best = [entry[-1] for entry in sorted(shares, key=lambda entry: entry[:3])[:limit]]
    incidents = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_([s.incident_id for s in best])))}
    related = [Related(incident=incidents[s.incident_id], score=s.score, reasons=s.reasons(settings)) for s in best]
    _add_retros(session, related)
    return related


def _open_items(session: Session, incident_ids: list[int]) -> dict[int, int]:
    """How many follow-ups (action items still open or in progress) each incident's retro has."""
    if not incident_ids:
        return {}
    return dict(session.execute(
        select(Retrospective.incident_id, func.count(ActionItem.id))
        .join(ActionItem, ActionItem.retrospective_id == Retrospective.id)
        .where(Retrospective.incident_id.in_(incident_ids), ActionItem.status.in_(ActionStatus.still_open()))
        .group_by(Retrospective.incident_id)).all())


def _add_retros(session: Session, found: list[Related]) -> None:
    ids = [r.incident.id for r in found]
    if not ids:
        return
    statuses = dict(session.execute(
        select(Retrospective.incident_id, Retrospective.status).where(Retrospective.incident_id.in_(ids))).all())
    counts = _open_items(session, ids)
    for item in found:
        item.retro_status = statuses.get(item.incident.id)
        item.open_items = counts.get(item.incident.id, 0)


def recurrences(
    session: Session, *, incident: Incident, viewer: User | None, days: int = RECURRENCE_DAYS,
) -> list[Recurrence]:
    """Earlier incidents (of the `days` before this one started) that `viewer` may see and this one may
    repeat: a shared service and a shared factor (any factor while this one's retro names none), follow-ups open."""
    services = _services(session, incident.id)
    if not services:
        return []
    factors = _factors(session, incidents=[incident.id, *services])
    my_keys = {key for _, key in factors.pop(incident.id, [])}
    candidates = [i for i in services if any(not my_keys or key in my_keys for _, key in factors.get(i, []))]
    if not candidates:
        return []
    earlier = list(session.scalars(
        select(Incident).where(Incident.id.in_(candidates), visible_incidents(viewer),
                               Incident.started_at >= incident.started_at - timedelta(days=days),
                               Incident.started_at <= incident.started_at)
        .order_by(Incident.started_at.desc(), Incident.id.desc())))
    counts = _open_items(session, [i.id for i in earlier])
    return [Recurrence(incident_id=i.id, open_items=counts[i.id]) for i in earlier if counts.get(i.id)]


def recurrence_text(found: list[Recurrence]) -> str:
    """The flag in words: "This may have happened before: #123, 2 follow-ups still open"; "" when none."""
    if not found:
        return ""
    parts = [f"#{r.incident_id}, {r.open_items} follow-up{'s' if r.open_items != 1 else ''} still open"
             for r in found]
    return "This may have happened before: " + "; ".join(parts)

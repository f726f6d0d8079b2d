"""Search across incidents, their timelines, retro documents and action items: one service, both databases.

Each kind of thing found is read from its own index (migration 0014): FTS5 on SQLite, ranked by
bm25; a tsvector column on PostgreSQL, ranked by ts_rank_cd (length-normalised); titles count 2.5
times the rest on both. The four are merged best first, each score read as a share of its kind's best.
Only incidents the viewer may see (`visible_incidents`) and that pass the filters are searched, in
the results and in the counts alike. How the index is kept, and where the databases differ: docs/search.md.
Snippets are made for the page of results only, then escaped, with the matched words in <mark>.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement, Float, Integer, Select, String, bindparam, cast, column, func, literal,
    literal_column, or_, select, true, union_all,
)
from sqlalchemy import table as table_clause
from sqlalchemy.orm import Session

from app.actions.models import ActionItem
from app.auth.models import User
from app.core.dates import day_end, day_start
from app.documents.models import DocumentSection
from app.incidents.access import incident_visible_to
from app.incidents.models import Incident, TimelineEvent
from app.retros.models import RetroFactor, Retrospective
from app.search.models import VECTOR_COLUMN
from app.search.terms import parse
from app.services.models import Service, incident_services
from config import Settings

# On equal scores: the incident itself, then what its retro wrote, then its timeline.
KINDS = ("incident", "section", "action_item", "event")
MAX_LIMIT = 100
# Snippet markers, control characters that people's text hardly ever holds: <mark> once the text is escaped
# (one found in the text itself can only open or close a mark, never add other markup).
START, STOP = "\x02", "\x03"
SNIPPET_TOKENS = 24
_BETWEEN_MARKS = re.compile(r"</mark>(\s+)<mark>")
TITLE_WEIGHT = 2.5
# ts_headline's choice of words, near FTS5's snippet of SNIPPET_TOKENS tokens.
HEADLINE_OPTIONS = (f'StartSel="{START}", StopSel="{STOP}", MaxWords={SNIPPET_TOKENS}, MinWords=12, '
                    'ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "')


@dataclass(frozen=True)
class Filters:
    """What the incidents found must be: a severity, a status, started within days (both included)."""

    severity: Optional[str] = None
    status: Optional[str] = None
    since: Optional[date] = None
    until: Optional[date] = None
    service: Optional[str] = None
    factor: Optional[str] = None


@dataclass
class Hit:
    """One thing found: its kind and row, the incident it belongs to, its title and marked snippet; `score`
    is its share of the best score of its kind (1 for the best)."""

    kind: str
    ref_id: int
    incident: Incident
    title: str
    snippet: Markup
    score: float
    retrospective_id: Optional[int] = None

    @property
    def incident_id(self) -> int:
        return self.incident.id


@dataclass
class SearchResult:
    """The best `limit` hits, best first, and how many there are of each kind in all."""

    hits: list[Hit] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    searched: bool = False  # False when nothing searchable was typed (only stop words or punctuation)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class _Kind:
    name: str
    model: Any
    index: str  # the FTS5 table on SQLite
    columns: tuple[str, ...]  # its text columns, in index order
    titles: tuple[str, ...]


_KINDS = (
    _Kind("incident", Incident, "search_incidents", ("title", "description"), ("title",)),
    _Kind("event", TimelineEvent, "search_events", ("text",), ()),
    _Kind("section", DocumentSection, "search_sections", ("body",), ()),
    _Kind("action_item", ActionItem, "search_action_items", ("title", "description"), ("title",)),
)


def marked(snippet: str) -> Markup:
    """A snippet with its markers as HTML: the text escaped, each marked run in <mark> (always closed)."""
    parts: list[str] = []
    inside = False
    for piece in re.split(f"([{START}{STOP}])", snippet):
        if piece == START:
            if not inside:
                parts.append("<mark>")
            inside = True
        elif piece == STOP:
            if inside:
                parts.append("</mark>")
            inside = False
        else:
            parts.append(str(escape(piece)))
    if inside:
        parts.append("</mark>")
    # A phrase reads as one mark, as FTS5 marks it (ts_headline marks each of its words).
    return Markup(_BETWEEN_MARKS.sub(r"\1", "".join(parts)))


def _tsquery() -> ColumnElement[Any]:
    return func.websearch_to_tsquery(literal_column("'english'::regconfig"), bindparam("websearch"))


def _matches(sqlite: bool, kind: _Kind, query: Select[Any]) -> Select[Any]:
    """`query` over the kind's rows, kept to those that match, with each row's score added as `score`."""
    table = kind.model.__table__
    if sqlite:
        fts = table_clause(kind.index, column("rowid"))
        name = literal_column(kind.index)
        weights = [TITLE_WEIGHT if c in kind.titles else 1.0 for c in kind.columns]
        return (query.add_columns((-func.bm25(name, *weights)).label("score"))
                .join(fts, fts.c.rowid == table.c.id)
                .where(name.op("MATCH")(bindparam("match"))))
    vector = literal_column(f"{table.name}.{VECTOR_COLUMN}")
    return (query.add_columns(cast(func.ts_rank_cd(vector, _tsquery(), 1), Float).label("score"))
            .where(vector.op("@@")(_tsquery())))


@functools.lru_cache(maxsize=None)
def _snippet_statement(sqlite: bool, kind: _Kind) -> Select[Any]:
    """Each of the `ids` rows' own title and retro (sections and action items; NULL for the others), then its
    snippets, one a text column, for the query's terms: one statement for the page's rows of a kind."""
    table = kind.model.__table__
    own = ([table.c.title, table.c.retrospective_id] if kind.model in (DocumentSection, ActionItem)
           else [literal(None, String), literal(None, Integer)])
    if sqlite:
        fts = table_clause(kind.index, column("rowid"))
        name = literal_column(kind.index)
        texts = [func.snippet(name, n, START, STOP, "…", SNIPPET_TOKENS) for n in range(len(kind.columns))]
        return (select(fts.c.rowid, *own, *texts).select_from(fts).join(table, table.c.id == fts.c.rowid)
                .where(name.op("MATCH")(bindparam("match")), fts.c.rowid.in_(bindparam("ids", expanding=True))))
    texts = [func.ts_headline(literal_column("'english'::regconfig"), table.c[c], _tsquery(), HEADLINE_OPTIONS)
             for c in kind.columns]
    return select(table.c.id, *own, *texts).where(table.c.id.in_(bindparam("ids", expanding=True)))


def _snippets(
    session: Session, sqlite: bool, kind: _Kind, ids: list[int], params: dict[str, Any],
) -> dict[int, tuple[str, Optional[str], Optional[int]]]:
    """Each row's snippet, from the column with the most marked words (the later one on a tie), with its own
    title and retro (sections and action items)."""
    found = {}
    for row_id, title, retro_id, *texts in session.execute(_snippet_statement(sqlite, kind), params | {"ids": ids}):
        best = max(reversed(range(len(texts))), key=lambda n: (texts[n] or "").count(START))
        found[row_id] = (texts[best] or "", title, retro_id)
    return found


def _rows(kind: _Kind) -> Select[Any]:
    """(kind, ref_id, incident_id) of every row of the kind, joined to its incident."""
    model = kind.model
    name = literal(kind.name, String).label("kind")
    if model is Incident:
        return select(name, Incident.id.label("ref_id"), Incident.id.label("incident_id")).select_from(Incident)
    if model is TimelineEvent:
        return (select(name, model.id.label("ref_id"), model.incident_id.label("incident_id"))
                .select_from(model).join(Incident, Incident.id == model.incident_id))
    rows = (select(name, model.id.label("ref_id"), Retrospective.incident_id.label("incident_id"))
            .select_from(model).join(Retrospective, Retrospective.id == model.retrospective_id)
            .join(Incident, Incident.id == Retrospective.incident_id))
    if model is DocumentSection:
        # A section counts once someone wrote in it: its generated text (ground rules, the summary taken
        # from the incident, the team) is in every document or found through the incident itself.
        rows = rows.where(model.version > 1)
    return rows


def _where(admin: bool, used: frozenset[str]) -> list[ColumnElement[bool]]:
    """The visibility rule (`visible_incidents`, for the person bound as `viewer`) and the filters in `used`."""
    where = [true() if admin else incident_visible_to(bindparam("viewer", type_=Integer))]
    if "severity" in used:
        where.append(Incident.severity == bindparam("severity"))
    if "status" in used:
        where.append(Incident.status == bindparam("status"))
    if "since" in used:
        where.append(Incident.started_at >= bindparam("since", type_=Incident.started_at.type))
    if "until" in used:
        where.append(Incident.started_at < bindparam("until", type_=Incident.started_at.type))
    if "service" in used:  # by the service's name, as the API and the page give it
        where.append(Incident.id.in_(
            select(incident_services.c.incident_id).join(Service, Service.id == incident_services.c.service_id)
            .where(Service.name == bindparam("service"))))
    if "factor" in used:  # a factor ("change.deploy") or a whole category ("change")
        factor = bindparam("factor")
        where.append(Incident.id.in_(
            select(Retrospective.incident_id).join(RetroFactor, RetroFactor.retrospective_id == Retrospective.id)
            .where(or_(RetroFactor.factor_key == factor, RetroFactor.category == factor))))
    return where


@functools.lru_cache(maxsize=256)
def _statements(sqlite: bool, admin: bool, used: frozenset[str]) -> tuple[Select[Any], Select[Any]]:
    """(each kind's best `limit` matches, how many match of each kind), built once for each shape of question:
    the terms, the viewer and the filters' values are bound parameters. One statement each, so that PostgreSQL
    plans the visibility rule's subqueries once."""
    where = _where(admin, used)
    matches = [_matches(sqlite, kind, _rows(kind)).where(*where) for kind in _KINDS]
    best = union_all(*(select(query.order_by(literal_column("score").desc(), literal_column("ref_id"))
                              .limit(bindparam("limit")).subquery()) for query in matches))
    found = union_all(*matches).subquery("found")
    return select(best.subquery("best")), select(found.c.kind, func.count()).group_by(found.c.kind)


@dataclass(frozen=True)
class _Found:
    kind: str
    ref_id: int
    incident_id: int
    share: float


def _merged(rows: list[Any], limit: int) -> list[_Found]:
    """The best `limit` of all kinds. Each kind is scored against its own index (bm25's word weights differ
    between tables), so a score counts as its share of the kind's best; on a tie the kinds come in KINDS order."""
    top: dict[str, float] = {}
    for row in rows:
        top[row.kind] = max(top.get(row.kind, 0.0), row.score)
    found = []
    for row in rows:
        # Rounded: PostgreSQL's ranks are single-precision, and the best of a kind must read exactly 1.
        share = round(row.score / top[row.kind], 6) if top[row.kind] else 0.0
        found.append((-share, KINDS.index(row.kind), -row.score, row.ref_id,
                      _Found(row.kind, row.ref_id, row.incident_id, share)))
    return [entry[-1] for entry in sorted(found, key=lambda entry: entry[:4])[:limit]]


def search(session: Session, *, viewer: User, text: str, filters: Filters, settings: Settings,
           limit: int = 20, counted: bool = True) -> SearchResult:
    """The best `limit` things matching `text` among the incidents `viewer` may see that pass `filters`;
    with `counted`, how many there are of each kind too (one more pass over the matches)."""
    terms = parse(text)
    if terms.empty:
        return SearchResult()
    sqlite = session.get_bind().dialect.name == "sqlite"
    params: dict[str, Any] = {"match": terms.fts5()} if sqlite else {"websearch": terms.websearch()}
    values = {"severity": filters.severity, "status": filters.status, "service": filters.service,
              "factor": filters.factor,
              "since": day_start(settings, filters.since) if filters.since else None,
              "until": day_end(settings, filters.until) if filters.until else None}
    used = frozenset(name for name, value in values.items() if value)
    best_statement, count_statement = _statements(sqlite, viewer.is_admin, used)
    params |= {name: values[name] for name in used}
    if not viewer.is_admin:
        params["viewer"] = viewer.person_id
    limit = max(1, min(limit, MAX_LIMIT))
    counts = dict(session.execute(count_statement, params).all()) if counted else {}
    rows = session.execute(best_statement, params | {"limit": limit}).all()
    return SearchResult(hits=_hits(session, sqlite, _merged(rows, limit), params), counts=counts, searched=True)


def _hits(session: Session, sqlite: bool, best: list[_Found], params: dict[str, Any]) -> list[Hit]:
    wanted = {row.incident_id for row in best}
    incidents = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(wanted)))}
    snippets: dict[tuple[str, int], str] = {}
    titles: dict[tuple[str, int], tuple[str, Optional[int]]] = {}
    for kind in _KINDS:
        ids = [row.ref_id for row in best if row.kind == kind.name]
        if not ids:
            continue
        for ref, (snippet, title, retro_id) in _snippets(session, sqlite, kind, ids, params).items():
            snippets[(kind.name, ref)] = snippet
            if kind.model in (DocumentSection, ActionItem):
                titles[(kind.name, ref)] = (title, retro_id)
    hits = []
    for row in best:
        incident = incidents[row.incident_id]
        title, retro_id = titles.get((row.kind, row.ref_id), (incident.title, None))
        hits.append(Hit(kind=row.kind, ref_id=row.ref_id, incident=incident, title=title,
                        snippet=marked(snippets.get((row.kind, row.ref_id), "")), score=float(row.share),
                        retrospective_id=retro_id))
    return hits

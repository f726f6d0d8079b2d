"""Reading a catalogue file: CSV (name,team,description), YAML rows, or a Backstage catalog export.

Pure parsing, no database: every row is read and checked first, and a file with any bad row is
refused whole (`CatalogueError`, each problem named by its line or YAML document), so an import
never stops half-way.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import yaml

from app.services.schemas import NAME_RULE

_NAME = re.compile(NAME_RULE)
MAX_ROWS = 10_000
MAX_DESCRIPTION = 2000


@dataclass(frozen=True)
class CatalogueRow:
    """One service as the file gives it; `where` is its line or document, for messages."""

    name: str
    team: str | None
    description: str
    where: str


class CatalogueError(ValueError):
    """A file that cannot be imported: `problems` maps "line 3" / "document 2" to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems.items()))
        self.problems = problems


def read_catalogue(text: str, *, filename: str = "") -> list[CatalogueRow]:
    """The services in a catalogue file, by its name's extension (.csv, .yaml, .yml) or, without one, its look."""
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return read_csv(text)
    if lowered.endswith((".yaml", ".yml")):
        return read_yaml(text)
    first = text.lstrip()[:200]
    return read_yaml(text) if first.startswith(("---", "apiVersion:", "kind:", "-", "services:")) else read_csv(text)


# What a YAML list or mapping reads as where text belongs: refused by `_check`, and never turned into text
# (a few nested aliases, "billion laughs", would expand into gigabytes).
NOT_TEXT = "\x00not text"


def _text(value: Any) -> str:
    """A YAML or CSV value as text: strings and numbers only."""
    if value is None:
        return ""
    return str(value) if isinstance(value, (str, int, float)) else NOT_TEXT


def _name(value: Any) -> str:
    text = _text(value)
    return text if text == NOT_TEXT else text.strip().lower()


def _check(name: str, team: str | None, description: str, where: str, problems: dict[str, str]) -> CatalogueRow | None:
    if NOT_TEXT in (name, team, description):
        problems[where] = "a name, team, owner or description is a list or mapping, not plain text"
    elif not name:
        problems[where] = "the service has no name"
    elif not _NAME.match(name):
        problems[where] = f"the name {name!r} must be letters, digits and . _ - (at most 100), starting and ending with a letter or digit"
    elif team is not None and not _NAME.match(team):
        problems[where] = f"the team {team!r} must be letters, digits and . _ - (at most 100)"
    elif len(description) > MAX_DESCRIPTION:
        problems[where] = f"the description is longer than {MAX_DESCRIPTION} characters"
    elif "\x00" in description:
        problems[where] = "the description holds a NUL character"
    else:
        return CatalogueRow(name=name, team=team, description=description, where=where)
    return None


def _finish(rows: list[CatalogueRow], problems: dict[str, str]) -> list[CatalogueRow]:
    seen: dict[str, str] = {}
    for row in rows:
        if row.name in seen:
            problems.setdefault(row.where, f"the service {row.name!r} is already given at {seen[row.name]}")
        seen.setdefault(row.name, row.where)
    if len(rows) > MAX_ROWS:
        problems["file"] = f"more than {MAX_ROWS} services: split the file"
    if not rows and not problems:
        problems["file"] = "no services found in it"
    if problems:
        raise CatalogueError(problems)
    return rows


def read_csv(text: str) -> list[CatalogueRow]:
    """Rows of a CSV file with a header naming `name` and optionally `team` and `description`."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    problems: dict[str, str] = {}
    rows: list[CatalogueRow] = []
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        if "name" not in header:
            raise CatalogueError({"line 1": "the header must name the columns: name,team,description"})
        unknown = [cell for cell in header if cell not in ("name", "team", "description")]
        if unknown:
            raise CatalogueError({"line 1": f"unknown column {unknown[0]!r}: the columns are name,team,description"})
        for record in reader:
            where = f"line {reader.line_num}"
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header):
                problems[where] = f"{len(record)} values for {len(header)} columns"
                continue
            values = dict(zip(header, record))
            team = _name(values.get("team")) or None
            row = _check(_name(values.get("name")), team, (values.get("description") or "").strip(), where, problems)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        raise CatalogueError({f"line {reader.line_num}": f"not valid CSV ({exc})"}) from None
    return _finish(rows, problems)


def read_yaml(text: str) -> list[CatalogueRow]:
    """Services from YAML: Backstage entities (`kind: Component`, one a document), or plain rows
    (a list of {name, team, description}, or such a list under `services:`)."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise CatalogueError({where: f"not valid YAML ({getattr(exc, 'problem', None) or exc})"}) from None
    problems: dict[str, str] = {}
    rows: list[CatalogueRow] = []
    for number, document in enumerate(documents, start=1):
        where = f"document {number}"
        if document is None:
            continue
        if isinstance(document, dict) and "kind" in document:
            row = _backstage(document, where, problems)
            if row is not None:
                rows.append(row)
            continue
        entries = document.get("services") if isinstance(document, dict) else document
        if not isinstance(entries, list):
            problems[where] = "expected a Backstage entity (kind: Component), or a list of services with name, team, description"
            continue
        for index, entry in enumerate(entries, start=1):
            at = f"{where}, item {index}" if len(documents) > 1 else f"item {index}"
            if not isinstance(entry, dict):
                problems[at] = "expected name, team and description"
                continue
            extra = sorted(set(entry) - {"name", "team", "description"})
            if extra:
                problems[at] = f"unknown field {extra[0]!r}: the fields are name, team, description"
                continue
            row = _check(_name(entry.get("name")), _name(entry.get("team")) or None,
                         _text(entry.get("description")).strip(), at, problems)
            if row is not None:
                rows.append(row)
    return _finish(rows, problems)


def owner_team(owner: Any) -> str | None:
    """The team of a Backstage `spec.owner`: "group:default/payments", "group:payments" or "payments" give
    "payments"; a user (or no owner) gives none."""
    text = _text(owner).strip()
    if not text or text == NOT_TEXT:
        return NOT_TEXT if text == NOT_TEXT else None
    kind, sep, rest = text.partition(":")
    if sep and kind.strip().lower() != "group":
        return None
    reference = rest if sep else text
    return _name(reference.rpartition("/")[2]) or None


def _backstage(entity: dict[str, Any], where: str, problems: dict[str, str]) -> CatalogueRow | None:
    """A Backstage entity: a Component is a service; other kinds (System, API, Group, User…) are skipped."""
    if _text(entity.get("kind")).strip().lower() != "component":
        return None
    metadata = entity.get("metadata")
    spec = entity.get("spec") or {}
    if not isinstance(metadata, dict) or not isinstance(spec, dict):
        problems[where] = "a Component needs metadata (with a name) and a spec"
        return None
    return _check(_name(metadata.get("name")), owner_team(spec.get("owner")),
                  _text(metadata.get("description")).strip(), where, problems)

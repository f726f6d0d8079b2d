"""Pages translate, the API names: an API error (its code and fields) said in words a person can act on.

The API keeps its machine codes (`retro_past_deadline`, `fields: {"participants.3": ...}`); a page
never shows them. Each domain registers what its codes mean for people in its own `wording.py`
(`says("retro_past_deadline", ...)`), with the page's own facts at hand (the retro, to name its
deadline in words); `in_words` turns a caught error into a message and per-field notes keyed by the
form's field names. A code nobody registered falls back to a plain sentence, never the API's text
when that text names fields or carries raw values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import HindsightError

Saying = Callable[[HindsightError, Mapping[str, Any]], str]

_SAYINGS: dict[str, Saying] = {}

# What a code means when no domain said more: short, general, and always something to do.
_GENERAL = {
    "validation_error": "Some fields need another look: see the notes beside them.",
    "bad_request": "The form could not be read. Reload the page and try again.",
    "malformed_json": "The form could not be read. Reload the page and try again.",
    "not_found": "That is not here any more, or you may not see it.",
    "forbidden": "You may not do that here. Ask an admin if you need to.",
    "unauthorized": "Your session has ended. Sign in again.",
    "csrf_failed": "The form had expired. Reload the page and try again.",
    "conflict": "Someone changed this while you were editing. Reload to see their change.",
    "outside_failure": "An outside service did not answer. Nothing was lost; try again in a minute.",
    "rule_violation": "A rule of the retro process refused this change.",
    "too_many_attempts": "Too many attempts. Wait a few minutes and try again.",
}

# Field messages from validation, in words (the rest are already plain English sentences).
_FIELD_MESSAGES = {
    "is required": "Fill this in.",
    "may not be null": "Fill this in.",
    "is not a field of this request": "This is not something that can be changed here.",
}

_INDEXED = re.compile(r"^(?P<name>[a-z_]+)\.(?P<index>\d+)(?:\..*)?$")
_API_LOOKING = re.compile(r"[a-z]+_[a-z_]+|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|Error\b|Traceback|\w+Pool")


@dataclass(frozen=True)
class PageError:
    """An error as a page shows it: a message at the top and notes beside the fields it names."""

    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)


def says(code: str, saying: Saying | str) -> None:
    """Register what `code` means on a page: a sentence, or a function of the error and the page's facts."""
    _SAYINGS[code] = saying if callable(saying) else (lambda _error, _facts, text=saying: text)


def ordinal(number: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th": for "the 4th participant", never a zero-based index."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def field_note(name: str, message: str, labels: Mapping[str, str]) -> tuple[str, str]:
    """One API field error as (the form field it belongs to, a note in words).

    `participants.3` belongs to the `participants` field and reads "The 4th one: ...", counted from 1.
    """
    note = _FIELD_MESSAGES.get(message, message)
    indexed = _INDEXED.match(name)
    if indexed:
        base = indexed["name"]
        position = int(indexed["index"]) + 1
        return base, f"The {ordinal(position)} {labels.get(base + '.item', 'one')}: {note[:1].lower()}{note[1:]}"
    return name, note


def in_words(error: HindsightError, *, labels: Mapping[str, str] | None = None, **facts: Any) -> PageError:
    """`error` as the page shows it; `labels` names the form's fields, `facts` are what sayings may use."""
    labels = labels or {}
    fields: dict[str, str] = {}
    for name, message in error.fields.items():
        base, note = field_note(name, message, labels)
        fields[base] = f"{fields[base]} {note}" if base in fields else note
    saying = _SAYINGS.get(error.code)
    if saying is not None:
        message = saying(error, facts)
    elif error.code in _GENERAL:
        message = _GENERAL[error.code]
    elif error.message and not _API_LOOKING.search(error.message):
        message = error.message
    else:
        message = "That could not be done. Check the form and try again."
    return PageError(code=error.code, message=message, fields=fields)

"""What the incident pages say in words: severities, visibility, roles, refusals and a retro's countdown.

The incidents domain registers its own error codes with `app.core.wording.says`. Codes of other
domains that the role form meets (the retro's rules) are said here for that form only, through
`page_error`, so the retro pages keep their own wording of the same codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from app.core.errors import HindsightError
from app.core.wording import PageError, in_words, says
from app.incidents.models import ROLES, Severity, Visibility

SEVERITY_HINTS = {
    Severity.SEV0: "Critical: customers cannot use the product, or data is lost or exposed. "
                   "Its retro needs an Executive Sponsor.",
    Severity.SEV1: "Major: a key feature is down or badly degraded for many customers.",
    Severity.SEV2: "Minor: limited impact, a workaround exists, or few customers are affected.",
}

VISIBILITY_WORDS = {
    Visibility.PUBLIC: "Everyone who signs in to Hindsight can see it.",
    Visibility.PRIVATE: "Only its response team, the retro's facilitator and participants, and admins can see it.",
}

_ROLE_NAMES = {"communications_lead": "Communications lead", "customer_support_lead": "Customer support lead"}
ROLE_LABELS = {role: _ROLE_NAMES.get(role, role.replace("_", " ").capitalize()) for role in ROLES}

# The API's field names as a person reads them, for notes that mention another field.
_FIELD_WORDS = {
    "started_at": "the incident's start", "resolved_at": "the resolution", "detected_at": "the detection",
    "occurred_at": "the time", "override_reason": "the reason", "external_id": "the outside id",
}
_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
_TOO_LONG = re.compile(r"^String should have at most (\d+) characters?$")


def role_label(role: str) -> str:
    """A role as people say it: "communications_lead" → "Communications lead"."""
    return ROLE_LABELS.get(role, role.replace("_", " ").capitalize())


def roles_in_words(text: str) -> str:
    """`text` with every role code in it said in words (for warnings written with them)."""
    for role, label in ROLE_LABELS.items():
        text = text.replace(f"{role} role", f"{label} role").replace(role, label)
    return text


def note_in_words(note: str, when: Callable[[datetime], str]) -> str:
    """A field note as a person reads it: no field names, no ISO timestamps, no validator jargon."""
    if note.startswith("String should have at least"):
        return "Fill this in."
    too_long = _TOO_LONG.match(note)
    if too_long:
        return f"Keep it to {too_long.group(1)} characters."
    if note.startswith("Input should be"):
        return "Pick one of the choices."
    if note.startswith("Value error, "):
        note = note.removeprefix("Value error, ")
    note = _ISO.sub(lambda match: when(datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))), note)
    for name, words in _FIELD_WORDS.items():
        note = note.replace(name, words)
    return note[:1].upper() + note[1:]


def _spectator(error: HindsightError, facts: Mapping[str, Any]) -> str:
    person = facts.get("person") or "This person"
    return (f"{person} was not on the response team and the role starts after the incident was resolved, "
            "so they would join the retro. Give a reason to add them anyway, or pick an earlier start.")


def _facilitator(error: HindsightError, facts: Mapping[str, Any]) -> str:
    person = facts.get("person") or "This person"
    return f"{person} facilitates the retro, so may not hold a role. Pick another facilitator first, on the schedule page."


def _unknown_person(error: HindsightError, facts: Mapping[str, Any]) -> str:
    return "Nobody with that email is known to Hindsight. Pick someone from the list."


# Said on the incident pages only (the codes belong to the retro and people domains).
_ON_THESE_PAGES: dict[str, Callable[[HindsightError, Mapping[str, Any]], str]] = {
    "spectator_not_allowed": _spectator,
    "facilitator_involved": _facilitator,
    "unknown_person": _unknown_person,
}


def page_error(
    error: HindsightError, *, when: Callable[[datetime], str], labels: Mapping[str, str] | None = None, **facts: Any,
) -> PageError:
    """`error` as an incident page shows it: `in_words`, with this domain's notes and its form's sayings."""
    shown = in_words(error, labels=labels, **facts)
    saying = _ON_THESE_PAGES.get(error.code)
    message = saying(error, facts) if saying is not None else shown.message
    fields = {name: note_in_words(note, when) for name, note in shown.fields.items()}
    return PageError(code=shown.code, message=message, fields=fields)


def countdown(deadline: datetime, now: datetime) -> str:
    """Time to a deadline in words: "due in 2 days 4 hours", "due in 40 minutes", "3 hours overdue"."""
    left = deadline - now
    late = left < timedelta(0)
    span = _span(-left if late else left)
    return f"{span} overdue" if late else f"due in {span}"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _count(days, "day") + (f" {_count(hours, 'hour')}" if hours else "")
    if hours:
        return _count(hours, "hour")
    return _count(max(minutes, 1), "minute")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


says("duplicate_external_id", "Another incident already has this outside id: open that one instead.")
says("no_retrospective", "The retrospective is booked when the incident is resolved.")

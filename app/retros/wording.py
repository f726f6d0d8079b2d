"""The retro rules' refusals as the scheduling page says them: what happened and what to do, by name.

The service names its rules by code (`retro_past_deadline`, `fields: {"participants.3": ...}`);
the page passes its own facts (the deadline in words, the people it sent by name) and gets back a
message for the top of the form and notes for its fields, none naming an API field or a timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.core.errors import HindsightError
from app.core.wording import PageError, in_words, says

# How validation notes name one item of a list field: "The 4th participant: ...".
LABELS = {"participants.item": "participant"}

REASON_KEPT = "give a reason; it is kept with the retro."
_TOO_LONG = re.compile(r"at most (?P<limit>\d+) characters")


def names(people: Sequence[str]) -> str:
    """["Ann", "Bob", "Cy"] → "Ann, Bob and Cy"."""
    people = list(people) or ["Someone"]
    return people[0] if len(people) == 1 else f"{', '.join(people[:-1])} and {people[-1]}"


def _past_deadline(_error: HindsightError, facts: Mapping[str, Any]) -> str:
    due = f"The retro is due by {facts['deadline']}." if facts.get("deadline") else "That is after the retro's deadline."
    return f"{due} To hold it later, {REASON_KEPT}"


def _spectators(_error: HindsightError, facts: Mapping[str, Any]) -> str:
    return f"{names(facts.get('spectators') or [])} held no role in the incident. To invite them anyway, {REASON_KEPT}"


def _involved(_error: HindsightError, facts: Mapping[str, Any]) -> str:
    who = facts.get("facilitator") or "That person"
    return (f"{who} held a role in the incident, so cannot facilitate its retro. This rule cannot be "
            "set aside: pick someone who held no role.")


says("retro_past_deadline", _past_deadline)
says("spectator_not_allowed", _spectators)
says("facilitator_involved", _involved)
says("unknown_person", "Someone picked is not known to Hindsight any more. Reload the page and pick again.")
says("retro_withdrawn", "This retro was withdrawn because its incident was reopened. "
                        "It is booked again when the incident is resolved; nothing was changed.")
says("not_a_time", "The meeting time is not a date and time. Pick a day and a time.")
says("time_skipped", lambda _error, facts: (
    f"There is no {facts.get('typed') or 'such time'} in {facts.get('zone') or 'this time zone'}: "
    "the clocks skip that hour. Pick another time."))


def refusal(error: HindsightError, **facts: Any) -> PageError:
    """`error` as the scheduling form shows it.

    `facts` (in words): deadline, spectators and facilitator by name, the time typed, the zone, and
    reasons_given, the reason boxes that were filled in (a note about the reason goes beside them).
    """
    shown = in_words(error, labels=LABELS, **facts)
    notes = dict(shown.fields)
    if "override_reason" in notes:
        note = notes.pop("override_reason")
        longest = _TOO_LONG.search(note)
        note = f"Too long: at most {longest['limit']} characters." if longest else f"The reason: {note}"
        for box in facts.get("reasons_given") or ("spectator_reason", "deadline_reason"):
            notes[box] = note
    if "email address" in notes.get("facilitator", ""):
        notes["facilitator"] = "Not someone Hindsight knows: pick a person from the list."
    if error.code == "retro_past_deadline":
        notes["scheduled_for"] = f"After the deadline, {facts['deadline']}."
    elif error.code == "spectator_not_allowed":
        notes["participants"] = f"Held no role in the incident: {names(facts.get('spectators') or [])}."
    elif error.code == "facilitator_involved":
        notes["facilitator"] = "Held a role in the incident."
    elif error.code == "not_a_time":
        notes["scheduled_for"] = "Not a date and time."
    elif error.code == "time_skipped":
        notes["scheduled_for"] = f"The clocks skip this hour in {facts['zone']}."
    return PageError(code=shown.code, message=shown.message, fields=notes)


says("retro_not_ready", "The retro cannot be completed yet:")
says("retro_not_completed", "The retro is not completed, so there is nothing to reopen.")
says("retro_completed", "The retro is completed: reopen it to change it.")
says("factor_exists", "The retro already names that contributing factor: change its note by removing it and adding it again.")
says("unknown_factor", "Pick a contributing factor from the list.")


def not_ready_in_words(reasons: list[Mapping[str, Any]], *, titles: Mapping[int, str],
                       when: Callable[[str], str]) -> list[str]:
    """Each reason of a `retro_not_ready` refusal as a sentence a facilitator can act on.

    `titles` names the retro's action items by id; `when` says an ISO moment in words.
    """
    said = []
    for reason in reasons:
        code = reason.get("code")
        title = titles.get(reason.get("item_id") or 0, "An action item")
        if code == "meeting_not_scheduled":
            said.append("The meeting has not been scheduled yet: schedule it and hold it first.")
        elif code == "meeting_ahead":
            said.append(f"The meeting is on {when(reason['scheduled_for'])}: "
                        "complete the retro once it has happened.")
        elif code == "item_without_owner":
            said.append(f"“{title}” has no owner: give it one.")
        elif code == "item_without_due_date":
            said.append(f"“{title}” has no due date: give it one.")
        else:
            said.append("Something still stands in the way of completing the retro.")
    return said

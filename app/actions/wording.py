"""What the action-item pages say: refusals in words, each form field's note, and Jira's state in words.

The API keeps its codes (`owner_cannot_view`, `last_sync_error` with the adapter's text); these
pages never show them. Jira failures are told by their kind (see `app.actions.sync.status`),
never by the exception text, which stays in the logs and the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from app.actions.sync import SyncRun, SyncView
from app.core.errors import HindsightError
from app.core.wording import PageError, in_words, ordinal, says

When = Callable[[datetime], str]


def _owner_cannot_view(_error: HindsightError, facts: Mapping[str, Any]) -> str:
    who = facts.get("owner_name") or "That person"
    return (f"{who} cannot see this private incident, so cannot own its action items "
            "(reminders would reach someone outside the team). Pick someone from the list.")


says("owner_cannot_view", _owner_cannot_view)
says("unknown_person", "Hindsight does not know that person. Pick someone from the list.")
says("item_closed", "This item is done or won't be done: it gets no reminders, so there is nothing to snooze.")
says("not_owner", "Only the item's owner or an admin can snooze or wake its reminders.")
says("not_snoozed", "This item's reminders are not snoozed (any more): nothing to wake.")
says("jira_off", "Jira is not set up for this Hindsight, so there is nothing to send.")
says("admins_only", "Only admins can run the whole Jira sync. Ask one, or retry a single item from its page.")
says("ambiguous_person", "More than one person has that name: type the email of the one you mean.")

# Each form field's note when what was typed is not valid (validation's own text names types and values).
FIELD_NOTES = {
    "title": "Give it a title: one line, up to 300 characters.",
    "owner": "Pick a person from the list.",
    "due_date": "Pick a date.",
    "status": "Pick one of the statuses in the list.",
    "priority": "Pick one of the priorities in the list.",
    "reason": "Say why, in a few words (at least 3 characters).",
    "parts": "Write the title of each new item on a line of its own (20 at most).",
}
FIELD_LABELS = {
    "title": "Title", "owner": "Owner", "due_date": "Due date", "status": "Status", "priority": "Priority",
    "until": "Snooze until", "reason": "Reason", "parts": "New items",
}


def refusal(error: HindsightError, *, form_fields: tuple[str, ...], **facts: Any) -> PageError:
    """`error` as a form shows it: a message at the top, a note beside each field of the form it names.

    Validation notes are the page's own (`FIELD_NOTES`, or `facts["notes"]`); a split's
    `items.3.title` becomes a note on the "parts" field about the 4th new item.
    """
    said = in_words(error, **facts)
    own_notes = {**FIELD_NOTES, **facts.get("notes", {})}
    fields: dict[str, str] = {}
    for name, message in error.fields.items():
        parts = name.split(".")
        if parts[0] == "items" and len(parts) >= 3 and parts[1].isdigit():
            field = "parts" if parts[2] == "title" else parts[2]
            prefix = f"The {ordinal(int(parts[1]) + 1)} new item: " if field == "parts" else ""
        elif parts[0] == "items":
            field, prefix = "parts", ""
        else:
            field, prefix = parts[0], ""
        if field not in form_fields:
            continue
        if error.code == "validation_error" or field not in said.fields:
            note = own_notes.get(field, "Check this field.")
        else:
            note = said.fields[field]
        note = prefix + (note[:1].lower() + note[1:] if prefix else note[:1].upper() + note[1:])
        fields[field] = f"{fields[field]} {note}" if field in fields and note not in fields[field] else note
    message = said.message
    if error.code == "validation_error" and fields:
        names = ", ".join(FIELD_LABELS.get(name, name).lower() for name in fields)
        message = f"Some fields need another look ({names}): see the notes beside them."
    return PageError(code=error.code, message=message, fields=fields)


# -- Jira --------------------------------------------------------------------------------

_FAILURES = {
    "unreachable": "Hindsight could not reach Jira.",
    "timeout": "Jira did not answer in time.",
    "rate_limited": "Jira asked Hindsight to slow down (too many requests).",
    "server_error": "Jira had a problem of its own.",
    "rejected": "Jira refused the change: an admin may need to check the Jira settings (the details are in the logs).",
    "not_found": "Jira no longer has the issue, or Hindsight may not see it.",
    "bad_response": "Jira's answer could not be read.",
}


def failure_in_words(kind: str | None, *, refused: bool = False) -> str:
    """What went wrong with Jira, by the failure's kind; never the exception's text."""
    if kind == "unreachable" and refused:
        return "Jira did not answer (connection refused)."
    return _FAILURES.get(kind or "", "The last push to Jira failed.")


def sync_in_words(view: SyncView, *, when: When) -> str:
    """The item's Jira state as a sentence: "Pushed to Jira as HS-1." or what failed and when it is tried again."""
    key = view.jira_key
    if view.status == "off":
        return "Jira sync is off: this item is kept in Hindsight only."
    if view.status == "synced":
        return f"Pushed to Jira as {key}; up to date." if key else "Up to date with Jira."
    if view.status == "pending" or view.failure is None:
        return f"Changes wait to be sent to {key}." if key else "Waiting to be sent to Jira."
    retry = (f"Hindsight will retry at {when(view.next_attempt_at)}." if view.next_attempt_at is not None
             else "Hindsight will retry on its own.")  # "Hindsight" is a name: kept capitalised after the ";"
    return f"{failure_in_words(view.failure, refused=view.refused)} Nothing was lost; {retry}"


def sync_warning(view: SyncView) -> str | None:
    """A note about a push that went through with a caveat (the owner has no Jira account)."""
    if view.status == "synced" and view.raw and "no Jira account" in view.raw:
        return "The owner has no Jira account Hindsight can find, so the Jira issue is unassigned."
    return None


def run_in_words(run: SyncRun) -> tuple[str, str]:
    """A whole sync run as (flash category, sentence)."""
    if not run.enabled:
        return "warning", "Jira is not set up for this Hindsight, so there was nothing to send."
    done = (f"Jira sync done: {_count(run.created + run.adopted, 'issue')} created, "
            f"{_count(run.updated, 'issue')} updated, {_count(run.pulled, 'change')} taken from Jira.")
    if not run.failed:
        return "message", done
    failed = (f" {_count(run.failed, 'item')} could not be pushed: {failure_in_words(run.last_failure)}"
              " Nothing was lost; Hindsight will retry on its own.")
    return "error", done + failed


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"

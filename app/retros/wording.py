"""What the retros domain's refusals mean on a page (see app/core/wording.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.core.wording import says

says("retro_not_ready", "The retro cannot be completed yet:")
says("retro_not_completed", "The retro is not completed, so there is nothing to reopen.")
says("retro_completed", "The retro is completed: reopen it to change it.")
says("retro_withdrawn", "This retro was withdrawn because its incident was reopened; "
                        "it is booked again when the incident is resolved.")


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

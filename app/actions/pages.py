"""HTML pages of the actions domain: the action items you may see, and one item with its history."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from app.actions import service
from app.auth.pages import login_required
from app.core.dates import org_today
from app.core.pages import page
from app.db import get_session
from app.extensions import settings
from app.people.service import find_person

bp = Blueprint("actions_pages", __name__)


@bp.get("/action-items")
@page
@login_required
def items():
    """The action items the user may see, by due date; `?overdue=true` and `?retrospective_id=N` narrow it."""
    overdue = request.args.get("overdue") == "true"
    retro_id = request.args.get("retrospective_id", type=int)
    if retro_id is not None and not 1 <= retro_id <= 2**31 - 1:
        retro_id = None
    config = settings()
    found, total, next_cursor = service.list_items(
        get_session(), viewer=g.user, settings=config, overdue=True if overdue else None,
        retrospective_id=retro_id, cursor=request.args.get("cursor") or None,
    )
    return render_template(
        "pages/action_items.html", items=found, total=total, next_cursor=next_cursor, overdue=overdue,
        retro_id=retro_id, today=org_today(config),
    )


@bp.get("/action-items/<int:item_id>")
@page
@login_required
def item(item_id: int):
    """One action item with its whole history."""
    session = get_session()
    found = service.get_item(session, viewer=g.user, item_id=item_id)
    changes = service.history(session, item=found)
    # Owner changes keep emails: the page shows the people by name.
    emails = {e for c in changes if c.field == "owner" for e in (c.old, c.new) if e}
    people = {email: find_person(session, email) for email in emails}
    return render_template("pages/action_item.html", item=found, changes=changes,
                           people={e: p for e, p in people.items() if p is not None},
                           max_weeks=settings().action_items.max_weeks)

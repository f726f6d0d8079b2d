"""JSON routes of the reminders domain: run the digests now, snooze an item, see mail failures."""

from flask import Blueprint

from app.core.api import endpoint
from app.core.dates import org_today
from app.db import get_session
from app.extensions import settings
from app.reminders import flows, service
from app.reminders.schemas import (
    MailFailure, MailFailures, ReminderRun, ReminderRunRead, SnoozeCreate, SnoozeRead,
)

bp = Blueprint("reminders_api", __name__, url_prefix="/api/v1")


@bp.post("/reminders/run")
@endpoint("Send the reminder digests that are due now (admins)", body=ReminderRun, response=ReminderRunRead,
          tags=("reminders",), admin=True)
def run_reminders(user, body: ReminderRun):
    config = settings()
    today = org_today(config)
    body.check_near(today)
    as_of = body.as_of or today
    run = service.send_digests(get_session(), as_of=as_of, settings=config)
    return ReminderRunRead.model_validate(run)


@bp.get("/reminders/failures")
@endpoint("Emails SMTP has not taken yet, with the last error (admins)", response=MailFailures,
          tags=("reminders",), admin=True)
def mail_failures(user):
    found = service.mail_failures(get_session())
    return MailFailures(items=[MailFailure(**entry) for entry in found])


@bp.post("/action-items/<int:item_id>/snooze")
@endpoint("Snooze an action item's reminders until a date, with a reason (owner or admin)", body=SnoozeCreate,
          response=SnoozeRead, tags=("reminders",))
def snooze(user, item_id: int, body: SnoozeCreate):
    found = flows.snooze_item(get_session(), viewer=user, item_id=item_id, until=body.until, reason=body.reason,
                                settings=settings())
    return SnoozeRead.model_validate(found)


@bp.delete("/action-items/<int:item_id>/snooze")
@endpoint("End an action item's snooze (owner or admin)", status=204, tags=("reminders",))
def end_snooze(user, item_id: int):
    flows.end_snooze(get_session(), viewer=user, item_id=item_id)
    return None, 204

"""The incident pages' forms: what each shows at first, and the API body each post amounts to.

A form's body goes through the same schema as the API's (`app.core.api.validate`) and the same
flow or service, so a page can do nothing the API would refuse. Times are typed in the
organisation's time zone (`<input type="datetime-local">`) and sent on as UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.auth.models import User
from app.core.api import validate
from app.core.errors import ValidationFailed
from app.incidents.models import Incident, IncidentStatus, Severity, Visibility

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows

DECLARE_FIELDS = ("title", "severity", "commander", "visibility", "description", "started_at")
STATUS_FIELDS = ("status", "resolved_at")
EVENT_FIELDS = ("occurred_at", "text")
ROLE_FIELDS = ("email", "role", "started_at", "override_reason")

# Each form's fields as the page names them (for messages that name a field).
LABELS = {
    "title": "Title", "severity": "Severity", "commander": "Commander", "visibility": "Who can see it",
    "description": "Description", "started_at": "Started", "status": "Status", "resolved_at": "Resolved at",
    "occurred_at": "When", "text": "What happened", "email": "Person", "role": "Role",
    "override_reason": "Reason", "services": "Services",
}


def local_input(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as a datetime-local field shows it, in `zone`."""
    return moment.astimezone(zone).strftime(LOCAL_INPUT)


def to_utc(local: str, zone: ZoneInfo, *, field: str, errors: dict[str, str]) -> str | None:
    """A datetime-local value, read in `zone`, as an aware UTC ISO string; None, with a note in `errors`, if it is not one."""
    try:
        naive = datetime.strptime(local.strip(), LOCAL_INPUT)
        moment = naive.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        errors[field] = "Give a date and a time."
        return None
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        # The clocks skip this hour (the spring change to summer time).
        errors[field] = f"The clocks skip that hour in {zone.key}."
        return None
    return moment.isoformat()


def parse(schema: Any, body: dict[str, Any], errors: dict[str, str]) -> Any:
    """`body` validated by the API's `schema`; one ValidationFailed naming every bad field, times included."""
    try:
        data = validate(schema, body)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, code=exc.code, fields=exc.fields | errors) from None
    if errors:
        raise ValidationFailed("Some times are not dates and times.", fields=errors)
    return data


def read(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The posted values of `names`, stripped (what the form shows again if it is refused)."""
    return {name: (form.get(name) or "").strip() for name in names}


def picked_services(form: Any) -> list[str]:
    """The services ticked in a form's `services` boxes, by name."""
    return [name.strip() for name in form.getlist("services") if name.strip()]


# -- declare ------------------------------------------------------------------------------------

def declare_defaults(user: User, now: datetime, zone: ZoneInfo) -> dict[str, str]:
    """A new incident: SEV1, public, commanded by whoever declares it, started now."""
    return {
        "title": "", "severity": Severity.SEV1, "commander": user.person.email, "visibility": Visibility.PUBLIC,
        "description": "", "started_at": local_input(now, zone),
    }


def declare_body(
    form: Mapping[str, str], zone: ZoneInfo, errors: dict[str, str], *, services: list[str] | None = None,
) -> dict[str, Any]:
    """The `POST /incidents` body the declare form amounts to (with the services ticked)."""
    body: dict[str, Any] = {name: form[name] for name in ("title", "severity", "commander", "visibility") if form[name]}
    if services:
        body["services"] = services
    if form["description"]:
        body["description"] = form["description"]
    if form["started_at"]:
        body["started_at"] = to_utc(form["started_at"], zone, field="started_at", errors=errors)
    return body


# -- status and resolution ----------------------------------------------------------------------

def status_defaults(incident: Incident, now: datetime, zone: ZoneInfo) -> dict[str, str]:
    return {"status": incident.status, "resolved_at": local_input(incident.resolved_at or now, zone)}


def status_body(form: Mapping[str, str], incident: Incident, zone: ZoneInfo, errors: dict[str, str]) -> dict[str, Any]:
    """The `PATCH /incidents/{id}` body: the status, and the resolution time when it is (still) resolved.

    An unchanged resolution time is left out, so that saving the form again moves nothing.
    """
    body: dict[str, Any] = {}
    if form["status"] != incident.status:
        body["status"] = form["status"]
    if form["status"] == IncidentStatus.RESOLVED:
        unchanged = incident.resolved_at is not None and form["resolved_at"] == local_input(incident.resolved_at, zone)
        if form["resolved_at"] and not unchanged:
            body["resolved_at"] = to_utc(form["resolved_at"], zone, field="resolved_at", errors=errors)
    return body


# -- timeline -----------------------------------------------------------------------------------

def event_defaults(now: datetime, zone: ZoneInfo) -> dict[str, str]:
    return {"occurred_at": local_input(now, zone), "text": ""}


def event_body(form: Mapping[str, str], zone: ZoneInfo, errors: dict[str, str], *, author: str) -> dict[str, Any]:
    """One `POST /incidents/{id}/timeline` event, written by `author`."""
    body: dict[str, Any] = {"author": author}
    if form["text"]:
        body["text"] = form["text"]
    if form["occurred_at"]:
        body["occurred_at"] = to_utc(form["occurred_at"], zone, field="occurred_at", errors=errors)
    return body


# -- roles --------------------------------------------------------------------------------------

def role_defaults(now: datetime, zone: ZoneInfo) -> dict[str, str]:
    return {"email": "", "role": "", "started_at": local_input(now, zone), "override_reason": ""}


def role_body(form: Mapping[str, str], zone: ZoneInfo, errors: dict[str, str]) -> dict[str, Any]:
    """The `POST /incidents/{id}/roles` body."""
    body: dict[str, Any] = {name: form[name] for name in ("email", "role") if form[name]}
    if form["started_at"]:
        body["started_at"] = to_utc(form["started_at"], zone, field="started_at", errors=errors)
    if form["override_reason"]:
        body["override_reason"] = form["override_reason"]
    return body

"""The scheduling page of a retro: when it meets, who facilitates, who takes part, and its invitation.

People are picked by name; refusals of the retro rules are said in words (app/retros/wording.py),
with a reason box only where the rule may be set aside; the invitation the mail sends can be
downloaded, which is how people are invited when mail is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for

from app.auth.pages import login_required
from app.core.api import validate
from app.core.dates import org_now
from app.core.errors import HindsightError, NotFound, ValidationFailed
from app.core.pages import page
from app.core.templating import when_text
from app.core.wording import PageError
from app.db import get_session
from app.extensions import settings
from app.people.models import Person
from app.people.service import list_people
from app.reminders.mail import mail_enabled
from app.reminders.service import invitation_ics
from app.retros import flows, service
from app.retros.models import Retrospective
from app.retros.schemas import RetroUpdate
from app.retros.wording import refusal

bp = Blueprint("retro_schedule_pages", __name__)

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
FORM_FIELDS = ("scheduled_for", "facilitator", "participants")


@bp.route("/retrospectives/<int:retro_id>/schedule", methods=["GET", "POST"])
@page
@login_required
def schedule(retro_id: int):
    """Schedule the retro, pick its facilitator, edit its participants; refusals shown in words."""
    session = get_session()
    config = settings()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    saved = _form_of(retro)
    if request.method == "GET":
        return _schedule_page(retro, form=_proposed(retro, saved), loaded=saved)
    # A field missing from the post is left as it is; so is one the user did not change
    # from what the form showed (someone else may have changed it since).
    loaded = {name: request.form.get(f"loaded_{name}", saved[name]) for name in FORM_FIELDS}
    form = _posted(loaded)
    try:
        data = validate(RetroUpdate, _changes(loaded, form))
        if len(data.model_fields_set - {"override_reason"}) == 0:
            flash("Nothing changed.")
            return redirect(url_for("retro_schedule_pages.schedule", retro_id=retro.id))
        flows.update_retrospective(session, retro=retro, data=data, actor=g.user, settings=config)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        # Nothing of a refused change may stay: the service may have applied earlier fields.
        session.rollback()
        retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
        return _schedule_page(retro, form=form, loaded=loaded, error=exc), 422
    flash("The retrospective is updated.")
    if not mail_enabled(config):
        _say_mail_is_off(retro, previous=saved["scheduled_for"], changed=data.model_fields_set)
    return redirect(url_for("retro_schedule_pages.schedule", retro_id=retro.id))


@bp.get("/retrospectives/<int:retro_id>/invite.ics")
@page
@login_required
def invitation(retro_id: int):
    """The scheduled retro's calendar invitation, the same one the mail sends, as a file."""
    session = get_session()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    if retro.scheduled_for is None:
        raise NotFound("This retro is not scheduled yet, so there is no invitation.")
    ics = invitation_ics(session, retro=retro, settings=settings())
    return Response(ics, content_type="text/calendar; charset=utf-8; method=REQUEST", headers={
        "Content-Disposition": f'attachment; filename="retrospective-{retro.id}.ics"',
    })


def _say_mail_is_off(retro: Retrospective, *, previous: str, changed: set[str]) -> None:
    """With mail off, the invitations or cancellation the change would have sent were not: say so."""
    if retro.scheduled_for is not None and {"scheduled_for", "facilitator", "participants"} & changed:
        flash("Mail is off here, so no invitations were sent. Download the invitation below "
              "and send it to the participants.", "warning")
    elif retro.scheduled_for is None and previous:
        flash("Mail is off here, so nobody was told the meeting is off. Tell the participants yourself.", "warning")


def _form_of(retro: Retrospective) -> dict[str, str]:
    """What is saved, as the form's fields hold it."""
    when = retro.scheduled_for
    return {
        "scheduled_for": when.astimezone(settings().zone).strftime(LOCAL_INPUT) if when else "",
        "facilitator": retro.facilitator.email if retro.facilitator else "",
        "participants": "\n".join(p.person.email for p in retro.participants),
    }


def _proposed(retro: Retrospective, saved: dict[str, str]) -> dict[str, str]:
    """What the form offers: the saved values, else the suggestions (slot, facilitator, the response team)."""
    form = dict(saved, add_participant="", spectator_reason="", deadline_reason="")
    if not saved["scheduled_for"] and retro.suggested_slot is not None:
        form["scheduled_for"] = retro.suggested_slot.astimezone(settings().zone).strftime(LOCAL_INPUT)
    responders = retro.incident.responders()
    suggested = retro.suggested_facilitator
    if not saved["facilitator"] and suggested is not None and suggested not in responders:
        form["facilitator"] = suggested.email
    if not saved["participants"]:
        form["participants"] = "\n".join(person.email for person in responders)
    return form


def _emails(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _posted(loaded: dict[str, str]) -> dict[str, str]:
    """The posted form; participants are the ticked boxes plus the one added, when the boxes were shown."""
    form = {name: request.form.get(name, loaded[name]).strip() for name in ("scheduled_for", "facilitator")}
    if "participants_shown" in request.form:
        chosen = [email for value in request.form.getlist("participants") for email in _emails(value)]
    else:
        chosen = _emails(loaded["participants"])
    add = request.form.get("add_participant", "").strip()
    if add and add.lower() not in {email.lower() for email in chosen}:
        chosen.append(add)
    form["participants"] = "\n".join(chosen)
    form["add_participant"] = add
    for name in ("spectator_reason", "deadline_reason"):
        form[name] = request.form.get(name, "").strip()
    return form


def _changes(loaded: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
    """The PATCH body the form amounts to: only the fields the user changed from what it showed.

    Sending an unchanged field would re-check its rule (e.g. re-refuse spectators invited
    earlier with an override) or undo someone else's change, so unchanged fields are left out.
    """
    body: dict[str, Any] = {}
    if form["scheduled_for"] != loaded["scheduled_for"]:
        body["scheduled_for"] = _aware_utc(form["scheduled_for"]) if form["scheduled_for"] else None
    if form["facilitator"].lower() != loaded["facilitator"].lower():
        body["facilitator"] = form["facilitator"] or None
    emails = _emails(form["participants"])
    if {e.lower() for e in emails} != {e.lower() for e in _emails(loaded["participants"])}:
        body["participants"] = emails
    reasons = [form[name] for name in ("deadline_reason", "spectator_reason") if form[name]]
    if reasons:
        body["override_reason"] = " / ".join(dict.fromkeys(reasons))
    return body


def _aware_utc(local: str) -> str:
    """A datetime-local value, read in the organisation's time zone, as an aware UTC ISO string."""
    zone = settings().zone
    try:
        naive = datetime.strptime(local, LOCAL_INPUT)
        moment = naive.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed("The meeting time is not a date and time.", code="not_a_time",
                               fields={"scheduled_for": "is not a date and time"}) from None
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        # The clocks skip this hour (the spring change to summer time).
        raise ValidationFailed("The clocks skip that hour.", code="time_skipped",
                               fields={"scheduled_for": "does not exist in the organisation's zone"})
    return moment.isoformat()


@dataclass
class People:
    """Who the form offers, by name: facilitators in the order to pick them, participants, the rest."""

    suggested: Person | None
    pool: list[Person]
    others: list[Person]
    involved: list[Person]
    roles: dict[int, list[str]]
    participants: list[Person]
    addable: list[Person]
    named: dict[str, Person] = field(default_factory=dict)


def _people(retro: Retrospective, form: dict[str, str]) -> People:
    session = get_session()
    everyone = list_people(session)
    named = {person.email: person for person in everyone}
    incident = retro.incident
    involved = incident.responders()
    roles: dict[int, list[str]] = {}
    for role in incident.roles:
        roles.setdefault(role.person_id, []).append(role.role.replace("_", " "))
    suggested = retro.suggested_facilitator if retro.suggested_facilitator not in involved else None
    pool_emails = settings().retro.facilitator_pool
    pool = [named[email] for email in pool_emails if email in named and named[email] not in involved + [suggested]]
    others = [p for p in everyone if p not in involved and p not in pool and p != suggested]
    shown = involved + [p.person for p in retro.participants]
    shown += [named[email.lower()] for email in _emails(form["participants"]) if email.lower() in named]
    participants = list(dict.fromkeys(shown))
    addable = [p for p in everyone if p not in participants]
    return People(suggested=suggested, pool=pool, others=others, involved=involved, roles=roles,
                  participants=participants, addable=addable, named=named)


def _schedule_page(
    retro: Retrospective, *, form: dict[str, str], loaded: dict[str, str], error: HindsightError | None = None,
) -> str:
    config = settings()
    people = _people(retro, form)
    shown = _refusal(error, retro=retro, form=form, people=people, config=config) if error is not None else None
    code = error.code if error is not None else None
    return render_template(
        "pages/retro_schedule.html", retro=retro, incident=retro.incident, form=form, loaded=loaded, error=shown,
        fields=shown.fields if shown else {}, people=people, checked=set(_emails(form["participants"])),
        show_deadline_reason=code == "retro_past_deadline" or bool(form.get("deadline_reason")),
        timezone=config.timezone, mail_on=mail_enabled(config),
        suggested_slot=retro.suggested_slot.astimezone(config.zone).strftime(LOCAL_INPUT) if retro.suggested_slot else "",
    )


def _refusal(
    error: HindsightError, *, retro: Retrospective, form: dict[str, str], people: People, config: Any,
) -> PageError:
    """The refusal in words, with the facts it names: the deadline, and people by name."""
    def name_of(email: str) -> str:
        person = people.named.get(email.strip().lower())
        return person.name if person else email

    # Who the rule lets in without a reason: the response team and the facilitator the form names.
    allowed = {p.email for p in people.involved} | {form["facilitator"].lower()}
    return refusal(
        error, deadline=when_text(retro.deadline_at, zone=config.zone, current_year=org_now(config).year),
        spectators=[name_of(e) for e in _emails(form["participants"]) if e.lower() not in allowed],
        facilitator=name_of(form["facilitator"]) if form["facilitator"] else "",
        typed=_typed(form["scheduled_for"], config), zone=config.timezone,
        reasons_given=[name for name in ("spectator_reason", "deadline_reason") if form.get(name)],
    )


def _typed(local: str, config: Any) -> str:
    """What was typed in the meeting time, in words, for a refusal that names it."""
    try:
        naive = datetime.strptime(local, LOCAL_INPUT)
    except ValueError:
        return local
    return when_text(naive.replace(tzinfo=UTC), zone=UTC, current_year=org_now(config).year)

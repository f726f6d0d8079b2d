"""The scheduling page and the invitation download, through the Flask client with a signed-in cookie."""

import re
from datetime import UTC, datetime

import icalendar
import pytest

from app.db import get_session
from app.retros.models import Retrospective
from tests.fakes.smtp import smtp_server  # noqa: F401  (fixture)
from tests.retros.conftest import FRIDAY
from tests.web import csrf_token as _csrf
from tests.web import Page, sign_in

# What a page must never show: API field names, codes, ISO timestamps.
API_WORDS = re.compile(r"override_reason|scheduled_for|participants\.\d|_not_allowed|_past_deadline|_involved"
                       r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\+00:00")


def _retro(app, retro_id: int) -> dict:
    """What is saved now, as plain values."""
    with app.app_context():
        retro = get_session().get(Retrospective, retro_id)
        return {
            "scheduled_for": retro.scheduled_for, "status": retro.status,
            "facilitator": retro.facilitator.email if retro.facilitator else None,
            "participants": [p.person.email for p in retro.participants],
            "overrides": [(o.rule, o.reason) for o in retro.overrides],
        }


def _shown_form(html: Page) -> dict:
    """What a browser would post from the page as it stands."""
    form = {e.attrs["name"]: e.attrs.get("value", "") for e in html.find_all("input", type="hidden")}
    form |= {e.attrs["name"]: e.attrs.get("value", "") for e in html.find_all("input", type="text")}
    form |= {
        "scheduled_for": html.find("input", id="scheduled_for").attrs["value"],
        "facilitator": _selected(html, "facilitator"),
        "add_participant": _selected(html, "add_participant"),
        "participants": [e.attrs["value"] for e in html.find_all("input", type="checkbox") if "checked" in e.attrs],
    }
    return form


def _post(web, retro_id: int, **fields):
    """Load the page, change `fields` as a person would, post it."""
    page = web.get(f"/retrospectives/{retro_id}/schedule")
    assert page.status_code == 200
    return web.post(f"/retrospectives/{retro_id}/schedule", data=_shown_form(Page.of(page)) | fields)


def _selected(html: Page, select_id: str) -> str:
    """The value of the option selected in a select (options follow their select until the next one)."""
    inside, value = False, ""
    for element in html.elements:
        if element.tag == "select":
            inside = element.attrs.get("id") == select_id
        elif inside and element.tag == "option" and "selected" in element.attrs:
            value = element.attrs["value"] or ""
    return value


def _in_words(html: Page) -> None:
    """The page says it in words: no field names, codes, ISO times or zero-based indexes."""
    assert not API_WORDS.search(html.text), API_WORDS.search(html.text)


# -- who may see it ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["schedule", "invite.ics"])
def test_signed_out_visitors_sign_in_first_and_outsiders_get_404(app, client, admin, team, path):
    _incident, retro = team
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": "2026-11-24T09:00:00Z"}, headers=admin[1])
    url = f"/retrospectives/{retro['id']}/{path}"
    assert client.get(url).status_code == 302 and "/login" in client.get(url).headers["Location"]
    assert sign_in(app, "outsider@example.com").get(url).status_code == 404
    assert sign_in(app, "fran@example.com").get(url).status_code == 200
    assert sign_in(app, "responder@example.com").get(url).status_code == 200
    assert sign_in(app, "fran@example.com").get(f"/retrospectives/999999/{path}").status_code == 404


def test_an_outsider_cannot_change_a_private_retro(app, team):
    _incident, retro = team
    outsider = sign_in(app, "outsider@example.com")
    token = _csrf(outsider.get("/login").get_data(as_text=True))
    refused = outsider.post(f"/retrospectives/{retro['id']}/schedule", data={
        "csrf_token": token, "participants_shown": "1", "scheduled_for": "2026-11-24T10:00",
        "facilitator": "outsider@example.com", "participants": ["outsider@example.com"],
    })
    assert refused.status_code == 404
    assert _retro(app, retro["id"]) == {"scheduled_for": None, "status": "pending", "facilitator": "fran@example.com",
                                        "participants": ["responder@example.com"], "overrides": []}


def test_the_schedule_form_needs_its_csrf_token(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    response = web.post(f"/retrospectives/{retro['id']}/schedule", data={"scheduled_for": "2026-11-24T10:00"})
    assert response.status_code == 400
    assert "The form expired" in Page.of(response).text
    assert _retro(app, retro["id"])["scheduled_for"] is None


def test_the_incident_and_meeting_pages_link_to_it(app, team):
    incident, retro = team
    web = sign_in(app, "responder@example.com")
    for path in (f"/incidents/{incident['id']}", f"/retrospectives/{retro['id']}/facilitate"):
        Page.of(web.get(path)).find("a", href=f"/retrospectives/{retro['id']}/schedule")


# -- the form: people by name, suggestions filled in -----------------------------------------

def test_the_form_offers_people_by_name_with_the_suggestions_filled_in(app, team):
    _incident, retro = team
    html = Page.of(sign_in(app, "responder@example.com").get(f"/retrospectives/{retro['id']}/schedule"))
    # Not scheduled yet: the suggested slot (Monday 09:00 in Berlin, the start of the working day) is filled in.
    assert html.find("input", id="scheduled_for").attrs["value"] == "2026-11-23T09:00"
    assert "The suggested slot is filled in." in html.text
    assert html.find("input", name="loaded_scheduled_for").attrs["value"] == ""
    # The facilitator is picked by name; the commander is shown but may not be picked, with the reason.
    assert _selected(html, "facilitator") == "fran@example.com"
    assert html.find("option", value="fran@example.com").text == "Fran Facilitator"
    rita = html.find("option", value="responder@example.com")
    assert "disabled" in rita.attrs and rita.text == "Rita Responder — commander"
    assert html.find("optgroup", label="Held a role in the incident, so cannot facilitate")
    assert html.find("option", value="outsider@example.com").attrs["title"] == "outsider@example.com"
    # Participants are ticked by name; anyone else is added from a list, with a reason asked in words.
    box = html.find("input", type="checkbox", value="responder@example.com")
    assert "checked" in box.attrs
    assert "Rita Responder" in html.texts("label", class_="check")[0]
    assert "Otto Outsider" in html.find("select", id="add_participant").text
    assert html.find("label", for_="spectator_reason").text == "Why should someone who held no role join?"
    assert html.find_all("input", type="email") == [] and html.find_all("textarea") == []
    html.find("link", href="/static/schedule.css")
    html.find("script", src="/static/schedule.js")
    _in_words(html)


def test_saving_the_suggestions_schedules_the_retro(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    saved = _post(web, retro["id"])
    assert saved.status_code == 302
    after = _retro(app, retro["id"])
    assert after["scheduled_for"] == datetime(2026, 11, 23, 8, 0, tzinfo=UTC) and after["status"] == "scheduled"
    assert after["facilitator"] == "fran@example.com" and after["participants"] == ["responder@example.com"]


def test_with_an_empty_pool_someone_who_held_no_role_is_suggested_and_preselected(app, factory, admin):
    factory.user(email="responder@example.com", name="Rita Responder")
    factory.person(email="bea@example.com", name="Bea Bystander")
    _incident, retro = factory.resolved_incident(admin[1], resolved_at=FRIDAY, commander="responder@example.com")
    assert retro["facilitator"] is None and retro["suggested_facilitator"] == "admin@example.com"
    web = sign_in(app, "responder@example.com")
    html = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule"))
    suggested = html.find("option", value="admin@example.com")
    assert suggested.text == "Ada Admin (suggested)" and "selected" in suggested.attrs
    # The suggestion comes first, before the rest of the people who held no role.
    assert html.where("Ada Admin (suggested)") < html.where("Bea Bystander")
    assert "suggested: Ada Admin" in html.by_id("facilitator-hint").text
    assert _post(web, retro["id"]).status_code == 302
    assert _retro(app, retro["id"])["facilitator"] == "admin@example.com"


def test_local_time_is_read_in_the_organisation_zone_up_to_the_deadline(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    # 16:30 in Berlin is 15:30 UTC: exactly the deadline, allowed.
    response = _post(web, retro["id"], scheduled_for="2026-11-25T16:30")
    assert response.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["scheduled_for"] == datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    assert saved["status"] == "scheduled" and saved["overrides"] == []
    again = Page.of(web.get(response.headers["Location"]))
    assert "The retrospective is updated." in again.text and again.find_all("input", value="2026-11-25T16:30")
    assert "Wed 25 Nov, 16:30" in again.by_id("saved-time").text


# -- refusals in words ------------------------------------------------------------------------

def test_past_the_deadline_is_refused_in_words_then_booked_with_a_reason(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    assert Page.of(web.get(f"/retrospectives/{retro['id']}/schedule")).find_all(id="deadline_reason") == []
    refused = _post(web, retro["id"], scheduled_for="2026-11-25T16:31")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert html.by_id("refusal").text == ("The retro is due by Wed 25 Nov, 16:30. To hold it later, "
                                         "give a reason; it is kept with the retro.")
    assert html.by_id("refusal").attrs["role"] == "alert"
    assert html.by_id("scheduled_for-error").text == "After the deadline, Wed 25 Nov, 16:30."
    assert html.find_all("input", value="2026-11-25T16:31")  # what was typed is kept
    assert "The suggested slot is filled in." not in html.text
    assert html.find("label", for_="deadline_reason").text == "Why hold it after the deadline?"
    _in_words(html)
    assert _retro(app, retro["id"])["scheduled_for"] is None

    booked = _post(web, retro["id"], scheduled_for="2026-11-25T16:31",
                   deadline_reason="The database team is at a conference until Thursday.")
    assert booked.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["scheduled_for"] == datetime(2026, 11, 25, 15, 31, tzinfo=UTC)
    assert saved["overrides"] == [("retro_past_deadline", "The database team is at a conference until Thursday.")]
    shown = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule"))
    assert "Rules set aside" in shown.text and "Held after the deadline" in shown.texts("td")
    assert "The database team is at a conference until Thursday." in shown.text
    _in_words(shown)


def test_a_spectator_is_refused_by_name_and_nothing_else_is_saved(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _post(web, retro["id"], scheduled_for="2026-11-24T10:00", facilitator="admin@example.com",
                    add_participant="outsider@example.com")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert html.by_id("refusal").text == ("Otto Outsider held no role in the incident. To invite them anyway, "
                                         "give a reason; it is kept with the retro.")
    assert html.by_id("participants-error").text == "Held no role in the incident: Otto Outsider."
    # What was picked is kept: Otto is now a ticked box, and the reason box is right there.
    assert "checked" in html.find("input", type="checkbox", value="outsider@example.com").attrs
    assert html.find_all("input", id="spectator_reason")
    _in_words(html)
    # The page shows what is saved, not the valid half of the refused form.
    assert "Fran Facilitator" in html.by_id("saved-facilitator").text
    saved = _retro(app, retro["id"])
    assert saved["facilitator"] == "fran@example.com"
    assert saved["scheduled_for"] is None and saved["status"] == "pending"
    assert saved["participants"] == ["responder@example.com"]

    invited = _post(web, retro["id"], add_participant="outsider@example.com",
                    spectator_reason="Otto owns the payments service.")
    assert invited.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["participants"] == ["responder@example.com", "outsider@example.com"]
    assert saved["overrides"] == [("spectator_not_allowed", "Otto owns the payments service.")]
    # Saving the form again unchanged does not re-check the invited spectator.
    assert _post(web, retro["id"], scheduled_for="2026-11-24T10:00").status_code == 302
    assert _retro(app, retro["id"])["participants"] == ["responder@example.com", "outsider@example.com"]


def test_the_refusal_names_only_the_people_the_rule_refused(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    # Ada becomes facilitator in the same save, so she may take part; Otto may not.
    refused = _post(web, retro["id"], facilitator="admin@example.com",
                    participants=["responder@example.com", "admin@example.com", "outsider@example.com"])
    assert refused.status_code == 422
    assert Page.of(refused).by_id("participants-error").text == "Held no role in the incident: Otto Outsider."


def test_unticking_a_participant_removes_them(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    assert _post(web, retro["id"], participants=[]).status_code == 302
    assert _retro(app, retro["id"])["participants"] == []
    # With nobody set yet, the response team is ticked again by default.
    html = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule"))
    assert "checked" in html.find("input", type="checkbox", value="responder@example.com").attrs


def test_an_involved_facilitator_is_refused_by_name_with_no_way_around_it(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _post(web, retro["id"], facilitator="responder@example.com")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert html.by_id("refusal").text == ("Rita Responder held a role in the incident, so cannot facilitate its retro. "
                                         "This rule cannot be set aside: pick someone who held no role.")
    assert html.by_id("facilitator-error").text == "Held a role in the incident."
    assert html.find_all(id="deadline_reason") == []  # this rule is never set aside
    _in_words(html)
    assert _retro(app, retro["id"])["facilitator"] == "fran@example.com"


@pytest.mark.parametrize(("fields", "field", "note"), [
    ({"scheduled_for": "next tuesday"}, "scheduled_for", "Not a date and time."),
    ({"facilitator": "nobody@example.com"}, "facilitator", "no person has the email nobody@example.com"),
    ({"participants": ["responder@example.com", "ghost@example.com"]}, "participants",
     "The 2nd participant: no person has the email ghost@example.com"),
    ({"facilitator": "not an email"}, "facilitator", "Not someone Hindsight knows: pick a person from the list."),
    ({"add_participant": "outsider@example.com", "spectator_reason": "x" * 2001}, "spectator_reason",
     "Too long: at most 2000 characters."),
])
def test_bad_input_is_named_at_its_field_in_words(app, team, fields, field, note):
    _incident, retro = team
    response = _post(sign_in(app, "responder@example.com"), retro["id"], **fields)
    assert response.status_code == 422
    html = Page.of(response)
    assert note in html.by_id(f"{field}-error").text
    assert html.by_id("refusal").text
    _in_words(html)
    assert _retro(app, retro["id"])["scheduled_for"] is None


def test_a_withdrawn_retro_says_so(app, client, admin, team):
    incident, retro = team
    reopened = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "contained"}, headers=admin[1])
    assert reopened.status_code == 200, reopened.get_json()
    response = _post(sign_in(app, "responder@example.com"), retro["id"], scheduled_for="2026-11-24T10:00")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id("refusal").text.startswith("This retro was withdrawn because its incident was reopened.")
    _in_words(html)


@pytest.mark.parametrize(("when", "said"), [
    ("9999-12-31T23:59", None), ("0001-01-01T00:30", None),
    ("2026-03-29T02:30", "There is no Sun 29 Mar, 02:30 in Europe/Berlin: the clocks skip that hour."),
])
def test_impossible_meeting_times_are_named(app, team, when, said):
    _incident, retro = team
    response = _post(sign_in(app, "responder@example.com"), retro["id"], scheduled_for=when)
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id("scheduled_for-error").text
    if said:
        assert said in html.by_id("refusal").text
    _in_words(html)


def test_schedule_form_keeps_what_others_changed_and_what_it_did_not_send(app, client, auth, factory):
    incident, retro = factory.resolved_incident(auth)
    factory.person(email="fran@example.com")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "fran@example.com"}, headers=auth)
    web = sign_in(app, "admin@example.com")
    page = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule"))
    form = _shown_form(page)
    # Someone else invites a guest after the form was loaded.
    factory.person(email="guest@example.com")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"participants": [incident["commander"], "guest@example.com"],
                                                               "override_reason": "owns the fix"}, headers=auth)
    posted = web.post(f"/retrospectives/{retro['id']}/schedule", data=form | {"facilitator": "fran@example.com",
                                                                              "scheduled_for": retro["deadline_at"][:16]})
    assert posted.status_code == 302
    after = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert after["scheduled_for"] is not None
    assert "guest@example.com" in after["participants"] and after["facilitator"] == "fran@example.com"
    # A post with only its token changes nothing.
    bare = web.post(f"/retrospectives/{retro['id']}/schedule", data={"csrf_token": form["csrf_token"]})
    assert bare.status_code == 302
    again = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert again["facilitator"] == "fran@example.com" and again["participants"] == after["participants"]


# -- invitations: mail off, the download -----------------------------------------------------

def test_with_mail_off_saving_says_no_invitations_were_sent_and_offers_the_download(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    html = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule"))
    assert html.find_all(id="invite") == []  # nothing to download before it is scheduled
    saved = _post(web, retro["id"], scheduled_for="2026-11-24T10:00")
    page = Page.of(web.get(saved.headers["Location"]))
    warning = page.find("div", class_="flash warning")
    assert "no invitations were sent" in warning.text and warning.attrs["role"] == "status"
    assert "The retrospective is updated." in page.find("div", class_="flash").text
    page.find("a", href=f"/retrospectives/{retro['id']}/invite.ics")
    assert "mail is off here" in page.by_id("invite").text


def test_with_mail_off_unscheduling_says_nobody_was_told_and_other_changes_say_nothing(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    # Not scheduled, only the participants change: there was nothing to send.
    quiet = _post(web, retro["id"], scheduled_for="", add_participant="outsider@example.com", spectator_reason="owns it")
    assert quiet.status_code == 302
    assert Page.of(web.get(quiet.headers["Location"])).find_all("div", class_="flash warning") == []
    assert _post(web, retro["id"], scheduled_for="2026-11-24T10:00").status_code == 302
    web.get(f"/retrospectives/{retro['id']}/schedule")  # the flashes of that save are read
    off = _post(web, retro["id"], scheduled_for="")
    assert off.status_code == 302 and _retro(app, retro["id"])["status"] == "pending"
    warning = Page.of(web.get(off.headers["Location"])).find("div", class_="flash warning")
    assert "nobody was told the meeting is off" in warning.text


def test_the_download_is_the_meeting_invitation(app, team):
    _incident, retro = team
    web = sign_in(app, "fran@example.com")
    assert web.get(f"/retrospectives/{retro['id']}/invite.ics").status_code == 404  # not scheduled yet
    assert _post(web, retro["id"], scheduled_for="2026-11-24T10:00").status_code == 302
    response = web.get(f"/retrospectives/{retro['id']}/invite.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert f'filename="retrospective-{retro["id"]}.ics"' in response.headers["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.get_data())
    assert str(calendar["method"]) == "REQUEST"
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["uid"]) == f"retro-{retro['id']}@hindsight.test"
    assert event.decoded("dtstart") == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    people = sorted(str(a).removeprefix("mailto:") for a in event.get("attendee"))
    assert people == ["fran@example.com", "responder@example.com"]
    assert "Blame <b>systems</b>, not people." in str(event["description"])
    # A private incident's invitation names no detail beyond its number.
    assert "Payments" not in str(event["summary"])


def test_with_mail_on_the_download_matches_what_was_sent(make_app, smtp_server):  # noqa: F811
    mailing = make_app(timezone="Europe/Berlin", smtp=smtp_server.settings())
    from tests.conftest import Factory

    made = Factory(mailing)
    _user, headers = made.user(admin=True, email="admin@example.com", name="Ada Admin")
    made.user(email="fran@example.com", name="Fran Facilitator")
    _incident, retro = made.resolved_incident(headers, resolved_at=FRIDAY)
    web = sign_in(mailing, "admin@example.com")
    saved = _post(web, retro["id"], scheduled_for="2026-11-24T10:00", facilitator="fran@example.com")
    assert saved.status_code == 302
    page = Page.of(web.get(saved.headers["Location"]))
    assert page.find_all("div", class_="flash warning") == []
    mailed = icalendar.Calendar.from_ical(smtp_server.messages(to="fran@example.com")[-1].part("text/calendar"))
    downloaded = icalendar.Calendar.from_ical(web.get(f"/retrospectives/{retro['id']}/invite.ics").get_data())
    sent, got = next(iter(mailed.walk("VEVENT"))), next(iter(downloaded.walk("VEVENT")))
    for key in ("uid", "sequence", "dtstart", "dtend", "summary", "organizer"):
        assert sent.decoded(key) == got.decoded(key), key
    assert sorted(map(str, sent.get("attendee"))) == sorted(map(str, got.get("attendee")))


# -- the sayings themselves -------------------------------------------------------------------

@pytest.mark.parametrize("code", ["retro_past_deadline", "spectator_not_allowed", "facilitator_involved",
                                  "time_skipped", "unknown_person", "retro_withdrawn"])
def test_the_retro_sayings_read_in_words_even_without_the_pages_facts(code):
    from app.core.errors import RuleViolation
    from app.core.wording import in_words
    from app.retros import wording  # noqa: F401  (registers the sayings)

    error = RuleViolation("must happen by 2026-12-04T20:29:42+00:00; give an override_reason", code=code)
    message = in_words(error).message
    assert message.endswith(".") and not API_WORDS.search(message)


def test_people_are_named_in_a_sentence():
    from app.retros.wording import names

    assert names(["Ann"]) == "Ann" and names(["Ann", "Bob", "Cy"]) == "Ann, Bob and Cy"

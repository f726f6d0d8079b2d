"""Pages translate API errors: codes, dotted field names and zero-based indexes never reach a person."""

from app.core.errors import HindsightError, RuleViolation, ValidationFailed
from app.core.wording import in_words, ordinal, says


def test_an_indexed_field_is_shown_at_its_form_field_counted_from_one():
    error = ValidationFailed("invalid fields: participants.3", fields={"participants.3": "no such person"})
    shown = in_words(error, labels={"participants.item": "participant"})
    assert shown.fields == {"participants": "The 4th participant: no such person"}
    assert "participants" not in shown.message and ".3" not in shown.message


def test_a_registered_saying_uses_the_pages_facts():
    says("test_wording_code", lambda error, facts: f"Book it before {facts['deadline']}.")
    shown = in_words(RuleViolation("must happen by 2026-12-04T20:29:42+00:00", code="test_wording_code"),
                     deadline="Fri 4 Dec, 15:52")
    assert shown.message == "Book it before Fri 4 Dec, 15:52."


def test_an_unregistered_message_that_looks_like_api_output_is_not_shown():
    raw = "HTTPConnectionPool(host='jira', port=80): NewConnectionError"
    assert in_words(HindsightError(raw, code="jira_down_test")).message == (
        "That could not be done. Check the form and try again."
    )
    assert in_words(HindsightError("The title is too long.", code="plain_test")).message == "The title is too long."


def test_required_fields_read_as_something_to_do():
    shown = in_words(ValidationFailed("x", fields={"owner": "is required"}))
    assert shown.fields == {"owner": "Fill this in."}
    assert shown.message.startswith("Some fields need another look")


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]

"""integrations/chat.py against the loopback receiver: what each answer means, without the app."""

from __future__ import annotations

import json

import pytest

from integrations.chat import (
    ChatFailure, ChatMessage, SlackBot, SlackWebhook, TeamsWebhook, Timeouts, slack_channel, teams_card, teams_channel,
)
from tests.fakes.chat import BOT_TOKEN

MESSAGE = ChatMessage(headline="Retro booked <for> #1 & more", lines=("Due Fri 4 Dec, 15:52.",), link="http://h.test/r/1")
FAST = Timeouts(connect=2, read=2)


def kind_of(channel, message=MESSAGE) -> ChatFailure:
    with pytest.raises(ChatFailure) as caught:
        channel.send(message)
    return caught.value


def test_the_plain_text_fallback_holds_everything_and_mrkdwn_is_escaped(chat_server):
    SlackWebhook(url=f"{chat_server.url}/slack/webhook", timeouts=FAST).send(MESSAGE)
    [sent] = chat_server.received("/slack/webhook")
    assert sent.body["text"] == "Retro booked <for> #1 & more\nDue Fri 4 Dec, 15:52.\nOpen in Hindsight: http://h.test/r/1"
    assert sent.body["blocks"][0]["text"]["text"] == "*Retro booked &lt;for&gt; #1 &amp; more*"


@pytest.mark.parametrize(("status", "body", "kind"), [
    (400, "invalid_payload", "rejected"), (403, "action_prohibited", "auth"), (404, "no_service", "gone"),
    (404, "channel_not_found", "channel"), (410, "channel_is_archived", "channel"), (500, "rollup_error", "server_error"),
])
def test_a_slack_webhooks_error_answers_are_told_apart(chat_server, status, body, kind):
    chat_server.fail(status, body)
    failure = kind_of(SlackWebhook(url=f"{chat_server.url}/slack/webhook", timeouts=FAST))
    assert (failure.kind, failure.status) == (kind, status)


@pytest.mark.parametrize(("error", "kind"), [
    ("invalid_auth", "auth"), ("not_in_channel", "channel"), ("channel_not_found", "channel"),
    ("internal_error", "server_error"), ("msg_too_long", "rejected"),
])
def test_chat_post_message_ok_false_is_a_failure_of_its_kind(chat_server, error, kind):
    chat_server.slack_error(error)
    failure = kind_of(SlackBot(token=BOT_TOKEN, channel="#retros", api_url=f"{chat_server.url}/api", timeouts=FAST))
    assert (failure.kind, failure.status, failure.retry_after) == (kind, 200, None)
    assert error in failure.detail


@pytest.mark.parametrize("path", ["/api/chat.postMessage", "/slack/webhook", "/teams/webhook"])
def test_a_rate_limit_is_a_429_whose_retry_after_is_kept(chat_server, path):
    channel = {
        "/api/chat.postMessage": SlackBot(token=BOT_TOKEN, channel="#retros", api_url=f"{chat_server.url}/api",
                                          timeouts=FAST),
        "/slack/webhook": SlackWebhook(url=f"{chat_server.url}/slack/webhook", timeouts=FAST),
        "/teams/webhook": TeamsWebhook(url=f"{chat_server.url}/teams/webhook", timeouts=FAST),
    }[path]
    chat_server.rate_limit(retry_after="7")
    failure = kind_of(channel)
    assert (failure.kind, failure.status, failure.retry_after, failure.channel_wide) == ("rate_limited", 429, 7.0, True)
    channel.send(MESSAGE)  # the limit is over: taken
    assert len(chat_server.received(path)) == 1


def test_a_channel_the_bot_does_not_know_is_refused_as_slack_does(chat_server):
    failure = kind_of(SlackBot(token=BOT_TOKEN, channel="#elsewhere", api_url=f"{chat_server.url}/api", timeouts=FAST))
    assert (failure.kind, failure.channel_wide) == ("channel", True)
    assert "channel_not_found" in failure.detail


def test_the_stand_ins_refuse_what_slack_and_teams_would(chat_server):
    """The stand-in is strict, so the tests that it takes our messages mean something."""
    import requests

    def post(path, body):
        return requests.post(f"{chat_server.url}{path}", json=body, timeout=5)

    answer = post("/slack/webhook", {"blocks": []})
    assert (answer.status_code, answer.text) == (400, "no_text")
    answer = post("/api/chat.postMessage", {"channel": "#retros", "text": "Hi"})
    assert (answer.status_code, answer.json()) == (200, {"ok": False, "error": "invalid_auth"})
    assert chat_server.received(ok_only=True) == []


GOOD_CARD = teams_card(MESSAGE)


def _broken(change):
    card = json.loads(json.dumps(GOOD_CARD))
    change(card)
    return card


@pytest.mark.parametrize("body", [
    {"text": "Plain text, as a Slack webhook takes it"},
    _broken(lambda card: card.update(type="event")),
    _broken(lambda card: card.update(attachments=[])),
    _broken(lambda card: card["attachments"][0].update(contentType="application/vnd.microsoft.card.hero")),
    _broken(lambda card: card["attachments"][0]["content"].update(type="HeroCard")),
    _broken(lambda card: card["attachments"][0]["content"].pop("version")),
    _broken(lambda card: card["attachments"][0]["content"].update(body="Retro booked")),
], ids=["not-a-card", "type", "no-attachment", "content-type", "card-type", "version", "body"])
def test_the_teams_stand_in_takes_only_an_adaptive_card_message(chat_server, body):
    import requests

    url = f"{chat_server.url}/teams/webhook"
    assert requests.post(url, json=GOOD_CARD, timeout=5).status_code == 202
    answer = requests.post(url, json=body, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidRequestContent"


def test_a_card_teams_refuses_is_a_rejected_message(chat_server):
    chat_server.fail(400, '{"error": {"code": "InvalidRequestContent"}}')
    failure = kind_of(TeamsWebhook(url=f"{chat_server.url}/teams/webhook", timeouts=FAST))
    assert (failure.kind, failure.status, failure.channel_wide) == ("rejected", 400, False)


def test_a_wrong_bot_token_is_refused_as_slack_does(chat_server):
    failure = kind_of(SlackBot(token="xoxb-wrong", channel="#retros", api_url=f"{chat_server.url}/api", timeouts=FAST))
    assert failure.kind == "auth" and failure.channel_wide


def test_teams_takes_our_adaptive_card(chat_server):
    teams = TeamsWebhook(url=f"{chat_server.url}/teams/webhook", timeouts=FAST)
    teams.send(MESSAGE)
    [sent] = chat_server.received("/teams/webhook")
    assert sent.body["attachments"][0]["content"]["body"][0] == {
        "type": "TextBlock", "text": "Retro booked <for> #1 & more", "weight": "Bolder", "wrap": True,
    }
    assert sent.body["attachments"][0]["content"]["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in Hindsight", "url": "http://h.test/r/1"},
    ]


def test_a_channel_without_settings_is_off_and_said_once(caplog):
    import logging

    from integrations import off

    off._said.discard("slack")
    off._said.discard("teams")
    with caplog.at_level(logging.INFO, logger="integrations.chat"):
        for _ in range(3):
            assert slack_channel(webhook_url="", bot_token="", channel="", api_url="", timeouts=FAST) is None
            assert teams_channel(webhook_url="", timeouts=FAST) is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "Slack notifications are off", "Microsoft Teams notifications are off",
    ]
    assert isinstance(slack_channel(webhook_url="http://x/hook", bot_token=BOT_TOKEN, channel="#c", api_url="",
                                    timeouts=FAST), SlackWebhook)

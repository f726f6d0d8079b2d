"""integrations/chat.py against the loopback receiver: what each answer means, without the app."""

from __future__ import annotations

import pytest

from integrations.chat import ChatFailure, ChatMessage, SlackBot, SlackWebhook, TeamsWebhook, Timeouts, slack_channel, teams_channel
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
    ("invalid_auth", "auth"), ("not_in_channel", "channel"), ("internal_error", "server_error"),
    ("msg_too_long", "rejected"), ("ratelimited", "rate_limited"),
])
def test_chat_post_message_ok_false_is_a_failure_of_its_kind(chat_server, error, kind):
    chat_server.slack_error(error, retry_after="7")
    failure = kind_of(SlackBot(token=BOT_TOKEN, channel="#retros", api_url=f"{chat_server.url}/api", timeouts=FAST))
    assert failure.kind == kind
    assert failure.retry_after == (7.0 if kind == "rate_limited" else None)


def test_a_wrong_bot_token_is_refused_as_slack_does(chat_server):
    failure = kind_of(SlackBot(token="xoxb-wrong", channel="#retros", api_url=f"{chat_server.url}/api", timeouts=FAST))
    assert failure.kind == "auth" and failure.channel_wide


def test_teams_takes_an_adaptive_card_and_a_429_carries_its_wait(chat_server):
    teams = TeamsWebhook(url=f"{chat_server.url}/teams/webhook", timeouts=FAST)
    teams.send(MESSAGE)
    [sent] = chat_server.received("/teams/webhook")
    assert sent.body["attachments"][0]["content"]["body"][0] == {
        "type": "TextBlock", "text": "Retro booked <for> #1 & more", "weight": "Bolder", "wrap": True,
    }
    chat_server.fail(429, "Too many requests", retry_after="45")
    failure = kind_of(teams)
    assert (failure.kind, failure.retry_after, failure.channel_wide) == ("rate_limited", 45.0, True)


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

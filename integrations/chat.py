"""Chat channels: Slack (incoming webhook or bot token), Slack-compatible webhooks (Mattermost), Microsoft Teams.

What the app needs is one call, `ChatChannel.send(message)`, taking a plain `ChatMessage`
and raising `ChatFailure` with a `kind` a page can put in words. Slack gets Block Kit with
a plain-text `text` fallback (what notifications, Mattermost and screen readers show);
Teams gets an Adaptive Card through a Workflows webhook. Every request has a connect and
a read timeout; nothing is retried here (the app's outbox retries, with backoff).

Facts this relies on (Slack's "Handling errors" of incoming webhooks, its Web API rate-limit
guide): an incoming webhook answers 200 "ok", and errors with a 4xx status and a plain-text
body (400 `invalid_payload`, 403 `action_prohibited`, 404 `channel_not_found` or `no_service`,
410 `channel_is_archived`); `chat.postMessage` answers every error with 200 and
`{"ok": false, "error": "..."}` (`invalid_auth`, `channel_not_found`, ...), except rate limiting;
both rate-limit with 429 and `Retry-After` in seconds. A Teams Workflows webhook answers 202
(or 200) when it took the card, 400 when the body is not an Adaptive Card message.
A channel not configured is off: `slack_channel`/`teams_channel` return None and say so once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from integrations.http import retry_after_seconds
from integrations.off import say_off_once

log = logging.getLogger(__name__)

# A failure of one of these kinds means the channel as a whole is not taking messages now:
# the rest of a run's messages to it wait for the next try instead of failing the same way.
CHANNEL_WIDE = ("unreachable", "timeout", "rate_limited", "auth", "channel", "gone")
# chat.postMessage errors, by what an admin has to do about them.
_SLACK_AUTH = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "missing_scope",
               "no_permission", "not_allowed_token_type"}
_SLACK_CHANNEL = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "restricted_action"}
_SLACK_SERVER = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


@dataclass(frozen=True)
class ChatMessage:
    """A notice, channel-neutral: a headline, a few plain lines, and a link to the page."""

    headline: str
    lines: tuple[str, ...] = ()
    link: str | None = None
    link_label: str = "Open in Hindsight"

    def text(self) -> str:
        """The plain-text form: Slack's fallback, what Mattermost shows, what Teams previews."""
        parts = [self.headline, *self.lines]
        if self.link:
            parts.append(f"{self.link_label}: {self.link}")
        return "\n".join(parts)

    def to_json(self) -> str:
        return json.dumps({"headline": self.headline, "lines": list(self.lines), "link": self.link,
                           "link_label": self.link_label})

    @classmethod
    def from_json(cls, raw: str) -> ChatMessage:
        data = json.loads(raw)
        return cls(headline=data["headline"], lines=tuple(data.get("lines") or ()), link=data.get("link"),
                   link_label=data.get("link_label") or "Open in Hindsight")


class ChatFailure(Exception):
    """The channel did not take the message.

    kind: "unreachable" (connection refused, DNS), "timeout", "rate_limited" (429; `retry_after`
    says how long to wait), "server_error" (5xx), "auth" (token or webhook refused), "channel"
    (Slack cannot post there), "gone" (the webhook no longer exists), "rejected" (the message was
    refused), "bad_response" (an answer that could not be read). `detail` is the raw text, for logs.
    """

    def __init__(self, kind: str, detail: str, *, status: int | None = None, retry_after: float | None = None,
                 refused: bool = False) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.refused = refused

    @property
    def channel_wide(self) -> bool:
        return self.kind in CHANNEL_WIDE


class ChatChannel(Protocol):
    """One place messages go to."""

    name: str

    def send(self, message: ChatMessage) -> None:
        """Deliver `message`; raises ChatFailure when the channel did not take it."""


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0


def slack_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    """Block Kit: the headline in bold, the lines, and a link button."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(message.headline)}*"}}]
    if message.lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(_mrkdwn(line) for line in message.lines)}})
    if message.link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": message.link_label}, "url": message.link},
        ]})
    return blocks


def teams_card(message: ChatMessage) -> dict[str, Any]:
    """The Workflows webhook's body: a message carrying one Adaptive Card."""
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": message.headline, "weight": "Bolder", "wrap": True}]
    body += [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in message.lines]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": body,
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card},
    ]}


@dataclass
class SlackWebhook:
    """A Slack incoming webhook, or a Slack-compatible one (Mattermost)."""

    url: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    name: str = "slack"

    def send(self, message: ChatMessage) -> None:
        response = _post(self.url, {"text": message.text(), "blocks": slack_blocks(message)}, {}, self.timeouts)
        _raise_for_status(response)


@dataclass
class SlackBot:
    """`chat.postMessage` with a bot token to one channel."""

    token: str
    channel: str
    api_url: str = "https://slack.com/api"
    timeouts: Timeouts = field(default_factory=Timeouts)
    name: str = "slack"

    def send(self, message: ChatMessage) -> None:
        body = {"channel": self.channel, "text": message.text(), "blocks": slack_blocks(message), "unfurl_links": False}
        headers = {"Authorization": f"Bearer {self.token}"}
        response = _post(f"{self.api_url.rstrip('/')}/chat.postMessage", body, headers, self.timeouts)
        _raise_for_status(response)
        try:
            answer = response.json()
        except ValueError:
            raise ChatFailure("bad_response", f"not JSON: {response.text[:200]!r}", status=response.status_code) from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            error = str(answer.get("error", "unknown")) if isinstance(answer, dict) else "unknown"
            raise _slack_api_failure(error, response)


@dataclass
class TeamsWebhook:
    """A Microsoft Teams Workflows webhook taking an Adaptive Card."""

    url: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    name: str = "teams"

    def send(self, message: ChatMessage) -> None:
        _raise_for_status(_post(self.url, teams_card(message), {}, self.timeouts))


def slack_channel(*, webhook_url: str, bot_token: str, channel: str, api_url: str,
                  timeouts: Timeouts) -> ChatChannel | None:
    """The Slack channel the settings describe (a webhook wins over a bot token); None = off, said once."""
    if webhook_url:
        return SlackWebhook(url=webhook_url, timeouts=timeouts)
    if bot_token and channel:
        return SlackBot(token=bot_token, channel=channel, api_url=api_url, timeouts=timeouts)
    say_off_once(log, "slack", "Slack notifications are off: set HINDSIGHT_SLACK_WEBHOOK_URL, or "
                 "HINDSIGHT_SLACK_BOT_TOKEN and HINDSIGHT_SLACK_CHANNEL, to turn them on")
    return None


def teams_channel(*, webhook_url: str, timeouts: Timeouts) -> ChatChannel | None:
    """The Teams channel of the settings; None = off, said once."""
    if webhook_url:
        return TeamsWebhook(url=webhook_url, timeouts=timeouts)
    say_off_once(log, "teams", "Microsoft Teams notifications are off: set HINDSIGHT_TEAMS_WEBHOOK_URL to turn them on")
    return None


def _mrkdwn(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup: what people typed is shown as typed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _post(url: str, body: dict[str, Any], headers: dict[str, str], timeouts: Timeouts) -> requests.Response:
    try:
        return requests.post(
            url, json=body, headers={"Content-Type": "application/json; charset=utf-8", **headers},
            timeout=(timeouts.connect, timeouts.read), allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise ChatFailure("timeout", _redacted(str(exc), url)) from None
    except requests.ConnectionError as exc:
        text = _redacted(str(exc), url)
        refused = "refused" in text.lower() or "errno 111" in text.lower()
        raise ChatFailure("unreachable", text, refused=refused) from None
    except requests.RequestException as exc:
        raise ChatFailure("unreachable", _redacted(str(exc), url)) from None


def _redacted(text: str, url: str) -> str:
    """`text` without the URL's path and query: a webhook URL's path (Slack) or query (Teams' `sig`) is its secret."""
    parts = urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    for piece in (secret, parts.path, parts.query):
        if piece and len(piece) > 1:
            text = text.replace(piece, "/…")
    return text


def _raise_for_status(response: requests.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {response.text[:200]}"
    if status == 429:
        raise ChatFailure("rate_limited", detail, status=status,
                          retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        raise ChatFailure("server_error", detail, status=status,
                          retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise ChatFailure("auth", detail, status=status)
    if status in (404, 410):
        text = response.text.strip()
        raise ChatFailure("channel" if text in _SLACK_CHANNEL else "gone", detail, status=status)
    raise ChatFailure("rejected", detail, status=status)


def _slack_api_failure(error: str, response: requests.Response) -> ChatFailure:
    detail = f"chat.postMessage: {error}"
    if error == "ratelimited":  # Slack says so with a 429 (above); a Slack-compatible server may say it with 200
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        return ChatFailure("rate_limited", detail, status=response.status_code, retry_after=wait)
    if error in _SLACK_AUTH:
        return ChatFailure("auth", detail, status=response.status_code)
    if error in _SLACK_CHANNEL:
        return ChatFailure("channel", detail, status=response.status_code)
    if error in _SLACK_SERVER:
        return ChatFailure("server_error", detail, status=response.status_code)
    return ChatFailure("rejected", detail, status=response.status_code)

"""Chat failures in words, for the Integrations page and its test button: never the raw answer."""

from __future__ import annotations

_FAILURES = {
    "unreachable": "Hindsight could not reach {name}.",
    "timeout": "{name} did not answer in time.",
    "rate_limited": "{name} asked Hindsight to slow down (too many messages); it waits as long as asked.",
    "server_error": "{name} had a problem of its own.",
    "auth": "{name} refused Hindsight's credentials: check the token or webhook address in the settings.",
    "channel": "Slack cannot post to that channel: check the channel name, and that the app was added to it.",
    "gone": "The webhook address no longer exists: make a new one and update the setting.",
    "rejected": "{name} refused the message (the details are in the logs).",
    "bad_response": "{name}'s answer could not be read.",
}

CHANNEL_NAMES = {"slack": "Slack", "teams": "Microsoft Teams"}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.capitalize())


def failure_in_words(kind: str | None, *, channel: str, refused: bool = False, retried: bool = True) -> str:
    """What went wrong with a chat channel, by the failure's kind; `retried` False for a message sent once (a test)."""
    name = channel_name(channel)
    if kind == "unreachable" and refused:
        return f"{name} did not answer (connection refused)."
    if kind == "rate_limited" and not retried:
        return f"{name} asked Hindsight to slow down (too many messages): try again in a minute."
    return _FAILURES.get(kind or "", "The last message to {name} was not sent.").format(name=name)

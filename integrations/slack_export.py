"""Read a Slack workspace export (a .zip or its unpacked folder) for reaction-marked messages.

A message's text comes back as a person reads it in Slack, not as Slack stores it:
mentions become names, channel links `#name`, links `label (url)`, and `&lt; &gt; &amp;`
the characters they stand for.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath


class SlackExportError(ValueError):
    """The path is not a Slack export Hindsight can read; the message says why."""


@dataclass(frozen=True)
class MarkedMessage:
    channel: str
    ts: str
    occurred_at: datetime
    author: str | None
    text: str
    reactions: tuple[str, ...]

    @property
    def external_id(self) -> str:
        return f"slack:{self.channel}:{self.ts}"


def _files(path: Path) -> Iterator[tuple[PurePosixPath, bytes]]:
    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            yield PurePosixPath(file.relative_to(path).as_posix()), file.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if name.endswith(".json"):
                    yield PurePosixPath(name), archive.read(name)
    else:
        raise SlackExportError(f"{path} is neither a folder nor a .zip of a Slack export")


def read_marked_messages(path: str | Path, reactions: Iterable[str]) -> list[MarkedMessage]:
    """Messages carrying any of `reactions` (names without colons), in time order."""
    wanted = {name.strip(":") for name in reactions}
    path = Path(path)
    if not path.exists():
        raise SlackExportError(f"{path} does not exist")
    users: dict[str, str] = {}
    channels: dict[str, str] = {}
    pages: list[tuple[PurePosixPath, list[dict]]] = []
    for name, raw in _files(path):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise SlackExportError(f"{name} is not valid JSON: {exc}") from None
        if name.name == "users.json" and isinstance(data, list):
            try:
                users.update(_user_names(data))
            except (AttributeError, TypeError, ValueError) as exc:
                raise SlackExportError(f"{name}: a user cannot be read ({type(exc).__name__}: {exc})") from None
        elif name.name in _CONVERSATION_LISTS and isinstance(data, list):
            try:
                channels.update(_channel_names(data))
            except (AttributeError, TypeError, ValueError) as exc:
                raise SlackExportError(f"{name}: a channel cannot be read ({type(exc).__name__}: {exc})") from None
        elif len(name.parts) >= 2 and isinstance(data, list):
            pages.append((name, data))
    if not pages:
        raise SlackExportError(f"{path} holds no channel message files (channel/YYYY-MM-DD.json)")
    found: list[MarkedMessage] = []
    for name, messages in pages:
        channel = name.parts[-2]
        for message in messages:
            try:
                marked = _marked(channel, message, wanted, users, channels)
            except (AttributeError, TypeError, ValueError, OverflowError) as exc:
                raise SlackExportError(f"{name}: a message cannot be read ({type(exc).__name__}: {exc})") from None
            if marked is not None:
                found.append(marked)
    found.sort(key=lambda m: (m.occurred_at, m.channel, m.ts))
    return found


def _user_names(data: list) -> dict[str, str]:
    names: dict[str, str] = {}
    for user in data:
        profile = user.get("profile") or {}
        names[str(user.get("id", ""))] = str(profile.get("real_name") or user.get("real_name") or user.get("name") or "")
    return names


def _channel_names(data: list) -> dict[str, str]:
    return {str(channel.get("id", "")): str(channel.get("name") or "") for channel in data}


# The files of an export that list conversations (their ids and names), not messages.
_CONVERSATION_LISTS = frozenset({"channels.json", "groups.json", "mpims.json", "dms.json"})
# Slack's control sequences: <@U123>, <#C123|name>, <!here>, <https://x|label>; a `<` the
# person typed is stored as `&lt;`, so every `<` in the stored text opens one.
_SEQUENCE = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_BROADCASTS = frozenset({"here", "channel", "everyone"})


def _unescape(text: str) -> str:
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)


def readable_text(text: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """Slack's stored message text as a person reads it.

    `<@U123>` is the person's name from `users` (else the name in the sequence, else
    `@U123`), `<#C1|ops>` is `#ops`, `<!here>` is `@here`, `<https://x|text>` is
    `text (https://x)` (just `text` when it is the URL itself), `<https://x>` is
    `https://x`, and `&lt; &gt; &amp;` are `< > &`.
    """
    out: list[str] = []
    position = 0
    for match in _SEQUENCE.finditer(text):
        out.append(_unescape(text[position:match.start()]))
        out.append(_sequence(match.group(1), users, channels))
        position = match.end()
    out.append(_unescape(text[position:]))
    return "".join(out)


def _sequence(body: str, users: dict[str, str], channels: dict[str, str]) -> str:
    target, _, label = body.partition("|")
    label = _unescape(label)
    if target.startswith("@"):
        return users.get(target[1:]) or label.lstrip("@") or target
    if target.startswith("#"):
        return "#" + (channels.get(target[1:]) or label or target[1:])
    if target.startswith("!"):
        command = target[1:].split("^", 1)[0]
        if command in _BROADCASTS:
            return "@" + command
        return label or "@" + command  # <!subteam^S1|@oncall>, <!date^1700000000^{date}|Nov 14>
    url = _unescape(target)
    if not label or label in (url, url.split(":", 1)[-1].lstrip("/")):
        return label or url
    return f"{label} ({url})"


def _marked(
    channel: str, message: dict, wanted: set[str], users: dict[str, str], channels: dict[str, str]
) -> MarkedMessage | None:
    names = tuple(r.get("name", "") for r in message.get("reactions") or [])
    if not wanted.intersection(names) or "ts" not in message:
        return None
    author = (message.get("user_profile") or {}).get("real_name") or users.get(message.get("user", "")) or message.get("username")
    return MarkedMessage(
        channel=channel, ts=message["ts"],
        occurred_at=datetime.fromtimestamp(float(message["ts"]), tz=timezone.utc),
        author=author or None,
        text=readable_text(message.get("text") or "", users, channels).replace("\x00", "").strip() or "(no text)",
        reactions=names,
    )

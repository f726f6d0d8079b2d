"""What the facilitation page shows of the timeline: its events grouped into the incident's phases.

Phases come from what the incident records: detection (until it was detected, with the alerts
that opened the timeline), response (until it was resolved) and recovery (after). An incident
with neither a detection nor a resolution time is grouped by day instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from collections.abc import Sequence
from typing import Any, Optional
from zoneinfo import ZoneInfo

from html import escape

from markupsafe import Markup

from app.core.templating import when_text
from app.incidents.models import Incident

# An event logged within the second of a boundary (the "resolved" note) belongs to the phase it closes.
BOUNDARY_SLACK = timedelta(seconds=1)
# How many groups start open; the rest are collapsed to their heading and count.
OPEN_GROUPS = 2


@dataclass
class Phase:
    """A group of timeline events: `start` is the first moment it holds (None: from the beginning);
    `day` is the organisation's date it stands for when the timeline is grouped by day."""

    key: str
    title: str
    start: Optional[datetime] = None
    day: Optional[str] = None
    hint: str = ""
    events: Sequence[Any] = field(default_factory=list)
    open: bool = False
    lines: list[EventLine] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EventLine:
    """One timeline row as the page prints it, its words worked out once (5,000 rows must stay cheap):
    `day` is set on the first row of each day in its group, `at` is the ISO moment for scripts."""

    id: int
    at: str
    day: Optional[str]
    time: str
    kind: str
    text: str
    author: str

    def html(self, *, marked: bool) -> str:
        """The row, every value escaped. Written here rather than in the template because a long
        incident has thousands of rows and a template loop costs several times more; its shape
        matches the `event-row` template facilitate.js copies for events added in the meeting."""
        # html.escape (as Jinja escapes: & < > " ') gives plain strings, cheaper than Markup for each
        # value; `at` and `time` are ours (ISO and HH:MM), nothing in them to escape.
        day = f'<span class="day">{escape(self.day)}</span> ' if self.day else ""
        badge = '<span class="badge highlight-badge">Highlighted</span>' if marked else ""
        return (
            f'<tr class="event{" highlighted" if marked else ""}" data-id="{self.id:d}" data-at="{self.at}">'
            f'<td class="when">{day}<span class="time">{self.time}</span></td>'
            f'<td class="what"><span class="kind">{escape(self.kind)}</span> {escape(self.text)}</td>'
            f'<td class="who">{escape(self.author)}</td><td class="mark">{badge}</td></tr>'
        )


def rows_html(lines: list[EventLine], highlighted: set[int]) -> Markup:
    """A group's rows as one piece of HTML."""
    return Markup("\n".join(line.html(marked=line.id in highlighted) for line in lines))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def detection_end(incident: Incident, events: Sequence[Any]) -> Optional[datetime]:
    """When detection ended: the incident's detected_at, or later if the alerts that open the timeline run on."""
    found = _aware(incident.detected_at) if incident.detected_at else None
    for event in events:
        if event.kind != "detection":
            break
        moment = _aware(event.occurred_at)
        found = moment if found is None or moment > found else found
    return found


def timeline_phases(
    incident: Incident, events: Sequence[Any], *, zone: ZoneInfo, year: int,
) -> tuple[str, list[Phase]]:
    """("phase" or "day", the groups in time order, each with its events); the first two start open."""
    detected = detection_end(incident, events)
    resolved = _aware(incident.resolved_at) if incident.resolved_at else None
    if detected is None and resolved is None:
        mode, groups = "day", _by_day(events, zone)
    else:
        mode, groups = "phase", _by_phase(events, detected, resolved)
    for group in groups[:OPEN_GROUPS]:
        group.open = True
    for group in groups:
        group.lines = _lines(group.events, zone, year)
    return mode, groups


def _lines(events: Sequence[Any], zone: ZoneInfo, year: int) -> list[EventLine]:
    """The group's rows in words (`year`: the organisation's current one), each day said once."""
    lines: list[EventLine] = []
    last_day = None
    offsets: dict[datetime, timedelta] = {}
    for event in events:
        moment = _aware(event.occurred_at)
        # The zone's offset, looked up once a UTC quarter hour: clocks change only on such a boundary.
        quarter = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
        offset = offsets.get(quarter)
        if offset is None:
            offset = offsets[quarter] = moment.astimezone(zone).utcoffset() or timedelta(0)
        local = moment + offset
        day = local.date()
        label = None
        if day != last_day:
            label = when_text(day, zone=zone, current_year=year, part="day")
            last_day = day
        lines.append(EventLine(
            id=event.id, at=moment.isoformat(), day=label, time=f"{local.hour:02d}:{local.minute:02d}",
            kind=event.kind, text=event.text, author=event.author or "",
        ))
    return lines


def _by_phase(events: Sequence[Any], detected: Optional[datetime], resolved: Optional[datetime]) -> list[Phase]:
    phases: list[Phase] = []
    if detected is not None:
        phases.append(Phase("detection", "Detection", hint="until the incident was detected"))
    phases.append(Phase("response", "Response", start=detected + BOUNDARY_SLACK if detected else None,
                        hint="until it was resolved" if resolved else "from detection on"))
    if resolved is not None:
        phases.append(Phase("recovery", "Recovery", start=resolved + BOUNDARY_SLACK, hint="after it was resolved"))
    for event in events:
        moment = _aware(event.occurred_at)
        home = phases[0]
        for phase in phases:
            if phase.start is None or moment >= phase.start:
                home = phase
        home.events.append(event)
    return phases


def _by_day(events: Sequence[Any], zone: ZoneInfo) -> list[Phase]:
    days: dict[str, Phase] = {}
    for event in events:
        local = _aware(event.occurred_at).astimezone(zone)
        key = local.date().isoformat()
        if key not in days:
            days[key] = Phase(f"day-{key}", "", start=event.occurred_at, day=key)
        days[key].events.append(event)
    return list(days.values())

"""What the facilitation page shows of the timeline: its events grouped into the incident's phases.

Phases come from what the incident records: detection (until it was detected, with the alerts
that opened the timeline), response (until it was resolved) and recovery (after). An incident
with neither a detection nor a resolution time is grouped by day instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

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
    events: list[dict[str, Any]] = field(default_factory=list)
    open: bool = False


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def detection_end(incident: Incident, events: list[dict[str, Any]]) -> Optional[datetime]:
    """When detection ended: the incident's detected_at, or later if the alerts that open the timeline run on."""
    found = _aware(incident.detected_at) if incident.detected_at else None
    for event in events:
        if event["kind"] != "detection":
            break
        moment = _aware(event["occurred_at"])
        found = moment if found is None or moment > found else found
    return found


def timeline_phases(incident: Incident, events: list[dict[str, Any]], *, zone: ZoneInfo) -> tuple[str, list[Phase]]:
    """("phase" or "day", the groups in time order, each with its events); the first two start open."""
    detected = detection_end(incident, events)
    resolved = _aware(incident.resolved_at) if incident.resolved_at else None
    if detected is None and resolved is None:
        mode, groups = "day", _by_day(events, zone)
    else:
        mode, groups = "phase", _by_phase(events, detected, resolved)
    for group in groups[:OPEN_GROUPS]:
        group.open = True
    return mode, groups


def _by_phase(events: list[dict[str, Any]], detected: Optional[datetime], resolved: Optional[datetime]) -> list[Phase]:
    phases: list[Phase] = []
    if detected is not None:
        phases.append(Phase("detection", "Detection", hint="until the incident was detected"))
    phases.append(Phase("response", "Response", start=detected + BOUNDARY_SLACK if detected else None,
                        hint="until it was resolved" if resolved else "from detection on"))
    if resolved is not None:
        phases.append(Phase("recovery", "Recovery", start=resolved + BOUNDARY_SLACK, hint="after it was resolved"))
    for event in events:
        moment = _aware(event["occurred_at"])
        home = phases[0]
        for phase in phases:
            if phase.start is None or moment >= phase.start:
                home = phase
        home.events.append(event)
    return phases


def _by_day(events: list[dict[str, Any]], zone: ZoneInfo) -> list[Phase]:
    days: dict[str, Phase] = {}
    for event in events:
        local = _aware(event["occurred_at"]).astimezone(zone)
        key = local.date().isoformat()
        if key not in days:
            days[key] = Phase(f"day-{key}", "", start=event["occurred_at"], day=key)
        days[key].events.append(event)
    return list(days.values())

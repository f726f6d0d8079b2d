"""The meeting page's timeline rows: local times across a change of the clocks, and what is escaped."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from app.retros.meeting import rows_html, timeline_phases

BERLIN = ZoneInfo("Europe/Berlin")


def _event(number: int, at: datetime, text: str = "x") -> SimpleNamespace:
    return SimpleNamespace(id=number, occurred_at=at, kind="note", text=text, author=None)


def test_local_times_follow_the_clocks_going_back_within_a_quarter_hour():
    # Berlin's clocks go back at 01:00 UTC on 25 Oct 2026 (03:00 summer time becomes 02:00).
    start = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)
    events = [_event(n, start + timedelta(minutes=7 * n)) for n in range(8)]  # 00:40 .. 01:29 UTC
    incident = SimpleNamespace(detected_at=None, resolved_at=None)
    _mode, groups = timeline_phases(incident, events, zone=BERLIN, year=2026)
    times = [line.time for group in groups for line in group.lines]
    expected = [(e.occurred_at.astimezone(BERLIN)).strftime("%H:%M") for e in events]
    assert times == expected and "02:54" in times and "02:01" in times


def test_a_row_escapes_what_people_wrote():
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    incident = SimpleNamespace(detected_at=None, resolved_at=None)
    _mode, groups = timeline_phases(incident, [_event(1, at, '<b>"x" & \'y\'</b>')], zone=BERLIN, year=2026)
    html = str(rows_html(groups[0].lines, set()))
    assert "&lt;b&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/b&gt;" in html and "<b>" not in html

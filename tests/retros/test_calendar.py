from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from app.retros.calendar import WorkCalendar
from config import load_settings

UTC = timezone.utc


def calendar(**working_days):
    overrides = {"working_days": working_days} if working_days else {}
    tz = working_days.pop("timezone", None)
    if tz:
        overrides["timezone"] = tz
    return WorkCalendar.from_settings(load_settings(overrides=overrides, environ={}))


def test_working_days_skip_the_weekend_and_keep_the_time_of_day():
    friday = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    assert calendar().add_working_days(friday, 3) == datetime(2026, 12, 9, 15, 30, tzinfo=UTC)


def test_working_days_skip_public_holidays_of_the_configured_country():
    # Thanksgiving 2026 is Thursday 26 November in the US.
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    us = calendar(country="US")
    assert not us.is_working_day(date(2026, 11, 26))
    assert us.add_working_days(wednesday, 3) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert calendar().add_working_days(wednesday, 3) == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_extra_holidays_are_not_working_days():
    cal = calendar(extra_holidays=["2026-12-24", "2026-12-28"])
    assert cal.add_working_days(datetime(2026, 12, 23, 9, 0, tzinfo=UTC), 3) == datetime(2026, 12, 30, 9, 0, tzinfo=UTC)


def test_working_days_count_in_the_organisation_time_zone():
    # 23:30 UTC on a Friday is already Saturday in Berlin: the count starts from Saturday.
    cal = calendar(timezone="Europe/Berlin")
    resolved = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    deadline = cal.add_working_days(resolved, 3)
    assert deadline.astimezone(ZoneInfo("Europe/Berlin")) == datetime(2026, 12, 9, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))


def test_earliest_slot_moves_past_working_hours_and_weekends():
    cal = calendar()
    assert cal.earliest_slot(datetime(2026, 12, 4, 19, 30, tzinfo=UTC), 60) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert cal.earliest_slot(datetime(2026, 12, 7, 10, 10, tzinfo=UTC), 60) == datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    # A meeting must end by the end of the working day.
    assert cal.earliest_slot(datetime(2026, 12, 7, 16, 15, tzinfo=UTC), 60) == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_custom_weekend():
    cal = calendar(weekend=[5, 6])  # Friday and Saturday off
    thursday = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert cal.add_working_days(thursday, 1) == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

"""Deadlines and times as people see them: the company's calendar days, not UTC instants."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from storage.settings import get_settings


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_date(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def local_day(moment: datetime) -> str:
    """2026-12-03: the calendar day `moment` falls on in the company's time zone."""
    return local_date(moment).isoformat()


def local_time(moment: datetime) -> str:
    return moment.astimezone(_zone()).strftime("%Y-%m-%d %H:%M")


def end_of_day(day: date) -> datetime:
    """The last instant of `day` in the company's time zone: "due on day X" means all of X."""
    return datetime.combine(day, time.max, tzinfo=_zone())


def due_after(moment: datetime, days: int) -> datetime:
    """The end of the company day `days` days after the day `moment` falls on."""
    return end_of_day(local_date(moment) + timedelta(days=days))


def days_overdue(due: datetime | None, now: datetime) -> int:
    """Calendar days past the due day (1 on the day after it); 0 when not overdue."""
    if due is None or now <= due:
        return 0
    return (local_date(now) - local_date(due)).days


def is_working_day(day: date) -> bool:
    """Whether the company works on `day`: Monday to Friday for now.

    Every working-day rule (how recent a hand-off request is, how often a reminder repeats)
    counts through this one function, so a holiday calendar (mainland China's holidays and
    make-up working days) replaces it here and nowhere else.
    """
    return day.weekday() < 5


def working_days_between(earlier: date, later: date) -> int:
    """The working days after `earlier` up to and including `later` (0 when later <= earlier).

    Monday to Wednesday is 2; Friday to the Monday after is 1; Saturday to Sunday is 0.
    """
    count, day = 0, earlier
    while day < later:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def spoken_day(day: date, locale: str) -> str:
    """A day as people write it: 12月3日（周四）, or Thu 3 Dec in English."""
    if locale == "en":
        return format_date(day, "EEE d MMM", locale="en")
    return format_date(day, "M月d日（EEE）", locale="zh_CN")

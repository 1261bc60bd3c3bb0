"""Deadlines and times as people see them: the company's calendar days, not UTC instants."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from storage.settings import get_settings
from tasks.workdays import Calendar, company_calendar


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


def due_after_working_days(moment: datetime, days: int,
                           calendar: Calendar | None = None) -> datetime:
    """The end of the `days`th working day after the day `moment` falls on (that day itself
    when `days` is 0): 2 after a Wednesday is Friday, 2 after a Thursday the Monday after."""
    calendar = calendar or company_calendar()
    day = local_date(moment)
    for _ in range(days):
        day += timedelta(days=1)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
    return end_of_day(day)


def days_overdue(due: datetime | None, now: datetime) -> int:
    """Calendar days past the due day (1 on the day after it); 0 when not overdue."""
    if due is None or now <= due:
        return 0
    return (local_date(now) - local_date(due)).days


def is_working_day(day: date, calendar: Calendar | None = None) -> bool:
    """Whether the company works on `day`, by its calendar (`tasks.workdays`): mainland
    China's working days by default, less the company's closure days.

    Every working-day rule (deadlines, how recent a hand-off request is, when and how often
    a reminder goes) counts through the company's `Calendar`: here, in
    `due_after_working_days` and in `working_days_between`.
    """
    return (calendar or company_calendar()).is_working_day(day)


def working_days_between(earlier: date, later: date, calendar: Calendar | None = None) -> int:
    """The working days after `earlier` up to and including `later` (0 when later <= earlier).

    Monday to Wednesday is 2; Friday to the Monday after is 1; Saturday to Sunday is 0.
    """
    calendar = calendar or company_calendar()
    count, day = 0, earlier
    while day < later:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def spoken_day(day: date, locale: str) -> str:
    """A day as people write it: 12月3日（周四）, or Thu 3 Dec in English."""
    if locale == "en":
        return format_date(day, "EEE d MMM", locale="en")
    return format_date(day, "M月d日（EEE）", locale="zh_CN")

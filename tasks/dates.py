"""Deadlines and times as people see them: the company's calendar days, not UTC instants."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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

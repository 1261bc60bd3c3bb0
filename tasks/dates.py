"""Deadlines and times as people see them: the company's calendar days, not UTC instants."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from storage import clock
from storage.settings import get_settings
from tasks.i18n import N_, gettext, normalize_locale
from tasks.workdays import Calendar, company_calendar


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_date(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


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


# Babel patterns: 11月30日（周一） and Mon 30 Nov; with the year when it is not this year.
DAY_PATTERNS = {"zh_CN": ("M月d日（EEE）", "y年M月d日（EEE）"), "en": ("EEE d MMM", "EEE d MMM y")}


def spoken_day(day: date | datetime, locale: str, today: date | None = None) -> str:
    """A day as people write it: 12月3日（周四）, or Thu 3 Dec in English; the year is added
    when it is not this year's (2025年12月3日（周三））. A datetime counts as the company day
    it falls on; `today` defaults to the company's today (the one clock)."""
    if isinstance(day, datetime):
        day = local_date(day)
    today = today or local_date(clock.now())
    lang = normalize_locale(locale)
    short, full = DAY_PATTERNS[lang]
    return format_date(day, short if day.year == today.year else full, locale=lang)


def spoken_time(moment: datetime, locale: str, today: date | None = None) -> str:
    """A moment as people write it: 11月30日（周一）14:00, or Mon 30 Nov 14:00."""
    local = moment.astimezone(_zone())
    sep = " " if normalize_locale(locale) == "en" else ""
    return f"{spoken_day(local.date(), locale, today)}{sep}{local:%H:%M}"



FIRST_DAY = {-1: N_("joined on %(day)s"), 0: N_("joins today, %(day)s"),
             1: N_("joins on %(day)s")}
# The same, standing alone as a page's line (capitalised in English).
FIRST_DAY_LINES = {-1: N_("Joined on %(day)s"), 0: N_("Joins today, %(day)s"),
                   1: N_("Joins on %(day)s")}


def first_day(start: date, locale: str, today: date | None = None, line: bool = False) -> str:
    """The hire's first working day in the tense it needs: 已于11月30日（周一）入职 when it has
    passed, 将于12月1日（周二）入职 when it is still to come; `line` for a line of its own."""
    today = today or local_date(clock.now())
    tense = (start > today) - (start < today)
    phrase = (FIRST_DAY_LINES if line else FIRST_DAY)[tense]
    return gettext(locale, phrase) % {"day": spoken_day(start, locale, today)}

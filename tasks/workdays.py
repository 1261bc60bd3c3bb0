"""The company's working days: the calendar every deadline counts in.

The company chooses it in its catalog (`rules.yaml`: `calendar`, `closures`): mainland China's
working days (weekends, statutory holidays and the make-up working days the State Council
announces each year, from the `chinesecalendar` package), or every calendar day; either way
minus the company's own closure days. A year the package has no data for yet counts weekends
only, and `jieli up` and `jieli catalog check` say so (`missing_years_warning`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import chinese_calendar

from storage.catalog import CalendarKind, RulesFile
from tasks.env import get_catalog
from tasks.i18n import N_, gettext

# The years chinesecalendar knows the holidays and make-up working days of.
HOLIDAY_YEARS = frozenset(day.year for day in chinese_calendar.holidays)

MISSING_YEARS = N_("The holiday calendar (chinesecalendar %(version)s) has no data for "
                   "%(years)s: deadlines in that time count weekends only, without the "
                   "statutory holidays and make-up working days. Upgrade chinesecalendar once "
                   "the State Council has published them.")


class Calendar:
    """Which days are working days for the company."""

    def __init__(self, kind: CalendarKind, closures: Iterable[date] = ()):
        self.kind = kind
        self.closures = frozenset(closures)

    def is_working_day(self, day: date) -> bool:
        if day in self.closures:
            return False
        if self.kind == CalendarKind.CALENDAR_DAYS:
            return True
        if day.year not in HOLIDAY_YEARS:
            return day.weekday() < 5
        return bool(chinese_calendar.is_workday(day))

    def years_without_data(self, years: Iterable[int]) -> list[int]:
        """Those of `years` whose holidays this calendar needs and does not know."""
        if self.kind == CalendarKind.CALENDAR_DAYS:
            return []
        return sorted(set(years) - HOLIDAY_YEARS)


def calendar_of(rules: RulesFile) -> Calendar:
    return _calendar(rules.calendar, tuple(rules.closures))


@lru_cache(maxsize=16)
def _calendar(kind: CalendarKind, closures: tuple[date, ...]) -> Calendar:
    return Calendar(kind, closures)


def company_calendar() -> Calendar:
    """The calendar of the catalog the settings name."""
    return calendar_of(get_catalog().rules)


def missing_years_warning(calendar: Calendar, today: date, locale: str) -> str | None:
    """What to tell HR when this year's or next year's holidays are unknown, else None."""
    years = calendar.years_without_data((today.year, today.year + 1))
    if not years:
        return None
    return gettext(locale, MISSING_YEARS) % {
        "version": chinese_calendar.__version__, "years": ", ".join(map(str, years))}

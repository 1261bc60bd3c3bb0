"""Deadlines count the company's working days: mainland China's calendar by default (weekends,
statutory holidays, make-up working days), or every day, less the company's closure days.

The expected days are the facts of the State Council's notice on the 2026 holidays
(国办发明电〔2025〕7号), written out by hand:
- Spring Festival: 15–23 February off; Saturday 14 and Saturday 28 February are working days.
- Mid-Autumn Festival: 25–27 September off.
- National Day: 1–7 October off; Sunday 20 September and Saturday 10 October are working days.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from typer.testing import CliRunner

from deployments.cli import app
from storage import clock
from storage.catalog import DEFAULT_CATALOG_DIR, CalendarKind, load_catalog
from tasks.dates import (
    due_after_working_days,
    is_working_day,
    local_date,
    working_days_between,
)
from tasks.workdays import Calendar, calendar_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHINA = Calendar(CalendarKind.MAINLAND_CHINA)
EVERY_DAY = Calendar(CalendarKind.CALENDAR_DAYS)


def at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)


def due_day(start: date, days: int, calendar: Calendar | None = None) -> str:
    return local_date(due_after_working_days(at_nine(start), days, calendar)).isoformat()


def test_national_day_2026_is_off_and_its_make_up_days_are_worked():
    for day in range(1, 8):
        assert not is_working_day(date(2026, 10, day), CHINA), f"October {day}"
    assert is_working_day(date(2026, 9, 20), CHINA)  # a Sunday, worked
    assert is_working_day(date(2026, 10, 10), CHINA)  # a Saturday, worked
    assert not is_working_day(date(2026, 9, 25), CHINA)  # Mid-Autumn, a Friday
    # A hand-off due 2 working days after Wednesday 30 September is due Friday 9 October.
    assert due_day(date(2026, 9, 30), 2, CHINA) == "2026-10-09"
    # One working day after that Friday is the make-up Saturday.
    assert due_day(date(2026, 10, 9), 1, CHINA) == "2026-10-10"
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 8), CHINA) == 1


def test_spring_festival_2026():
    assert is_working_day(date(2026, 2, 14), CHINA)  # Saturday before the festival, worked
    for day in range(15, 24):
        assert not is_working_day(date(2026, 2, day), CHINA), f"February {day}"
    assert is_working_day(date(2026, 2, 24), CHINA)
    assert is_working_day(date(2026, 2, 28), CHINA)  # Saturday after it, worked
    # Thursday 12 February: Friday 13, Saturday 14, then the festival until Tuesday 24.
    assert due_day(date(2026, 2, 12), 2, CHINA) == "2026-02-14"
    assert due_day(date(2026, 2, 12), 3, CHINA) == "2026-02-24"


def test_two_working_days_after_wednesday_is_friday_and_after_thursday_monday():
    # The company's calendar, as the catalog sets it (the default catalog: mainland China).
    assert due_day(date(2026, 12, 2), 2) == "2026-12-04"
    assert due_day(date(2026, 12, 3), 2) == "2026-12-07"
    assert due_day(date(2026, 12, 3), 0) == "2026-12-03"  # 0: the same day
    # Late in the evening is still that day: 23:30 on Wednesday counts from Wednesday.
    late = datetime(2026, 12, 2, 23, 30, tzinfo=SHANGHAI)
    assert local_date(due_after_working_days(late, 2)).isoformat() == "2026-12-04"


def test_a_closure_day_moves_a_deadline(tmp_path: Path):
    copy = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, copy)
    rules = yaml.safe_load((copy / "rules.yaml").read_text(encoding="utf-8"))
    rules["closures"] = ["2026-12-04"]  # the company is closed on Friday 4 December
    (copy / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")

    company = calendar_of(load_catalog(copy).rules)
    assert not company.is_working_day(date(2026, 12, 4))
    assert due_day(date(2026, 12, 2), 2, company) == "2026-12-07"  # Wednesday: due Monday
    assert due_day(date(2026, 12, 2), 2, CHINA) == "2026-12-04"


def test_calendar_days_count_every_day_except_closures():
    assert all(EVERY_DAY.is_working_day(date(2026, 10, d)) for d in range(1, 11))
    assert due_day(date(2026, 12, 3), 2, EVERY_DAY) == "2026-12-05"  # Thursday: Saturday
    assert due_day(date(2026, 9, 30), 2, EVERY_DAY) == "2026-10-02"
    closed = Calendar(CalendarKind.CALENDAR_DAYS, [date(2026, 12, 5)])
    assert due_day(date(2026, 12, 3), 2, closed) == "2026-12-06"
    assert EVERY_DAY.years_without_data([2099]) == []


def test_a_year_without_holiday_data_counts_weekends_only():
    assert CHINA.years_without_data([2026, 2099]) == [2099]
    assert is_working_day(date(2099, 1, 1), CHINA)  # a Thursday; New Year unknown in 2099
    assert not is_working_day(date(2099, 1, 3), CHINA)  # a Saturday
    assert due_day(date(2098, 12, 31), 2, CHINA) == "2099-01-02"  # Wednesday: Friday


@pytest.fixture
def year():
    """Set Jieli's clock to a day of a given year, back to the system clock afterwards."""
    def set_year(y: int) -> None:
        clock.use_clock(clock.VirtualClock(at_nine(date(y, 6, 1))))

    yield set_year
    clock.use_clock(clock.SystemClock())


def test_catalog_check_warns_about_a_year_without_holiday_data(year, tmp_path: Path):
    year(2099)
    result = CliRunner().invoke(app, ["catalog", "check", str(DEFAULT_CATALOG_DIR)])
    assert result.exit_code == 0, result.output
    assert "目录无误" in result.stdout
    assert "2099, 2100" in result.stderr and "chinesecalendar" in result.stderr

    year(2025)  # 2025 and 2026 are known: nothing to say
    result = CliRunner().invoke(app, ["catalog", "check", str(DEFAULT_CATALOG_DIR)])
    assert result.exit_code == 0 and "chinesecalendar" not in result.output

    # A company that counts calendar days needs no holiday data.
    year(2099)
    copy = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, copy)
    rules = yaml.safe_load((copy / "rules.yaml").read_text(encoding="utf-8"))
    rules["calendar"] = "calendar-days"
    (copy / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = CliRunner().invoke(app, ["catalog", "check", str(copy)])
    assert result.exit_code == 0 and "chinesecalendar" not in result.output


def test_an_unknown_calendar_is_a_catalog_error(tmp_path: Path):
    copy = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, copy)
    rules = yaml.safe_load((copy / "rules.yaml").read_text(encoding="utf-8"))
    rules["calendar"] = "hong-kong"
    rules["closures"] = ["not a day"]
    (copy / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = CliRunner().invoke(app, ["catalog", "check", str(copy)])
    assert result.exit_code == 1
    assert "rules.yaml: calendar:" in result.output
    assert "rules.yaml: closures[0]:" in result.output


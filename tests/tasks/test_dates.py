"""Deadlines are company calendar days: due on a day means until that day ends."""

from __future__ import annotations

from datetime import UTC, datetime

from tasks.dates import days_overdue, due_after_working_days, local_date

# 2026-12-01 23:30 in Shanghai (UTC+8).
LATE_EVENING = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


def test_due_after_counts_company_days_and_ends_with_the_day():
    due = due_after_working_days(LATE_EVENING, 2)  # Tuesday 23:30: Thursday
    assert local_date(due).isoformat() == "2026-12-03"
    assert due.astimezone(UTC) > datetime(2026, 12, 3, 15, 59, tzinfo=UTC)


def test_days_overdue_is_calendar_days_after_the_due_day():
    due = due_after_working_days(LATE_EVENING, 2)  # end of 2026-12-03 in Shanghai
    assert days_overdue(due, datetime(2026, 12, 3, 15, 0, tzinfo=UTC)) == 0  # 23:00 local
    assert days_overdue(due, datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == 1  # 00:30 next day
    assert days_overdue(due, datetime(2026, 12, 6, 1, 0, tzinfo=UTC)) == 3
    assert days_overdue(None, LATE_EVENING) == 0


def test_working_days_are_monday_to_friday_and_counted_after_the_first_day():
    from datetime import date

    from tasks.dates import is_working_day, working_days_between

    friday, saturday, sunday, monday = (date(2026, 12, d) for d in (4, 5, 6, 7))
    assert is_working_day(friday) and is_working_day(monday)
    assert not is_working_day(saturday) and not is_working_day(sunday)
    assert working_days_between(friday, friday) == 0
    assert working_days_between(friday, sunday) == 0
    assert working_days_between(friday, monday) == 1
    assert working_days_between(date(2026, 12, 2), date(2026, 12, 4)) == 2  # Wed -> Fri
    assert working_days_between(monday, friday) == 0  # earlier is later: none


def test_days_read_as_people_write_them():
    from datetime import date

    from tasks.dates import spoken_day

    today = date(2026, 11, 28)
    assert spoken_day(date(2026, 11, 30), "zh_CN", today) == "11月30日（周一）"
    assert spoken_day(date(2026, 11, 30), "en", today) == "Mon 30 Nov"
    # Another year's day carries its year.
    assert spoken_day(date(2027, 1, 4), "zh_CN", today) == "2027年1月4日（周一）"
    assert spoken_day(date(2025, 12, 1), "en", today) == "Mon 1 Dec 2025"
    # An instant is the company's day it falls on: 2026-12-01 23:30 in Shanghai.
    assert spoken_day(LATE_EVENING, "zh_CN", today) == "12月1日（周二）"


def test_times_read_as_people_write_them():
    from datetime import date

    from tasks.dates import spoken_time

    today = date(2026, 11, 28)
    assert spoken_time(LATE_EVENING, "zh_CN", today) == "12月1日（周二）23:30"
    assert spoken_time(LATE_EVENING, "en", today) == "Tue 1 Dec 23:30"


def test_a_first_day_in_the_past_is_told_in_the_past_tense():
    from datetime import date

    from tasks.dates import first_day

    today = date(2026, 11, 28)
    assert first_day(date(2026, 10, 28), "zh_CN", today) == "已于10月28日（周三）入职"
    assert first_day(date(2026, 12, 1), "zh_CN", today) == "将于12月1日（周二）入职"
    assert first_day(today, "zh_CN", today) == "于今天11月28日（周六）入职"
    assert first_day(date(2026, 10, 28), "en", today) == "joined on Wed 28 Oct"
    assert first_day(date(2026, 12, 1), "en", today) == "joins on Tue 1 Dec"

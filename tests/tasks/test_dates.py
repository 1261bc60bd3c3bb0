"""Deadlines are company calendar days: due on a day means until that day ends."""

from __future__ import annotations

from datetime import UTC, datetime

from tasks.dates import days_overdue, due_after, local_day

# 2026-12-01 23:30 in Shanghai (UTC+8).
LATE_EVENING = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


def test_due_after_counts_company_days_and_ends_with_the_day():
    due = due_after(LATE_EVENING, 2)
    assert local_day(due) == "2026-12-03"
    assert due.astimezone(UTC) > datetime(2026, 12, 3, 15, 59, tzinfo=UTC)


def test_days_overdue_is_calendar_days_after_the_due_day():
    due = due_after(LATE_EVENING, 2)  # end of 2026-12-03 in Shanghai
    assert days_overdue(due, datetime(2026, 12, 3, 15, 0, tzinfo=UTC)) == 0  # 23:00 local
    assert days_overdue(due, datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == 1  # 00:30 next day
    assert days_overdue(due, datetime(2026, 12, 6, 1, 0, tzinfo=UTC)) == 3
    assert days_overdue(None, LATE_EVENING) == 0

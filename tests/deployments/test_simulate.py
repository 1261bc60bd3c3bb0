"""`jieli simulate` plays scenarios through the real system and says whether they held."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

WRONG_EXPECTATION = """
name: Expectation that does not hold
hire: {name: 周一, email: zhou.yi@example.com, position: python-developer, start: 2026-12-01}
ready: [culture]
steps:
  - {day: 1, quiz: {module: culture, score: 100}}
expect: {outcome: passed}
"""

# A company that counts every day: technology's hand-off, 2 days after Thursday 3 December, is
# due on Saturday 5 December (day 2), and the reminders and escalation come on weekend days too.
EVERY_DAY_COUNTS = """
name: Every calendar day counts
calendar: calendar-days
hire: {name: 郑三, email: zheng.san@example.com, position: python-developer, start: 2026-12-03}
ready: [culture, rules, safety]
steps:
  - {day: 8, quiz: {module: culture, score: 100}}
"""

STEP_THAT_CANNOT_BE_TAKEN = """
name: Quiz on a module that was never assigned
hire: {name: 吴二, email: wu.er@example.com, position: python-developer, start: 2026-12-01}
steps:
  - {day: 1, quiz: {module: python-basics, score: 90}}
"""


def test_an_owner_who_never_delivers_is_reminded_every_two_working_days_then_escalated(
        tmp_path, request):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_EXPECTATION, encoding="utf-8")
    stuck = tmp_path / "stuck.yaml"
    stuck.write_text(STEP_THAT_CANNOT_BE_TAKEN, encoding="utf-8")
    every_day = tmp_path / "every-day.yaml"
    every_day.write_text(EVERY_DAY_COUNTS, encoding="utf-8")
    # A short TMPDIR: the Prefect server's sockets under pytest's long tmp_path are too long.
    storage = Path(tempfile.mkdtemp(prefix="sim-"))
    request.addfinalizer(lambda: shutil.rmtree(storage, ignore_errors=True))
    result = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "simulate", "--json",
         str(EXAMPLES / "03-content-never-delivered.yaml"), str(wrong), str(stuck),
         str(every_day)],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, COLUMNS="200", TMPDIR=str(storage)))  # its storage lands here
    assert result.returncode == 1, result.stderr  # two of the four do not hold
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result.stderr[-3000:]
    never, wrong_result, stuck_result, every_day_result = (json.loads(line) for line in lines)

    assert never["ok"] is True and never["outcome"] == "failed"
    assert [(f["item"], f["cause"], f["responsible"]) for f in never["findings"]] == [
        ("coding-assignment", "content-not-delivered", "technology")]
    evidence = " ".join(never["findings"][0]["evidence"])
    assert "未交接" in evidence and "10 次" in evidence  # never delivered; 10 reminders
    owner_days = [r["day"] for r in never["reminders"]
                  if r["to"] == "wang.lei@example.com" and r["role"] == "owner"]
    # Due on day 2 (Thursday 3 December); reminded the day after, then every two working
    # days, never on a weekend: Friday, Tuesday, Thursday, Monday, ...
    assert owner_days == [3, 7, 9, 13, 15, 17, 21, 23, 27, 29]
    # Escalated two working days after the due day: Monday 7 December (day 6).
    escalations = {(r["to"], r["role"], r["day"]) for r in never["reminders"]
                   if r["role"] != "owner"}
    assert escalations == {("emily.chen@example.com", "appraiser", 6),
                           ("boss@example.com", "boss", 6)}

    # Every day counts: due on day 2 (Saturday), reminded on days 3 (Sunday), 5 and 7,
    # escalated on day 4 (Monday), two days late.
    assert every_day_result["ok"] is True, every_day_result
    handoff = [r for r in every_day_result["reminders"] if r["about"] == "python-basics"]
    assert [r["day"] for r in handoff if r["role"] == "owner"] == [3, 5, 7]
    assert {(r["to"], r["day"]) for r in handoff if r["role"] != "owner"} == {
        ("emily.chen@example.com", 4), ("boss@example.com", 4)}

    _every_email_is_dated_in_virtual_time(storage)

    assert wrong_result["ok"] is False and wrong_result["outcome"] == "pending"
    assert stuck_result["ok"] is False
    assert stuck_result["error"].startswith("day 1: quiz python-basics 90:")


def _every_email_is_dated_in_virtual_time(tmp_path: Path) -> None:
    """Walk the outbox of the whole simulated onboarding: Date and Message-ID on each."""
    import email
    from email.policy import default
    from email.utils import parsedate_to_datetime

    from sqlalchemy import create_engine, text

    (db,) = tmp_path.glob("jieli-simulate-*/scenario-0/jieli.db")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        rows = [(kind, raw) for kind, raw in c.execute(text(
            "select kind, message from outbox order by id"))]
    engine.dispose()
    kinds = {kind for kind, _ in rows}
    assert {"handoff-request", "assignment", "reminder", "escalation", "appraisal-request",
            "verdict"} <= kinds, kinds
    ids = set()
    for _kind, raw in rows:
        message = email.message_from_string(raw, policy=default)
        sent = parsedate_to_datetime(message["Date"])
        assert sent.tzinfo is not None and 2026 <= sent.year <= 2027  # the scenario's days
        assert str(sent.date()) >= "2026-11-30", message["Date"]
        ids.add(str(message["Message-ID"]))
    assert len(ids) == len(rows) and all(i.startswith("<") and "@" in i for i in ids)


# Format version 2 across the 2026 National Day holiday (1-7 October off, Saturday 10 October
# a make-up working day): python-basics is assigned on Monday 28 September; its coaching (2
# sessions within 10 working days) is never given, the hire never hands in the assignment nor
# takes the other quizzes.
NATIONAL_DAY = """
name: Practice owed across National Day
hire: {name: 国庆, email: guo.qing@example.com, position: python-developer, start: 2026-09-28}
ready: [culture, rules, safety]
steps:
  - {day: 0, deliver: python-basics}
  - {day: 1, quiz: {module: python-basics, score: 90}}
  - day: 30
    appraise:
      coding-assignment: {practice: 40}
expect:
  outcome: failed
  findings:
    - {item: coding-assignment, cause: coaching-not-given, responsible: technology}
"""


def test_practice_legs_count_working_days_across_national_day(tmp_path, request):
    """No reminder on a day off, and every due day an email names is a working day, by the
    holiday calendar itself (package chinesecalendar, read here as the oracle)."""
    import re
    from datetime import date, timedelta

    import chinese_calendar
    from sqlalchemy import create_engine, text

    scenario = tmp_path / "national-day.yaml"
    scenario.write_text(NATIONAL_DAY, encoding="utf-8")
    storage = Path(tempfile.mkdtemp(prefix="sim-"))
    request.addfinalizer(lambda: shutil.rmtree(storage, ignore_errors=True))
    result = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "simulate", "--json", str(scenario)],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, COLUMNS="200", TMPDIR=str(storage)))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    played = json.loads(result.stdout.splitlines()[0])
    assert played["ok"] is True, played
    start = date(2026, 9, 28)
    days = sorted({start + timedelta(days=r["day"]) for r in played["reminders"]})
    assert len(days) >= 5 and {r["about"] for r in played["reminders"]} >= {"python-basics"}
    assert all(chinese_calendar.is_workday(d) for d in days), days
    assert not [d for d in days if date(2026, 10, 1) <= d <= date(2026, 10, 7)]
    evidence = " ".join(played["findings"][0]["evidence"])
    # Ten working days after 28 September, the holiday skipped, the make-up Saturday counted.
    assert "10月16日" in evidence

    (db,) = storage.glob("jieli-simulate-*/scenario-0/jieli.db")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        raw = [m for (m,) in c.execute(text("select message from outbox"))]
    engine.dispose()
    import email
    from email.policy import default

    dues = []
    for message in (email.message_from_string(r, policy=default) for r in raw):
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        dues += [date(2026, int(m), int(d)) for m, d in
                 re.findall(r"(\d{1,2})月(\d{1,2})日（周.）(?:截止|前)", body)]
    assert len(dues) >= 5, "the emails must name due days, or this proves nothing"
    assert all(chinese_calendar.is_workday(d) for d in dues), sorted(set(dues))

"""The boss's reading of a run: a log line per pass and the legs table, in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from storage import clock
from tasks.reports.relay import Blocker, LegRow, RunView, changed_legs, legs_markdown, pass_story
from tasks.reports.verdict import Verdict

DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)  # 2026-12-04 23:00 in Shanghai


@pytest.fixture(autouse=True)
def in_december_2026() -> Iterator[None]:
    """Days of this year are written without the year: these tests happen in 2026."""
    clock.use_clock(clock.VirtualClock(datetime(2026, 12, 2, 2, tzinfo=UTC)))
    yield
    clock.use_clock(clock.SystemClock())


def study(module: str, title: str) -> Blocker:
    return Blocker(waiting_on="hire", who="王小明", kind="study", module=module,
                   module_title=title, since=DUE, due_at=DUE, days_overdue=0)


def view(*blockers: Blocker, complete: bool = False) -> RunView:
    return RunView(run_id=1, complete=complete, blockers=list(blockers), legs_done=3,
                   legs_total=12)


ROWS = [LegRow("handoff", "客户沟通", "市场部 李娜", "12月1日（周二）已交接"),
        LegRow("study", "客户沟通", "", "12月4日（周五）截止"),
        LegRow("appraisal", "周强", "", "未到考核日")]


def test_a_pass_says_what_changed_and_who_is_waited_on_once_per_person():
    before = legs_markdown([LegRow("handoff", "客户沟通", "市场部 李娜", "12月3日（周四）截止"),
                            *ROWS[1:]], "王小明", "zh_CN")
    changed = changed_legs(ROWS, before)
    line = pass_story(4, view(study("culture", "企业文化"), study("rules", "规章制度")),
                      changed, None, "zh_CN")
    assert line == ("第 4 轮检查：变化：客户沟通 资料交接 12月1日（周二）已交接；"
                    "待新员工 王小明 学习「企业文化」、「规章制度」并通过测验，12月4日（周五）截止")


def test_the_last_pass_states_the_verdict_and_who_answers_in_english_too():
    verdict = Verdict("failed", [{"responsible": "marketing"}, {"responsible": "unattributed"}])
    line = pass_story(9, view(complete=True), [], verdict, "en")
    assert line == "Pass 9: nothing changed; verdict: Failed; responsible: Marketing"


def test_the_legs_fit_a_phone_three_columns_at_most():
    markdown = legs_markdown(ROWS, "王小明", "zh_CN")
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert "| 客户沟通 | 市场部 李娜 | 12月1日（周二）已交接 |" in table_lines
    assert max(line.count("|") - 1 for line in table_lines) <= 3
    assert "## 试用期考核" in markdown and "| 周强 | 未到考核日 |" in markdown

"""The boss's reading of a run: a log line per pass and the legs table, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

from tasks.attribution import Verdict
from tasks.status import Blocker, LegRow, RunView, changed_legs, legs_markdown, pass_story

DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)  # 2026-12-04 23:00 in Shanghai


def study(module: str, title: str) -> Blocker:
    return Blocker(waiting_on="hire", who="王小明", kind="study", module=module,
                   module_title=title, since=DUE, due_at=DUE, days_overdue=0)


def view(*blockers: Blocker, complete: bool = False) -> RunView:
    return RunView(run_id=1, complete=complete, blockers=list(blockers), legs_done=3,
                   legs_total=12)


ROWS = [LegRow("handoff", "客户沟通", "市场部 李娜", "2026-12-01 已交接"),
        LegRow("study", "客户沟通", "", "2026-12-04 前"),
        LegRow("appraisal", "周强", "", "未到考核日")]


def test_a_pass_says_what_changed_and_who_is_waited_on_once_per_person():
    before = legs_markdown([LegRow("handoff", "客户沟通", "市场部 李娜", "2026-12-03 前"),
                            *ROWS[1:]], "王小明", "zh_CN")
    changed = changed_legs(ROWS, before)
    line = pass_story(4, view(study("culture", "企业文化"), study("rules", "规章制度")),
                      changed, None, "zh_CN")
    assert line == ("第 4 轮检查：变化：客户沟通 资料交接 2026-12-01 已交接；"
                    "待 王小明 完成「企业文化、规章制度」学习与测验，2026-12-04 前")


def test_the_last_pass_states_the_verdict_and_who_answers_in_english_too():
    verdict = Verdict("failed", [{"responsible": "marketing"}, {"responsible": "unattributed"}])
    line = pass_story(9, view(complete=True), [], verdict, "en")
    assert line == "Pass 9: nothing changed; verdict: Failed; responsible: marketing"


def test_the_legs_fit_a_phone_three_columns_at_most():
    markdown = legs_markdown(ROWS, "王小明", "zh_CN")
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert "| 客户沟通 | 市场部 李娜 | 2026-12-01 已交接 |" in table_lines
    assert max(line.count("|") - 1 for line in table_lines) <= 3
    assert "## 试用期考核" in markdown and "| 周强 | 未到考核日 |" in markdown

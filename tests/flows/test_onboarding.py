"""The relay core against a real Prefect server, runner, SMTP server and SQLite storage.

The tests of this module share one stack, and each starts the hires it needs. Materials
belong to the module, so a delivery in one test is still there in the next, as it would be in
a company: each test delivers only modules that no other test here expects to be missing
(product-knowledge, presentation-skills), so any order gives the same result. Crashes and
outages are in test_crashes.py, on a stack of their own (the two modules run side by side
under pytest-xdist).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.flows.conftest import (
    PROMPTLY,
    Live,
    blocking_markdown,
    requests_a_week_old,
    wait_for,
)

pytestmark = pytest.mark.slow

MARKETING_OWNER = "li.na@example.com"
TECH_OWNER = "wang.lei@example.com"
HR_OWNER = "liu.fang@example.com"


def test_a_run_without_marketing_materials_waits_on_marketing(live: Live):
    requests_a_week_old(live)  # so that this hire's owners are asked, not folded into others
    run_id = live.hire("张伟", "zhang.wei@example.com")
    flow_run = live.wait_state(run_id, "Suspended", min_pass=1)

    assert {"waiting:marketing", "waiting:hr"} <= set(flow_run["tags"])
    assert "市场部" in flow_run["name"] and "marketing" not in flow_run["name"]  # not codes
    markdown = blocking_markdown(live, flow_run["id"])
    assert "市场部 李娜" in markdown and "提交「客户沟通」的培训资料" in markdown
    assert "marketing" not in markdown and "customer-communication" not in markdown
    (due,), = live.sql("select due_at from handoffs where run_id = :r and module_code = "
                       "'customer-communication'", r=run_id)
    due_day = datetime.fromisoformat(str(due)).replace(tzinfo=UTC).astimezone(
        ZoneInfo("Asia/Shanghai")).date()
    row = next(line for line in markdown.splitlines() if "「客户沟通」" in line)
    assert row.startswith("| 市场部 李娜 | 提交「客户沟通」的培训资料 |")
    weekday = "一二三四五六日"[due_day.weekday()]  # due in two days, not overdue yet:
    assert row.endswith(f"{due_day.month}月{due_day.day}日（周{weekday}） | 0 |")

    # One email per owner for the pass, listing every module of their department.
    for owner in (MARKETING_OWNER, HR_OWNER):
        wait_for(lambda o=owner: [m for m in live.mail(o) if "张伟" in str(m["Subject"])], 30,
                 what="the owner's email")
    time.sleep(1)  # a second email to the same owner would have arrived by now
    (request,) = [m for m in live.mail(MARKETING_OWNER) if "张伟" in str(m["Subject"])]
    assert len([m for m in live.mail(HR_OWNER) if "张伟" in str(m["Subject"])]) == 1
    assert "客户沟通" in str(request["Subject"]) and request["Date"] and request["Message-ID"]
    body = request.get_body(("plain",)).get_content()
    assert "《客户沟通话术模板》" in body
    # Every marketing module of the position still missing (other tests hand some off).
    delivered = {m for (m,) in live.sql("select distinct module_code from deliveries")}
    for code in {"product-knowledge", "customer-communication", "proposal-writing"} - delivered:
        assert f"/handoff/{code}?t=" in body


def test_a_delivery_resumes_the_run_at_once_and_the_hire_is_emailed(live: Live):
    hire = "gao.min@example.com"
    run_id = live.hire("高敏", hire)
    live.wait_state(run_id, "Suspended", min_pass=1)
    (before,), = live.sql("select pass_no from runs where id = :r", r=run_id)

    live.jieli("deliver", "product-knowledge", "--by", MARKETING_OWNER)
    delivered = time.monotonic()

    def past_the_gate() -> bool:
        rows = live.sql("select count(*) from assignments where run_id = :r and module_code = "
                        "'product-knowledge'", r=run_id)
        return rows[0][0] == 1
    # The delivery itself resumes the run: the hourly sweep is an hour away. (How long it
    # takes, mostly starting the pass's process, is benchmarks/waiting_runs.py's resume
    # latency: a few seconds on an idle 2-core machine.)
    wait_for(past_the_gate, PROMPTLY, every=0.1, what="the assignment")
    elapsed = time.monotonic() - delivered
    live.wait_state(run_id, "Suspended", min_pass=before + 1)
    assignment = wait_for(lambda: live.mail(hire), 30, what="hire's email")
    assert len(assignment) == 1
    assert "产品知识" in assignment[0].get_body(("plain",)).get_content()
    assert "waiting:hire" in live.flow_run(run_id)["tags"]
    print(f"delivery to assignment: {elapsed:.2f}s")


def test_resuming_twice_sends_nothing_twice_and_writes_no_duplicate_row(live: Live):
    run_id = live.hire("孙越", "sun.yue@example.com")
    live.wait_state(run_id, "Suspended", min_pass=1)
    counts, keys, mail = live.counts(), live.outbox_keys(), len(live.mail())
    (before,), = live.sql("select pass_no from runs where id = :r", r=run_id)

    live.jieli("resume", str(run_id))
    live.jieli("resume", str(run_id))
    live.wait_state(run_id, "Suspended", min_pass=before + 1)
    live.jieli("resume", str(run_id))
    live.wait_state(run_id, "Suspended", min_pass=before + 2)

    after = live.counts()
    assert {k: v for k, v in after.items() if k != "audit_log"} == \
           {k: v for k, v in counts.items() if k != "audit_log"}
    assert live.outbox_keys() == keys
    assert len(live.mail()) == mail


def test_a_second_delivery_of_delivered_materials_resumes_nobody(live: Live):
    live.jieli("deliver", "presentation-skills", "--by", HR_OWNER)
    result = live.jieli("deliver", "presentation-skills", "--by", HR_OWNER)
    assert "已恢复的流程：—" in result.stdout


def test_a_hire_has_one_active_run(live: Live):
    email = "he.ping@example.com"
    run_id = live.hire("何平", email)
    result = live.jieli("--as", HR_OWNER, "hire", "--name", "何平", "--email", email,
                        "--position", "marketing-specialist", "--start", "2026-12-01",
                        check=False)
    assert result.returncode == 1
    assert f"already has an active onboarding run #{run_id}" in result.stderr
    assert live.sql("select count(*) from runs where hire_id = (select id from people where "
                    "email = :e)", e=email) == [(1,)]


def test_only_the_owner_may_hand_off(live: Live):
    before = live.sql("select count(*) from deliveries where module_code='python-basics'")
    result = live.jieli("deliver", "python-basics", "--by", MARKETING_OWNER, check=False)
    assert result.returncode == 2  # refused by the permission matrix, like anyone else
    assert "may not handoff module python-basics" in result.stderr
    assert live.sql("select count(*) from deliveries where module_code='python-basics'") \
        == before
    assert live.sql("select actor, via from audit_log where action = 'refused:handoff' "
                    "order by id desc limit 1") == [(MARKETING_OWNER, "cli")]


def test_waiting_runs_hold_no_process(live: Live):
    count = 6  # more than the runner runs at once (2 on 2 cores): passes queue in Prefect
    ids = [live.hire(f"等待{i}", f"wait{i}@example.com", position="python-developer")
           for i in range(count)]
    for run_id in ids:
        live.wait_state(run_id, "Suspended", min_pass=1, timeout=180)
    flow_runs = {live.flow_run(i)["id"] for i in ids}
    # A suspended run's process exits within a second or two of the suspension. (The sweep,
    # a scheduled deployment, may have a process of its own running at any time.)
    wait_for(lambda: not flow_runs & set(live.runner_passes()), 30,
             what="the flow processes to exit")
    time.sleep(3)
    assert not flow_runs & set(live.runner_passes())

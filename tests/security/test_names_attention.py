"""A pass that fails the same way three times stops being retried: the run is marked as
needing attention (audited), HR is emailed once, `jieli runs` shows it, and `jieli resume`
clears the mark and tries again. Real Prefect server, runner and SMTP server.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.flows import conftest as flows
from tests.flows.conftest import Live, wait_for

pytestmark = pytest.mark.slow

stack = flows.live  # the `live` fixture: a whole stack for this module
HR_OWNER = "liu.fang@example.com"


def jieli(stack: Live, *args: str) -> subprocess.CompletedProcess:
    return stack.jieli(*args, check=False, COLUMNS="400")


def attention(stack: Live, run_id: int) -> tuple:
    (row,) = stack.sql("select attention_at, failures from runs where id = :r", r=run_id)
    return row


def test_a_pass_failing_three_times_marks_the_run_and_tells_hr_once(stack: Live):
    with stack.failpoints("after-gates:raise"):
        hired = jieli(stack, "hire", "--name", "失败三次", "--email", "fails@example.com",
                      "--position", "python-developer", "--start", "2026-12-01")
        assert hired.returncode == 0, hired.stderr
        run_id = int(hired.stdout.split("#", 1)[1].split()[0])

        # Each failed pass is retried (by `jieli resume`, as by the sweep every minute) until the
        # third failure of the same kind.
        def marked() -> bool:
            if stack.flow_run(run_id)["state"]["type"] == "FAILED":
                assert jieli(stack, "resume").returncode == 0
            return attention(stack, run_id)[0] is not None
        wait_for(marked, 480, every=2, what="the run marked for attention")

        failures = stack.sql("select failures from runs where id = :r", r=run_id)[0][0]
        assert "failpoint after-gates" in failures and failures.count('"pass"') == 3
        (detail,), = stack.sql("select detail from audit_log where action = 'run-needs-attention' "
                               "and object_id = :r", r=str(run_id))
        assert "failpoint after-gates" in detail

        mail = wait_for(lambda: [m for m in stack.mail(HR_OWNER) if "失败三次" in str(m["Subject"])
                                 and "停止" in str(m["Subject"])], 60, what="HR's email")
        text = mail[0].get_body(("plain",)).get_content()
        assert f"jieli resume {run_id}" in text and "failpoint after-gates" in text

        # Retries have stopped: the run stays Failed however often the sweep looks.
        for _ in range(2):
            assert jieli(stack, "resume").returncode == 0
        time.sleep(3)
        assert stack.flow_run(run_id)["state"]["type"] == "FAILED"
        assert len([m for m in stack.mail(HR_OWNER) if "失败三次" in str(m["Subject"])
                    and "停止" in str(m["Subject"])]) == 1

        runs = jieli(stack, "runs")
        assert runs.returncode == 0, runs.stderr
        row = next(line for line in runs.stdout.splitlines() if "失败三次" in line)
        assert "failpoint after-gates" in row and f"jieli resume {run_id}" in row

    # HR fixes the cause (here: the failpoint goes) and resumes: the mark goes, a pass runs.
    resumed = jieli(stack, "resume", str(run_id))
    assert resumed.returncode == 0 and "已恢复" in resumed.stdout
    assert attention(stack, run_id) == (None, "[]")
    assert stack.sql("select count(*) from audit_log where action = 'run-attention-cleared' "
                     "and object_id = :r", r=str(run_id)) == [(1,)]
    stack.wait_state(run_id, "Suspended", min_pass=4, timeout=240)
